"""`sqlrec tune`: Optuna search for the ALS parameters (the project's answer to Katib).

The search never sees the test part of `sqlrec evaluate`: the events are split by the same
temporal per-user holdout as the evaluation, and the *training part* is split once more the
same way. Each trial computes w(u,i) on that inner training part (with the trial's half-life),
fits ALS and scores NDCG@10 (MAP@10 reported) on the inner held-out part, the validation split.

Search space: factors 8–256 (log), regularisation 1e-3–100 (log), alpha 0.1–100 (log),
iterations 5–50, half_life_days 7–3650 (log; the longest is close to no decay on a year of data).
The command saves the best parameters to the file `sqlrec train` reads (``data/als_params.json``
or $SQLREC_ALS_PARAMS), with the validation scores and the search's settings beside them.
"""

from __future__ import annotations

import datetime as dt
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlrec.errors import UserError

if TYPE_CHECKING:
    import optuna
    import pandas as pd

    from sqlrec.recommend.params import AlsParams

DEFAULT_TRIALS = 100
DEFAULT_SEED = 42
STARTUP_TRIALS = 20  # random trials before TPE models the space
# Tried first: the untuned model (so the search can only improve on it) and the high-capacity,
# strongly regularised corner that the iALS literature recommends (Rendle et al., "Revisiting
# the performance of iALS", 2021) and that a low-factor optimum can otherwise hide from TPE.
STARTING_POINTS = (
    {"factors": 100, "regularization": 0.01, "alpha": 1.0, "iterations": 15,
     "half_life_days": 30.0},
    {"factors": 128, "regularization": 10.0, "alpha": 1.0, "iterations": 15,
     "half_life_days": 30.0},
)


@dataclass
class TuneResult:
    params: AlsParams
    ndcg: float
    map: float
    study: optuna.Study


def movielens_tuned_params() -> AlsParams:
    """What `sqlrec tune --movielens` (100 trials, seed 42) found, validation NDCG@10 0.1529:
    the reference for the README's figures and the quality test."""
    from sqlrec.recommend.params import AlsParams

    return AlsParams(factors=209, regularization=8.831635311770347, alpha=0.4863442752279478,
                     iterations=30, random_state=42, half_life_days=52.09799094024015)


def suggest_params(trial: optuna.Trial, random_state: int) -> AlsParams:
    from sqlrec.recommend.params import AlsParams

    return AlsParams(
        factors=trial.suggest_int("factors", 8, 256, log=True),
        regularization=trial.suggest_float("regularization", 1e-3, 100.0, log=True),
        alpha=trial.suggest_float("alpha", 0.1, 100.0, log=True),
        iterations=trial.suggest_int("iterations", 5, 50),
        half_life_days=trial.suggest_float("half_life_days", 7.0, 3650.0, log=True),
        random_state=random_state,
    )


def validation_split(events: pd.DataFrame):
    """The split trials are scored on: the evaluation's training part, held out once more."""
    from sqlrec.evaluation.split import temporal_split

    return temporal_split(temporal_split(events).train)


def tune(events: pd.DataFrame, *, trials: int = DEFAULT_TRIALS, seed: int = DEFAULT_SEED,
         device: str = "cpu", timeout: float | None = None, show_progress: bool = False,
         ) -> TuneResult:
    """Search ALS parameters on events (user_id, item_id, event_type, event_at); return the
    best by validation NDCG@10."""
    import optuna

    from sqlrec.data.seeds import event_weights
    from sqlrec.evaluation.baselines import als_lists
    from sqlrec.evaluation.metrics import ranking_metrics
    from sqlrec.recommend import als
    from sqlrec.recommend.matrix import score_matrix

    if trials < 1:
        raise UserError(f"--trials must be at least 1, got {trials}")
    device = als.resolve_device(device)
    split = validation_split(events)
    if split.test.empty:
        raise UserError("too little data to carve a validation split (users need at least two "
                        "items seen by others)")
    weights = event_weights()

    def objective(trial: optuna.Trial) -> float:
        params = suggest_params(trial, seed)
        data = score_matrix(split.train, half_life_days=params.half_life_days,
                            as_of=split.split_at, weights=weights)
        lists = als_lists(data, params, k=10, device=device)
        metrics = ranking_metrics(lists, split.test, data.matrix.shape[1])
        trial.set_user_attr("map@10", metrics["map@10"])
        return metrics["ndcg@10"]

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with warnings.catch_warnings():
        # multivariate TPE (parameters interact: alpha and regularisation) is "experimental"
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        sampler = optuna.samplers.TPESampler(seed=seed, multivariate=True,
                                             n_startup_trials=STARTUP_TRIALS)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    for start in STARTING_POINTS:
        study.enqueue_trial(start)
    study.optimize(objective, n_trials=trials, timeout=timeout, show_progress_bar=show_progress)
    best = study.best_trial
    params = suggest_params(optuna.trial.FixedTrial(best.params), seed)
    return TuneResult(params, best.value, best.user_attrs["map@10"], study)



def save_result(result: TuneResult, path: Path | None, *, dataset: str, seed: int,
                seconds: float) -> Path:
    """Save the best parameters where `sqlrec train` reads them (default: $SQLREC_ALS_PARAMS or
    data/als_params.json), with what the search found and on what."""
    from sqlrec.recommend.params import save_params

    details: dict[str, Any] = {
        "tuned": {
            "dataset": dataset,
            "validation_ndcg@10": round(result.ndcg, 6),
            "validation_map@10": round(result.map, 6),
            "trials": len(result.study.trials),
            "seed": seed,
            "seconds": round(seconds, 1),
            "tuned_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }
    }
    return save_params(result.params, path, **details)
