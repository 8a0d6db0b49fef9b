"""The temporal per-user holdout every recommender is scored on.

- An *interaction* is a user–item pair, dated by its first event.
- Each user's interactions are ordered by that date (ties by item id); the last 20%
  (``floor(0.2 n)``, at least one when the user has two or more) are the user's test items.
- The training part keeps every event of the user up to the date of the user's first test
  interaction, except events of the test items themselves.
- Test items that no user has in the training part are dropped, and users left without test
  items are not scored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlrec.errors import UserError

if TYPE_CHECKING:
    import pandas as pd

TEST_FRACTION = 0.2


@dataclass(frozen=True)
class Split:
    """A temporal per-user holdout: training events, held-out (user_id, item_id) pairs and the
    latest training event (the as_of of everything built on the training part)."""

    train: pd.DataFrame
    test: pd.DataFrame
    split_at: Any


def temporal_split(events: pd.DataFrame, test_fraction: float = TEST_FRACTION) -> Split:
    """Each user's last ``test_fraction`` of interactions (by first event) held out; see the
    module docstring for the exact rule."""
    import numpy as np

    if events.empty:
        raise UserError("no events to split")
    pairs = (events.groupby(["user_id", "item_id"], as_index=False, sort=False)["event_at"].min()
             .rename(columns={"event_at": "first_at"})
             .sort_values(["user_id", "first_at", "item_id"], kind="stable"))
    per_user = pairs.groupby("user_id", sort=False)
    count = per_user["item_id"].transform("size").to_numpy()
    position = per_user.cumcount().to_numpy()
    held_out = np.floor(count * test_fraction + 1e-9).astype(int)
    held_out = np.where((held_out == 0) & (count >= 2), 1, held_out)
    pairs["is_test"] = position >= count - held_out

    test_pairs = pairs[pairs["is_test"]]
    cutoff = test_pairs.groupby("user_id")["first_at"].min().rename("cutoff_at")
    train = events.merge(pairs[["user_id", "item_id", "is_test"]], on=["user_id", "item_id"])
    train = train.merge(cutoff, left_on="user_id", right_index=True, how="left")
    before_cutoff = train["cutoff_at"].isna() | (train["event_at"] <= train["cutoff_at"])
    keep = ~train["is_test"] & before_cutoff
    train = train.loc[keep, list(events.columns)].reset_index(drop=True)

    seen_items = set(train["item_id"].unique())
    test = test_pairs.loc[test_pairs["item_id"].isin(seen_items), ["user_id", "item_id"]]
    return Split(train, test.reset_index(drop=True), train["event_at"].max())
