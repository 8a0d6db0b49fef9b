"""An evaluation's results and its report: a markdown table, a JSON file and a PNG bar chart."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlrec.evaluation.metrics import METRIC_LABELS, METRIC_NAMES

RECOMMENDERS = {
    "popularity": "popularity",
    "item_similarity": "item similarity",
    "als_defaults": "ALS (defaults)",
    "als_tuned": "ALS (tuned)",
    "blend": "blend",
}


@dataclass
class Evaluation:
    """Metrics per recommender, with what they were computed on."""

    dataset: str
    results: dict[str, dict[str, float]]
    details: dict[str, Any]

    def markdown(self) -> str:
        header = ("| recommender | " + " | ".join(METRIC_LABELS) + " |\n"
                  "|---|---:|---:|---:|---:|---:|\n")
        rows = "".join(
            f"| {RECOMMENDERS.get(name, name)} | "
            + " | ".join(f"{metrics[metric]:.4f}" for metric in METRIC_NAMES) + " |\n"
            for name, metrics in self.results.items()
        )
        d = self.details
        return (f"Offline evaluation on {self.dataset}: temporal per-user holdout (last "
                f"{d['test_fraction']:.0%} of each user's interactions), {d['scored_users']:,} "
                f"users scored, {d['test_pairs']:,} held-out pairs, {d['train_events']:,} "
                f"training events up to {d['split_at']}.\n\n" + header + rows)

    def to_json(self) -> str:
        return json.dumps({"dataset": self.dataset, "results": self.results,
                           "details": self.details}, indent=2, default=str) + "\n"

    def plot(self, path: Path) -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import numpy as np

        names = list(self.results)
        positions = np.arange(len(METRIC_NAMES))
        width = 0.8 / max(len(names), 1)
        figure, axes = plt.subplots(figsize=(10, 4.5))
        for offset, name in enumerate(names):
            values = [self.results[name][metric] for metric in METRIC_NAMES]
            axes.bar(positions + (offset - (len(names) - 1) / 2) * width, values, width,
                     label=RECOMMENDERS.get(name, name))
        axes.set_xticks(positions, METRIC_LABELS)
        axes.set_ylabel("score (higher is better)")
        axes.set_title(f"sqlrec offline evaluation: {self.dataset}")
        axes.legend(fontsize="small")
        axes.grid(axis="y", alpha=0.3)
        figure.tight_layout()
        figure.savefig(path, dpi=120)
        plt.close(figure)

    def write(self, reports_dir: Path) -> dict[str, Path]:
        reports_dir.mkdir(parents=True, exist_ok=True)
        stem = reports_dir / f"evaluation-{self.dataset}"
        paths = {"markdown": stem.with_suffix(".md"), "json": stem.with_suffix(".json"),
                 "chart": stem.with_suffix(".png")}
        paths["markdown"].write_text(self.markdown())
        paths["json"].write_text(self.to_json())
        self.plot(paths["chart"])
        return paths
