"""An evaluation's results and its report. The report reads the dbt model evaluation_metrics
(the metrics computed in SQL, one row per run and recommender): a markdown table and a JSON file
of this run, a PNG bar chart of this run and a PNG line chart of NDCG@10 across every run of the
dataset."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlrec.evaluation.metrics import METRIC_LABELS, METRIC_NAMES

if TYPE_CHECKING:
    import pandas as pd

    from sqlrec.warehouse import Warehouse

RECOMMENDERS = {
    "popularity": "popularity",
    "item_similarity": "item similarity",
    "als": "ALS",
    "ease": "EASE",
    "blend": "blend (served)",
}
# evaluation_metrics' columns for the Python metric names, and the beyond-accuracy extras
SQL_COLUMNS = {"ndcg@10": "ndcg_at_10", "map@10": "map_at_10", "recall@20": "recall_at_20",
               "hitrate@10": "hitrate_at_10", "coverage@10": "coverage_at_10"}
EXTRA_COLUMNS = {"mean_popularity_at_10": "popularity@10", "diversity_at_10": "diversity@10"}


@dataclass
class Evaluation:
    """Metrics per recommender (computed in Python), with what they were computed on; the lists,
    the split and the catalogue stay beside them for writing into the warehouse."""

    dataset: str
    results: dict[str, dict[str, float]]
    details: dict[str, Any]
    lists: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)
    split: Any = field(default=None, repr=False)
    catalogue: Any = field(default=None, repr=False)

    def to_json(self) -> str:
        return json.dumps({"dataset": self.dataset, "results": self.results,
                           "details": self.details}, indent=2, default=str) + "\n"


@dataclass
class Report:
    """One evaluation run as evaluation_metrics holds it, and the runs before it."""

    dataset: str
    run_id: str
    rows: pd.DataFrame  # evaluation_metrics rows of this run
    history: pd.DataFrame  # evaluation_metrics rows of every run of the dataset
    details: dict[str, Any]

    @classmethod
    def from_warehouse(cls, store: Warehouse, run_id: str, details: dict[str, Any]) -> Report:
        metrics = store.read_table("evaluation_metrics").to_pandas()
        rows = metrics[metrics["run_id"] == run_id]
        dataset = rows["dataset"].iloc[0]
        history = metrics[metrics["dataset"] == dataset].sort_values("evaluated_at")
        order = {name: position for position, name in enumerate(RECOMMENDERS)}
        rows = rows.sort_values("recommender", key=lambda names: names.map(order))
        return cls(dataset, run_id, rows, history, details)

    def markdown(self) -> str:
        labels = [*METRIC_LABELS, *EXTRA_COLUMNS.values()]
        header = ("| recommender | " + " | ".join(labels) + " |\n"
                  "|---|" + "---:|" * len(labels) + "\n")
        body = ""
        for _, row in self.rows.iterrows():
            values = [row[SQL_COLUMNS[name]] for name in METRIC_NAMES] + [
                row[column] for column in EXTRA_COLUMNS]
            body += (f"| {RECOMMENDERS.get(row['recommender'], row['recommender'])} | "
                     + " | ".join("—" if value != value or value is None else f"{value:.4f}"
                                  for value in values) + " |\n")
        d = self.details
        return (f"Offline evaluation on {self.dataset} (run {self.run_id}): temporal per-user "
                f"holdout (last {d['test_fraction']:.0%} of each user's interactions), "
                f"{d['scored_users']:,} users scored, {d['test_pairs']:,} held-out pairs, "
                f"{d['train_events']:,} training events up to {d['split_at']}. Computed by the "
                "dbt model evaluation_metrics.\n\n" + header + body)

    def to_json(self) -> str:
        rows = json.loads(self.rows.to_json(orient="records", date_format="iso"))
        return json.dumps({"dataset": self.dataset, "run_id": self.run_id,
                           "results": {row["recommender"]: row for row in rows},
                           "details": self.details}, indent=2, default=str) + "\n"

    def plot(self, path: Path) -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import numpy as np

        positions = np.arange(len(METRIC_NAMES))
        names = list(self.rows["recommender"])
        width = 0.8 / max(len(names), 1)
        figure, axes = plt.subplots(figsize=(10, 4.5))
        for offset, (_, row) in enumerate(self.rows.iterrows()):
            values = [row[SQL_COLUMNS[name]] for name in METRIC_NAMES]
            axes.bar(positions + (offset - (len(names) - 1) / 2) * width, values, width,
                     label=RECOMMENDERS.get(row["recommender"], row["recommender"]))
        axes.set_xticks(positions, METRIC_LABELS)
        axes.set_ylabel("score (higher is better)")
        axes.set_title(f"sqlrec offline evaluation: {self.dataset}")
        axes.legend(fontsize="small")
        axes.grid(axis="y", alpha=0.3)
        figure.tight_layout()
        figure.savefig(path, dpi=120)
        plt.close(figure)

    def plot_history(self, path: Path, metric: str = "ndcg_at_10") -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        figure, axes = plt.subplots(figsize=(10, 4.5))
        for recommender, runs in self.history.groupby("recommender"):
            axes.plot(runs["evaluated_at"], runs[metric], marker="o",
                      label=RECOMMENDERS.get(recommender, recommender))
        axes.set_ylabel(metric.replace("_at_", "@"))
        axes.set_title(f"{metric} across evaluation runs: {self.dataset}")
        axes.legend(fontsize="small")
        axes.grid(alpha=0.3)
        figure.autofmt_xdate()
        figure.tight_layout()
        figure.savefig(path, dpi=120)
        plt.close(figure)

    def write(self, reports_dir: Path) -> dict[str, Path]:
        reports_dir.mkdir(parents=True, exist_ok=True)
        stem = reports_dir / f"evaluation-{self.dataset}"
        paths = {"markdown": stem.with_suffix(".md"), "json": stem.with_suffix(".json"),
                 "chart": stem.with_suffix(".png"),
                 "history": stem.with_name(stem.name + "-history.png")}
        paths["markdown"].write_text(self.markdown())
        paths["json"].write_text(self.to_json())
        self.plot(paths["chart"])
        self.plot_history(paths["history"])
        return paths
