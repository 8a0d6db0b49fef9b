"""The dbt project's seeds, read by the Python steps that must agree with the models."""

from __future__ import annotations

from sqlrec import project

EVENT_WEIGHTS_SEED = "event_weights.csv"


def event_weights() -> dict[str, float]:
    """weight(type) from the project's seed, the table dbt weights events with."""
    import pandas as pd

    seed = pd.read_csv(project.project_dir() / "seeds" / EVENT_WEIGHTS_SEED)
    return dict(zip(seed["event_type"].str.lower(), seed["weight"].astype(float), strict=True))
