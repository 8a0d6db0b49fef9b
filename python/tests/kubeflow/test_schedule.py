"""`sqlrec pipeline schedule`: the recurring run it asks a KFP host for, seen by a fake client."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from sqlrec import cli


class FakeClient:
    """Records what kfp.Client would send to the KFP API."""

    instances: list = []

    def __init__(self, host=None, namespace=None, **_):
        self.host, self.namespace, self.calls = host, namespace, []
        FakeClient.instances.append(self)

    def create_experiment(self, name, description=None, namespace=None):
        self.calls.append(("create_experiment", {"name": name}))
        return SimpleNamespace(experiment_id="exp-1")

    def create_recurring_run(self, **request):
        self.calls.append(("create_recurring_run", request))
        return SimpleNamespace(recurring_run_id="rr-1")


def fires(cron: str, start: dt.datetime, minutes: int) -> list[dt.datetime]:
    """When a six-field cron of the form KFP takes ('s m h dom mon dow', only '*', numbers and
    '*/n' in the first two fields) fires within `minutes` after `start`: read independently."""
    seconds, minute, *rest = cron.split()
    assert rest == ["*", "*", "*", "*"]

    def matches(field: str, value: int) -> bool:
        if field == "*":
            return True
        if field.startswith("*/"):
            return value % int(field[2:]) == 0
        return value == int(field)

    found, moment = [], start
    while moment < start + dt.timedelta(minutes=minutes):
        if matches(seconds, moment.second) and matches(minute, moment.minute):
            found.append(moment)
        moment += dt.timedelta(seconds=1)
    return found


def test_schedule_asks_for_a_run_every_10_minutes_never_two_at_once(tmp_path, monkeypatch,
                                                                   capsys):
    FakeClient.instances.clear()
    monkeypatch.setattr("kfp.Client", FakeClient)
    package = tmp_path / "sqlrec-refresh.yaml"
    assert cli.main(["pipeline", "compile", "--out", str(package)]) == 0
    assert cli.main(["pipeline", "schedule", "--host", "https://kfp.example.com/pipeline",
                     "--namespace", "team-ml", "--package", str(package),
                     "--param", "lake=/data/lake", "--param", "max_ndcg_drop=0.1"]) == 0
    [client] = FakeClient.instances
    assert (client.host, client.namespace) == ("https://kfp.example.com/pipeline", "team-ml")
    (first, experiment), (second, request) = client.calls
    assert (first, second) == ("create_experiment", "create_recurring_run")
    assert experiment == {"name": "sqlrec-refresh"}
    assert request["experiment_id"] == "exp-1"
    assert request["pipeline_package_path"] == str(package)
    assert request["params"] == {"lake": "/data/lake", "max_ndcg_drop": "0.1"}
    assert request["max_concurrency"] == 1
    assert request["no_catchup"] is True
    assert request["enable_caching"] is False
    start = dt.datetime(2026, 10, 31, 12, 3, 17)
    assert fires(request["cron_expression"], start, 60) == [
        dt.datetime(2026, 10, 31, 12, minute) for minute in (10, 20, 30, 40, 50)] + [
        dt.datetime(2026, 10, 31, 13, 0)]
    assert "recurring run rr-1 created" in capsys.readouterr().out


def test_a_parameter_without_a_value_is_refused(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("kfp.Client", FakeClient)
    assert cli.main(["pipeline", "schedule", "--host", "http://x", "--package",
                     str(tmp_path / "p.yaml"), "--param", "lake"]) == 2
    assert "--param takes NAME=VALUE" in capsys.readouterr().err


@pytest.mark.parametrize("cron", ["0 */10 * * * *"])
def test_the_documented_kfp_cli_line_uses_the_same_schedule(cron):
    from pathlib import Path

    page = (Path(__file__).resolve().parents[3] / "docs" / "kubeflow.md").read_text()
    assert f'--cron-expression "{cron}"' in page
    assert "--max-concurrency 1" in page
