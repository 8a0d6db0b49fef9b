"""The learned second stage: LightGBM's ``lambdarank`` orders each user's candidates (the union of
what the parts propose) by features of each (user, candidate) pair, having learned from a
validation window which candidates users went on to take.

LightGBM rather than XGBoost's ``rank:ndcg``: both learn the same LambdaMART; LightGBM takes a
missing value as a value of its own at every split (a part that does not list a candidate leaves
its score and rank missing, which says something), judges the ranking on the first
``truncation`` places only (``lambdarank_truncation_level``: a served list is 20 long), and is a
10 MB CPU wheel that needs only numpy, scipy and narwhals (a small dataframe shim).

Where the candidates and features come from and what the ranker is trained on:
docs/training.md, "A learned second stage: the study" (`bench/study_ranker.py`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlrec.errors import UserError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd


@dataclass(frozen=True)
class RankerParams:
    """The boosting's settings: small trees and few of them, since a validation window gives a
    few thousand users to learn from (the study's settings)."""

    trees: int = 100
    leaves: int = 15
    learning_rate: float = 0.05
    min_rows_per_leaf: int = 100
    truncation: int = 20  # the places of a list the ranking is judged on
    seed: int = 7

    def lightgbm_params(self, num_threads: int) -> dict:
        return {"objective": "lambdarank", "learning_rate": self.learning_rate,
                "num_leaves": self.leaves, "min_data_in_leaf": self.min_rows_per_leaf,
                "bagging_fraction": 0.8, "bagging_freq": 1, "feature_fraction": 0.8,
                "lambdarank_truncation_level": self.truncation, "seed": self.seed,
                "deterministic": True, "num_threads": num_threads, "verbose": -1}


@dataclass
class Ranker:
    """A fitted ranker and the feature columns it reads, in order."""

    booster: object  # lightgbm.Booster
    features: tuple[str, ...]

    def scores(self, frame: pd.DataFrame) -> np.ndarray:
        """The ranker's score of each row of ``frame`` (higher first)."""
        missing = [name for name in self.features if name not in frame.columns]
        if missing:
            raise UserError(f"the candidates lack the ranker's features {', '.join(missing)}")
        return self.booster.predict(frame[list(self.features)])

    def to_text(self) -> str:
        """The model as LightGBM's text format (what `from_text` reads back)."""
        return self.booster.model_to_string()

    @classmethod
    def from_text(cls, text: str) -> Ranker:
        import lightgbm

        booster = lightgbm.Booster(model_str=text)
        return cls(booster, tuple(booster.feature_name()))


def fit(frame: pd.DataFrame, features: Sequence[str], *, group: str = "user_id",
        label: str = "label", params: RankerParams = RankerParams(),
        num_threads: int = 0) -> Ranker:
    """Learn to rank: ``frame`` holds one row per (user, candidate) with the ``features`` and a
    boolean ``label`` (the user took the candidate in the validation window); ``group`` names the
    user column. Users without a taken candidate teach nothing and are left out."""
    import lightgbm

    missing = [name for name in (*features, group, label) if name not in frame.columns]
    if missing:
        raise UserError(f"the candidates lack the columns {', '.join(missing)}")
    useful = frame[label].astype(bool).groupby(frame[group]).transform("any")
    if not useful.any():
        raise UserError("no user took any of its candidates in the validation window: the "
                        "ranker has nothing to learn from")
    rows = frame[useful].sort_values(group, kind="stable")  # a user's rows together
    groups = rows.groupby(group, sort=False).size().to_numpy()
    data = lightgbm.Dataset(rows[list(features)], rows[label].astype(int).to_numpy(),
                            group=groups, feature_name=list(features), free_raw_data=True)
    booster = lightgbm.train(params.lightgbm_params(num_threads), data,
                             num_boost_round=params.trees)
    return Ranker(booster, tuple(features))


def ranked_lists(frame: pd.DataFrame, scores: np.ndarray, k: int, *, group: str = "user_id",
                 item: str = "item_id") -> pd.DataFrame:
    """Each user's k best candidates by score (ties by item), with their score and rank from 1:
    (group, item, score, rank), ordered by user and rank."""
    ordered = frame[[group, item]].assign(score=scores).sort_values(
        [group, "score", item], ascending=[True, False, True], kind="stable")
    ordered["rank"] = ordered.groupby(group, sort=False).cumcount() + 1
    return ordered[ordered["rank"] <= k].reset_index(drop=True)
