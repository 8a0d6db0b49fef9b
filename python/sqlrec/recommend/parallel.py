"""Batches computed on several threads and handed on in their order.

The fit and implicit's top-k use every core; what follows them (reasons, EASE's scoring and
top-k) would use one if run batch after batch, and on a many-core machine that single thread
would take longer than everything else. numpy and scipy release the GIL in what these batches
do (matrix products, solves, partitions, gathers), so threads suffice. At most ``workers``
batches are in flight, which bounds memory to that many batches.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


def default_workers() -> int:
    """Every core this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
        os.cpu_count() or 1)


def ordered_map(function: Callable[[Item], Result], items: Iterable[Item],
                workers: int | None = None) -> Iterator[Result]:
    """function(item) for each item, in the items' order, computed ``workers`` at a time
    (default: every core); ``items`` is consumed on the caller's thread, one ahead at most of
    the batches in flight. One worker runs everything on the caller's thread."""
    workers = workers or default_workers()
    if workers <= 1:
        yield from map(function, items)
        return
    with ThreadPoolExecutor(workers, thread_name_prefix="sqlrec-batch") as pool:
        pending: deque = deque()
        for item in items:
            pending.append(pool.submit(function, item))
            if len(pending) >= workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
