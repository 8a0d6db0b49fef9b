"""MovieLens-100k as sqlrec events, so that anyone can reproduce the evaluation figures.

The ratings come from the ``recbole`` wheel, which ships them as
``recbole/dataset_example/ml-100k/ml-100k.inter`` (tab-separated ``user_id:token``,
``item_id:token``, ``rating:float``, ``timestamp:float``). The file is located with
`importlib.util.find_spec` and read as plain text: recbole itself is never imported (nor needed
at run time, so ``pip install --no-deps recbole`` is enough).

Every rating of 4 or more becomes one ``view`` event (weight 1) at the rating's timestamp: a
positive, unweighted implicit signal, the usual way MovieLens serves implicit-feedback
benchmarks. Ratings below 4 are left out.

``sqlrec movielens --out DIR`` writes these events as a lake in the input contract's layout
(`sqlrec.data.lake.write_lake`; no catalogue: every movie counts as available), ready for
`sqlrec build --lake DIR`.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING

from sqlrec.errors import UserError

if TYPE_CHECKING:
    import pandas as pd

MIN_RATING = 4
EVENT_TYPE = "view"
INSTALL_HINT = "pip install --no-deps recbole"


def ratings_path() -> Path | None:
    """The ml-100k.inter file of an installed recbole wheel, or None when there is none."""
    spec = importlib.util.find_spec("recbole")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        path = Path(location) / "dataset_example" / "ml-100k" / "ml-100k.inter"
        if path.is_file():
            return path
    return None


def require_ratings_path() -> Path:
    path = ratings_path()
    if path is None:
        raise UserError(f"MovieLens-100k not found: it comes with the recbole wheel; install it "
                        f"with `{INSTALL_HINT}`")
    return path


def load_ratings(path: Path | None = None) -> pd.DataFrame:
    """All 100,000 ratings: user_id, item_id (strings), rating, rated_at (UTC, naive)."""
    import pandas as pd

    path = Path(path) if path else require_ratings_path()
    ratings = pd.read_csv(path, sep="\t", dtype={"user_id:token": str, "item_id:token": str})
    ratings.columns = [column.split(":")[0] for column in ratings.columns]
    return pd.DataFrame({
        "user_id": ratings["user_id"],
        "item_id": ratings["item_id"],
        "rating": ratings["rating"].astype(float),
        "rated_at": pd.to_datetime(ratings["timestamp"].astype("int64"), unit="s"),
    })


def load_events(path: Path | None = None, min_rating: float = MIN_RATING) -> pd.DataFrame:
    """Ratings >= min_rating as events: event_id, user_id, item_id, event_type, event_at."""
    import pandas as pd

    ratings = load_ratings(path)
    liked = ratings[ratings["rating"] >= min_rating].reset_index(drop=True)
    return pd.DataFrame({
        "event_id": "ml-" + liked["user_id"] + "-" + liked["item_id"],
        "user_id": liked["user_id"],
        "item_id": liked["item_id"],
        "event_type": EVENT_TYPE,
        "event_at": liked["rated_at"],
    })

