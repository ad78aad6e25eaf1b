"""Python's cyclic garbage collector during bulk work: an import, a cross-reference partition.

By default the collector looks at the young objects every 700 new container objects, and now
and then at every object alive: the process's modules, classes, caches and reference indexes
included. Bulk work allocates rows by the million, most of them gone a moment later and none
of them cyclic, so the collector ran all the time and found nothing: 31% of a 50,000-row
import's time (measured with `gc.callbacks`), almost all of it in full collections walking the
long-lived heap.

`bulk_gc()` freezes the objects alive when the work starts (`gc.freeze`: the collector no longer
walks them; any cycle among them waits for the block's end, when they are handed back to the
collector) and collects the young generation every 50,000 new objects instead of 700. Cycles made during the work are still collected, later and in
fewer passes. Settings are restored when the outermost `bulk_gc` ends.

A cross-reference partition switches the collector off outright (`crossref.engine`): its
garbage is bounded by one partition. An all-or-nothing import is one pass over up to a million
rows, so cycles made on the way must still be freed while it runs.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

YOUNG_THRESHOLD = 50_000

_lock = threading.Lock()
_depth = 0
_saved: tuple[int, int, int] = (700, 10, 10)


@contextmanager
def bulk_gc() -> Iterator[None]:
    """Collect less often, and not through what was alive before, for the block's duration."""
    global _depth, _saved
    with _lock:
        if _depth == 0:
            _saved = gc.get_threshold()
            gc.freeze()
            gc.set_threshold(YOUNG_THRESHOLD, 20, 100)
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                gc.set_threshold(*_saved)
                gc.unfreeze()
