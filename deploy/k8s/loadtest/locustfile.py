"""Load test for `sqlrec serve`, deployed or local (locust is in the dev extra).

    locust -f deploy/k8s/loadtest/locustfile.py --host http://127.0.0.1:8000 --users 32 --spawn-rate 8

Ids to ask about, one per line, from files named by SQLREC_LOCUST_ITEMS and
SQLREC_LOCUST_USERS (for example the output of
`select distinct user_id from user_recommendations`). Without an items file, the test finds
items through the service itself: the popular list, then their similar items. Without a users
file it asks for users named u_1 .. u_50000 (the generator's ids; unknown ones exercise the
cold-user path). Stats group requests per route, not per id.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from urllib.parse import quote

from locust import FastHttpUser, between, events, task

ITEMS: list[str] = []
USERS: list[str] = []


def _ids_from(variable: str) -> list[str]:
    path = os.environ.get(variable)
    if not path:
        return []
    return [line.strip() for line in Path(path).read_text().splitlines() if line.strip()]


@events.test_start.add_listener
def _load_ids(environment, **_kwargs) -> None:
    ITEMS[:] = _ids_from("SQLREC_LOCUST_ITEMS")
    USERS[:] = _ids_from("SQLREC_LOCUST_USERS") or [f"u_{n}" for n in range(1, 50_001)]


def _user() -> str:
    return quote(random.choice(USERS), safe="")


class ServiceUser(FastHttpUser):
    wait_time = between(0, 0.01)

    def on_start(self) -> None:
        if not ITEMS:
            self._discover_items()

    def _discover_items(self) -> None:
        """Popular items (what a cold user gets), then the items similar to some of them."""
        response = self.client.get("/users/locust-cold-user/recommendations?k=100",
                                   name="/users/[id]/recommendations (discovery)")
        found = [item["item_id"] for item in response.json()["items"]]
        for item_id in found[:20]:
            similar = self.client.get(f"/items/{item_id}/similar?k=100",
                                      name="/items/[id]/similar (discovery)")
            found += [item["item_id"] for item in similar.json()["items"]]
        ITEMS[:] = sorted(set(found)) or ["i_1"]

    @task(4)
    def similar_items(self) -> None:
        with self.client.get(f"/items/{quote(random.choice(ITEMS), safe='')}/similar?k=10",
                             name="/items/[id]/similar", catch_response=True) as response:
            if response.status_code == 404:  # an id file from an older build: not a failure
                response.success()

    @task(4)
    def recommendations(self) -> None:
        self.client.get(f"/users/{_user()}/recommendations?k=10",
                        name="/users/[id]/recommendations")

    @task(1)
    def recommendations_for_a_session(self) -> None:
        viewed = quote(",".join(random.sample(ITEMS, min(3, len(ITEMS)))))
        self.client.get(f"/users/{_user()}/recommendations?k=10&recent_items={viewed}",
                        name="/users/[id]/recommendations?recent_items")

    @task(1)
    def filtered_recommendations(self) -> None:
        viewed = quote(random.choice(ITEMS))
        self.client.get(f"/users/{_user()}/recommendations?k=10&exclude={viewed}",
                        name="/users/[id]/recommendations?exclude")
