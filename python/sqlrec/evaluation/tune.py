"""`sqlrec tune`: an Optuna search over the whole pipeline, scored on what the pipeline serves.

The search never sees the test part of `sqlrec evaluate`: the events are split by the same
temporal per-user holdout as the evaluation, and the *training part* is split once more the
same way; trials are scored on that inner held-out part, the validation split, and on one more
window before it (rolling origin: the validation split's training part split again), by the
mean of the two: one window alone let the search fit its noise. Each trial
builds the served list with the Python twin of the dbt models (`sqlrec.evaluation.twin`, tested
equal to them) and the very code of `sqlrec train`: the similarity list, the ALS and EASE lists,
their blend and the popular fill; the objective is the blend's NDCG@10.

Searched (`sqlrec.evaluation.space`, which Katib's Experiment shares): the similarity model
and its knobs, half_life_days, max_items_per_user, min_common_users, similar_items_k; ALS
factors, regularisation (per score), alpha, iterations; EASE's λ (a multiple of its default
rule); the blend's three weights, each of which may be 0. The defaults (dbt_project.yml's, the
parameters dataclasses') are tried first, so the search can only improve on them. Parts are
cached by the knobs they depend on, so a trial that changes only the blend costs a fusion.

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
from sqlrec.evaluation.twin import PART_WEIGHTS

if TYPE_CHECKING:
    import optuna
    import pandas as pd

    from sqlrec.evaluation.twin import Lists, Prepared
    from sqlrec.recommend.params import PipelineParams

DEFAULT_TRIALS = 60
DEFAULT_SEED = 42
STARTUP_TRIALS = 12  # random trials before TPE models the space
PARTS = tuple(PART_WEIGHTS)


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
    """The parameters file a trial's values stand for (`space.pipeline_params`)."""
    from sqlrec.evaluation import space

    return space.pipeline_params(values, seed)


def lake_record(events: pd.DataFrame, path: str | None) -> dict[str, Any]:
    """What the parameters file records of the data a search ran on (`lake_mismatch`)."""
    return {"path": path, "events": len(events), "users": int(events["user_id"].nunique()),
            "items": int(events["item_id"].nunique())}


def default_values() -> dict[str, Any]:
    """The search's first trial: every dimension at the pipeline's default (dbt_project.yml,
    the ALS and EASE parameters' dataclasses)."""
    from sqlrec.evaluation import space

    return space.defaults()


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
        from sqlrec.recommend.train import DEFAULT_K as MODEL_K  # a model list's length

        knobs = self.prepared.list_knobs(params.dbt_vars)
        half_life = knobs["half_life_days"]
        data = self.prepared.model_scores(half_life)  # the models' matrix
        unavailable = self.prepared.unavailable
        # the blend's weights change the blend, not the similarity list
        similarity_key = tuple(sorted((name, value) for name, value in knobs.items()
                                      if name not in twin.PART_WEIGHTS.values()))
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

        knobs = self.prepared.list_knobs(params.dbt_vars)
        served = twin.blend(self.prepared, self.parts(params), knobs, weights)
        return ranking_metrics(served.frame(self.prepared), self.test,
                               len(self.prepared.item_ids))


def blend_weights(params: PipelineParams) -> dict[str, float]:
    """The blend's weight of each part (dbt_project.yml's where the parameters set none)."""
    from sqlrec import project

    merged = {**project.dbt_var_defaults(), **params.dbt_vars}
    return {part: float(merged[name]) for part, name in PART_WEIGHTS.items()}


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

    from sqlrec.evaluation import space

    def objective(trial: optuna.Trial) -> float:
        values = space.suggest(trial)
        metrics = scorer.score(scorer.params(values, seed))
        trial.set_user_attr("map@10", metrics["map@10"])
        return metrics["ndcg@10"]

    def report_best(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        if echo is not None and study.best_trial.number == trial.number:
            # Optuna's numbering (its progress bar's "Best trial: 0"); trial 0 is the defaults
            which = " (the defaults)" if trial.number == 0 else ""
            echo(f"sqlrec tune: trial {trial.number}{which}: best so far, validation NDCG@10 "
                 f"{trial.value:.4f} ({time.perf_counter() - started:.0f} s)")

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=STARTUP_TRIALS)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    first = default_values()
    study.enqueue_trial(first)
    started = time.perf_counter()
    study.optimize(objective, n_trials=trials, timeout=timeout, callbacks=[report_best],
                   show_progress_bar=show_progress)
    params = scorer.params(study.best_trial.params, seed)
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
            **params.dbt_vars, **{PART_WEIGHTS[part]: weight for part, weight in weights.items()}})
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
