"""`sqlrec tune`: an Optuna search over the whole pipeline, scored on what the pipeline serves.

The search never sees the test part of `sqlrec evaluate`: the events are split by the same
temporal per-user holdout as the evaluation, and the *training part* is split once more the
same way; trials are scored on that inner held-out part, the validation split, and on one more
window before it (rolling origin: the validation split's training part split again), by the
mean of the two: one window alone let the search fit its noise. Each trial
builds the served list with the Python twin of the dbt models (`sqlrec.evaluation.twin`, tested
equal to them) and the very code of `sqlrec train`: the similarity list, the ALS and EASE lists,
their blend and the popular fill; the objective is the blend's NDCG@10.

Searched: the similarity model and its knobs, half_life_days, max_items_per_user,
min_common_users, similar_items_k; ALS factors, regularisation (per score), alpha, iterations;
EASE's λ (a multiple of its default rule); the blend's three weights, each of which may be 0.
The defaults are tried first, so the search can only improve on them. Parts are cached by the
knobs they depend on, so a trial that changes only the blend costs a fusion.

"Never below its parts": when a single part alone beats the best blend on validation, that part
is served alone and the report says which weights went to 0.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlrec.errors import UserError

if TYPE_CHECKING:
    import optuna
    import pandas as pd

    from sqlrec.evaluation.twin import Lists, Prepared
    from sqlrec.recommend.params import PipelineParams

DEFAULT_TRIALS = 60
DEFAULT_SEED = 42
STARTUP_TRIALS = 12  # random trials before TPE models the space
PARTS = ("item_similarity", "als", "ease")
LIST_KNOBS = {"recent_items_per_user": 20, "top_k": 20}  # what the service serves, not tuned
MODEL_K = 50  # the length of a model's list, as `sqlrec train` writes it


@dataclass
class TuneResult:
    params: PipelineParams
    ndcg: float
    map: float
    parts: dict[str, float]  # each part's validation NDCG@10 alone, with the best knobs
    study: optuna.Study
    dropped: list[str] = field(default_factory=list)  # parts whose weight the rule set to 0

    @property
    def completed_trials(self) -> int:
        import optuna

        return sum(trial.state == optuna.trial.TrialState.COMPLETE
                   for trial in self.study.trials)


def pipeline_params(values: dict[str, Any], seed: int = DEFAULT_SEED) -> PipelineParams:
    """The parameters file a trial's values stand for. The ALS and EASE regularisation stay
    relative to the data (per score, a multiple of EASE's rule), as they were searched: each
    matrix they train on, a fold's or a lake's, resolves them to its own size."""
    from sqlrec.recommend.params import AlsParams, EaseParams, PipelineParams

    dbt_vars = {name: values[name] for name in (
        "similarity", "half_life_days", "max_items_per_user", "min_common_users",
        "similar_items_k")}
    if values["similarity"] == "rp3beta":
        dbt_vars.update(rp3beta_alpha=values["alpha"], rp3beta_beta=values["beta"])
    elif values["similarity"] == "asymmetric_cosine":
        dbt_vars.update(asymmetric_cosine_alpha=values["alpha"])
    dbt_vars.update({f"blend_{'similarity' if part == 'item_similarity' else part}_weight":
                     values[f"weight_{part}"] for part in PARTS})
    return PipelineParams(
        dbt_vars=dbt_vars,
        als=AlsParams(factors=values["factors"],
                      regularization_per_score=values["regularization_per_score"],
                      alpha=values["als_alpha"], iterations=values["iterations"],
                      random_state=seed),
        ease=EaseParams(regularization_factor=values["ease_lambda_factor"]))


def lake_record(events: pd.DataFrame, path: str | None) -> dict[str, Any]:
    """What the parameters file records of the data a search ran on (`lake_mismatch`)."""
    return {"path": path, "events": len(events), "users": int(events["user_id"].nunique()),
            "items": int(events["item_id"].nunique())}


DEFAULT_VALUES = {
    "similarity": "rp3beta", "alpha": 0.5, "beta": 0.5, "half_life_days": 30,
    "max_items_per_user": 200, "min_common_users": 2, "similar_items_k": 100,
    "factors": 128, "regularization_per_score": 2e-4, "als_alpha": 1.0, "iterations": 15,
    "ease_lambda_factor": 1.0,
    "weight_item_similarity": 1.0, "weight_als": 1.0, "weight_ease": 1.0,
}


def suggest(trial: optuna.Trial) -> dict[str, Any]:
    """One point of the search space (the names of DEFAULT_VALUES)."""
    model = trial.suggest_categorical("similarity", ["cosine", "rp3beta", "asymmetric_cosine"])
    values = {"similarity": model, "alpha": 0.5, "beta": 0.5}
    if model == "rp3beta":
        values["alpha"] = trial.suggest_float("alpha", 0.2, 1.0)
        values["beta"] = trial.suggest_float("beta", 0.0, 0.8)
    elif model == "asymmetric_cosine":
        values["alpha"] = trial.suggest_float("alpha", 0.2, 0.9)
    values.update(
        half_life_days=trial.suggest_categorical("half_life_days", [0, 7, 14, 30, 60, 120, 365]),
        max_items_per_user=trial.suggest_categorical("max_items_per_user", [50, 100, 200, 0]),
        min_common_users=trial.suggest_int("min_common_users", 1, 3),
        similar_items_k=trial.suggest_categorical("similar_items_k", [20, 50, 100]),
        factors=trial.suggest_categorical("factors", [32, 64, 128]),
        regularization_per_score=trial.suggest_float("regularization_per_score", 2e-5, 2e-3,
                                                     log=True),
        als_alpha=trial.suggest_float("als_alpha", 0.3, 10.0, log=True),
        iterations=trial.suggest_categorical("iterations", [10, 15, 20]),
        ease_lambda_factor=trial.suggest_categorical("ease_lambda_factor",
                                                     [0.25, 0.5, 1.0, 2.0, 4.0]),
    )
    for part in PARTS:
        values[f"weight_{part}"] = trial.suggest_categorical(f"weight_{part}", [0.0, 0.5, 1.0, 2.0])
    return values


class Scorer:
    """Builds and scores the served list of any parameter set on one validation split, with
    every part cached by the knobs it depends on."""

    def __init__(self, prepared: Prepared, test: pd.DataFrame, *, device: str = "cpu"):
        import numpy as np

        self.prepared, self.test, self.device = prepared, test, device
        self.users = np.flatnonzero(np.isin(prepared.user_ids, test["user_id"].unique()))
        self._cache: dict[tuple, Lists] = {}

    def _cached(self, key: tuple, build) -> Lists:
        if key not in self._cache:
            self._cache[key] = build()
        return self._cache[key]

    def parts(self, params: PipelineParams) -> dict[str, Lists]:
        from sqlrec.evaluation import twin
        from sqlrec.recommend import als, ease

        knobs = {**self.prepared.list_knobs(params.dbt_vars), **LIST_KNOBS}
        half_life = knobs["half_life_days"]
        data = self.prepared.scores(half_life)
        unavailable = self.prepared.unavailable
        similarity_key = tuple(sorted(knobs.items()))
        parts = {"item_similarity": self._cached(
            ("item_similarity", similarity_key),
            lambda: twin.similarity_lists(self.prepared, self.users, knobs))}
        als_params = params.als.resolved(data.nnz)
        parts["als"] = self._cached(
            ("als", half_life, tuple(sorted(als_params.model_params().items()))),
            lambda: twin.model_lists(self.prepared, self.users, als.recommend_batches(
                als.fit(data.matrix, als_params, device=self.device), data.matrix, MODEL_K,
                unavailable=unavailable)))
        parts["ease"] = self._cached(
            ("ease", tuple(sorted(params.ease.model_params().items()))),
            lambda: twin.model_lists(self.prepared, self.users, ease.recommend_batches(
                ease.fit(data.matrix, params.ease), data.matrix, MODEL_K,
                unavailable=unavailable)))
        return parts

    def score(self, params: PipelineParams, weights: dict[str, float] | None = None
              ) -> dict[str, float]:
        """The metrics of the served list (the blend with the given weights, default the
        parameters'), on the validation split."""
        from sqlrec.evaluation import twin
        from sqlrec.evaluation.metrics import ranking_metrics

        weights = weights if weights is not None else blend_weights(params)
        knobs = self.prepared.list_knobs(params.dbt_vars)
        served = twin.blend(self.prepared, self.parts(params), weights, LIST_KNOBS["top_k"],
                            knobs["half_life_days"])
        return ranking_metrics(served.frame(self.prepared), self.test,
                               len(self.prepared.item_ids))


def blend_weights(params: PipelineParams) -> dict[str, float]:
    names = {"item_similarity": "blend_similarity_weight", "als": "blend_als_weight",
             "ease": "blend_ease_weight"}
    return {part: float(params.dbt_vars.get(name, 1.0)) for part, name in names.items()}


def validation_split(events: pd.DataFrame):
    """The split trials are scored on: the evaluation's training part, held out once more."""
    from sqlrec.evaluation.split import temporal_split

    return temporal_split(temporal_split(events).train)


def validation_splits(events: pd.DataFrame, folds: int = 2) -> list:
    """Rolling-origin folds, latest first: `validation_split`, then its training part held out
    once more, and so on. Scoring a trial on more than one window is what keeps a search of
    many knobs from fitting the noise of one (a single window let 60 trials pick settings
    that lost on the test part)."""
    from sqlrec.evaluation.split import temporal_split

    splits = [validation_split(events)]
    while len(splits) < folds:
        earlier = temporal_split(splits[-1].train)
        if earlier.test.empty:
            break
        splits.append(earlier)
    return splits


class FoldScorer:
    """Scores a parameter set on each validation fold; its metrics are their means."""

    def __init__(self, scorers: list[Scorer]):
        self.scorers = scorers
        self.prepared = scorers[0].prepared

    def params(self, values: dict[str, Any], seed: int = DEFAULT_SEED) -> PipelineParams:
        """The parameters file a trial's values stand for (the same for tune and Katib)."""
        return pipeline_params(values, seed)

    def score(self, params: PipelineParams, weights: dict[str, float] | None = None
              ) -> dict[str, float]:
        import numpy as np

        each = [scorer.score(params, weights) for scorer in self.scorers]
        return {name: float(np.mean([metrics[name] for metrics in each])) for name in each[0]}


def validation_scorer(events: pd.DataFrame, *, unavailable: set[str] | None = None,
                      device: str = "cpu", folds: int = 2) -> FoldScorer:
    """The scorer of the validation folds (`validation_splits`)."""
    from sqlrec.evaluation.twin import Prepared

    splits = [split for split in validation_splits(events, folds) if not split.test.empty]
    if not splits:
        raise UserError("too little data to carve a validation split (users need at least two "
                        "items seen by others)")
    return FoldScorer([Scorer(Prepared(split.train, split.split_at, unavailable or set()),
                              split.test, device=device) for split in splits])


def tune(events: pd.DataFrame, *, trials: int = DEFAULT_TRIALS, seed: int = DEFAULT_SEED,
         device: str = "cpu", timeout: float | None = None, show_progress: bool = False,
         unavailable: set[str] | None = None, echo=None) -> TuneResult:
    """Search the pipeline's parameters on events (user_id, item_id, event_type, event_at);
    return the best by validation NDCG@10 of the served list. ``echo`` hears each new best."""
    import optuna

    from sqlrec.recommend import als

    if trials < 1:
        raise UserError(f"--trials must be at least 1, got {trials}")
    scorer = validation_scorer(events, unavailable=unavailable, device=als.resolve_device(device))

    def objective(trial: optuna.Trial) -> float:
        values = suggest(trial)
        metrics = scorer.score(scorer.params(values, seed))
        trial.set_user_attr("map@10", metrics["map@10"])
        return metrics["ndcg@10"]

    def report_best(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        if echo is not None and study.best_trial.number == trial.number:
            echo(f"sqlrec tune: trial {trial.number + 1}: best so far, validation NDCG@10 "
                 f"{trial.value:.4f} ({time.perf_counter() - started:.0f} s)")

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=STARTUP_TRIALS)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.enqueue_trial(DEFAULT_VALUES)
    started = time.perf_counter()
    study.optimize(objective, n_trials=trials, timeout=timeout, callbacks=[report_best],
                   show_progress_bar=show_progress)
    best_values = {**DEFAULT_VALUES, **study.best_trial.params}
    params = scorer.params(best_values, seed)
    return never_below_its_parts(scorer, params, study)


def never_below_its_parts(scorer: FoldScorer, params: PipelineParams,
                          study: optuna.Study) -> TuneResult:
    """The best blend, unless one of its parts alone scores better on validation: then that
    part alone (the others' weights 0)."""
    blended = scorer.score(params)
    alone = {part: scorer.score(params, {name: float(name == part) for name in PARTS})
             for part in PARTS}
    best_part = max(alone, key=lambda part: alone[part]["ndcg@10"])
    dropped = [part for part, weight in blend_weights(params).items() if weight == 0]
    if alone[best_part]["ndcg@10"] > blended["ndcg@10"]:
        weights = {part: float(part == best_part) for part in PARTS}
        params = dataclasses.replace(params, dbt_vars={
            **params.dbt_vars, "blend_similarity_weight": weights["item_similarity"],
            "blend_als_weight": weights["als"], "blend_ease_weight": weights["ease"]})
        dropped = [part for part in PARTS if part != best_part]
        blended = alone[best_part]
    return TuneResult(params, blended["ndcg@10"], blended["map@10"],
                      {part: metrics["ndcg@10"] for part, metrics in alone.items()}, study,
                      dropped)


def tuned_params(result: TuneResult, *, dataset: str, seed: int, seconds: float,
                 lake: dict[str, Any] | None = None) -> PipelineParams:
    """The result as the parameters file, with what the search found and on what (``lake``:
    `lake_record`)."""
    return dataclasses.replace(result.params, lake=lake, tuned={
        "dataset": dataset,
        "validation_ndcg@10": round(result.ndcg, 6),
        "validation_map@10": round(result.map, 6),
        "validation_ndcg@10_of_each_part_alone": {part: round(value, 6)
                                                  for part, value in result.parts.items()},
        "parts_with_weight_0": result.dropped,
        "trials": result.completed_trials,
        "seed": seed,
        "seconds": round(seconds, 1),
        "tuned_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    })
