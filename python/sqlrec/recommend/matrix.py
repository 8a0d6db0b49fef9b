"""The users × items matrix of w(u,i) that ALS trains on, from either side of dbt.

- `interaction_matrix`: from the ``int_user_item_scores`` table dbt built (`sqlrec train`);
- `score_matrix`: from raw events, the Python twin of that model (same seed weights, decay and
  log damping), so that `sqlrec tune` can score thousands of variants without running dbt.

The maths of w(u,i) is in docs/design.md (scores) and docs/dbt.md (the models, in short).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlrec.errors import UserError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import scipy.sparse as sp

SCORES_TABLE = "int_user_item_scores"


@dataclass
class InteractionMatrix:
    """w(u,i) as a users × items CSR matrix (float32) and the ids of its rows and columns."""

    matrix: sp.csr_matrix
    user_ids: pa.Array
    item_ids: pa.Array

    @property
    def nnz(self) -> int:
        return int(self.matrix.nnz)


def interaction_matrix(scores: pa.Table) -> InteractionMatrix:
    """The CSR matrix of a (user_id, item_id, score) table; ids become dense row/column numbers.

    Rows whose score is null or not positive carry no preference and are left out. Raises
    UserError when nothing is left.
    """
    import numpy as np
    import pyarrow.compute as pc
    import scipy.sparse as sp

    missing = {"user_id", "item_id", "score"} - set(scores.column_names)
    if missing:
        raise UserError(f"the score table lacks the column(s) {', '.join(sorted(missing))}")
    usable = pc.and_(pc.is_valid(scores["score"]), pc.greater(scores["score"], 0))
    usable = pc.and_(usable, pc.and_(pc.is_valid(scores["user_id"]),
                                     pc.is_valid(scores["item_id"])))
    scores = scores.filter(usable)
    if scores.num_rows == 0:
        raise UserError(f"{SCORES_TABLE} has no rows with a positive score: nothing to train on. "
                        "Check that the lake has valid events (see events_rejected) and run "
                        "`sqlrec build`")
    rows, user_ids = _codes_in_id_order(scores["user_id"])
    columns, item_ids = _codes_in_id_order(scores["item_id"])
    values = scores["score"].to_numpy().astype(np.float32)
    matrix = sp.csr_matrix((values, (rows, columns)),
                           shape=(len(user_ids), len(item_ids)), dtype=np.float32)
    matrix.sum_duplicates()
    return InteractionMatrix(matrix, user_ids, item_ids)


def _codes_in_id_order(ids: pa.ChunkedArray) -> tuple[np.ndarray, pa.Array]:
    """Dense numbers of the ids, in the order of the ids themselves, and the ids by number.

    Numbering by first appearance would tie the model to the order the engine returned the rows
    in (which neither DuckDB with several threads nor Trino keeps): ALS's random start is drawn
    per row and column number, so the same scores would train different models.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    encoded = pc.dictionary_encode(ids.cast(pa.string())).combine_chunks()
    order = pc.sort_indices(encoded.dictionary).to_numpy()
    number_of_code = np.empty(len(order), dtype=np.int32)
    number_of_code[order] = np.arange(len(order), dtype=np.int32)
    codes = encoded.indices.to_numpy(zero_copy_only=False)
    return number_of_code[codes], encoded.dictionary.take(pa.array(order))


def score_matrix(events: pd.DataFrame, *, half_life_days: float, as_of=None,
                 weights: dict[str, float] | None = None,
                 dtype: str = "float32") -> InteractionMatrix:
    """w(u,i) from events (user_id, item_id, event_type, event_at), as a CSR matrix: the Python
    twin of ``int_user_item_scores``. ``weights`` default to the project's seed.

    c = sum of weight(type) · 0.5^(age / half-life), age = as_of − event time (no decay when the
    half-life is 0); w = 1 + ln c when c >= 1, else c. Events after as_of and pairs with c = 0
    are left out. ``dtype``: float32, what the models train on; float64, the SQL's double (the
    twin of the dbt models).
    """
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import scipy.sparse as sp

    from sqlrec.data.seeds import event_weights

    weights = weights if weights is not None else event_weights()
    as_of = pd.Timestamp(as_of) if as_of is not None else events["event_at"].max()
    events = events[events["event_at"] <= as_of]
    strength = events["event_type"].map(weights).fillna(0.0).to_numpy(dtype=np.float64)
    if half_life_days and half_life_days > 0:
        age_seconds = (as_of - events["event_at"]).dt.total_seconds().to_numpy()
        strength = strength * 0.5 ** (age_seconds / (half_life_days * 86_400.0))
    events, strength = events[strength > 0], strength[strength > 0]
    users, user_ids = pd.factorize(events["user_id"], sort=True)
    items, item_ids = pd.factorize(events["item_id"], sort=True)
    matrix = sp.csr_matrix((strength, (users, items)), shape=(len(user_ids), len(item_ids)))
    matrix.sum_duplicates()
    matrix.eliminate_zeros()
    c = matrix.data
    matrix.data = np.where(c >= 1, 1 + np.log(np.maximum(c, 1)), c).astype(dtype)
    return InteractionMatrix(matrix.astype(dtype), pa.array(user_ids.astype(str)),
                             pa.array(item_ids.astype(str)))
