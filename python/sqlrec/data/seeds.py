"""The dbt project's seeds, read by the Python steps that must agree with the models."""

from __future__ import annotations

from sqlrec import project

EVENT_WEIGHTS_SEED = "event_weights.csv"


def event_weights() -> dict[str, float]:
    """weight(type) from the seed dbt weights events with: the project's own (a team's project
    may replace sqlrec's seed with its own of that name), else sqlrec's."""
    import pandas as pd

    own = project.project_dir() / "seeds" / EVENT_WEIGHTS_SEED
    sqlrecs = project.package_dir() / "seeds" / EVENT_WEIGHTS_SEED
    seed = pd.read_csv(own if own.is_file() else sqlrecs)
    return dict(zip(seed["event_type"].str.lower(), seed["weight"].astype(float), strict=True))
