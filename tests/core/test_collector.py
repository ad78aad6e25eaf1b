"""bulk_gc: fewer collections during bulk work, cycles still freed, settings restored."""

from __future__ import annotations

import gc
import weakref

from core.collector import YOUNG_THRESHOLD, bulk_gc


class Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the cyclic collector frees it


def test_cycles_made_during_bulk_work_are_still_collected():
    with bulk_gc():
        first = Node()
        gone = weakref.ref(first)
        del first
        for _ in range(3 * YOUNG_THRESHOLD):  # allocations, no explicit collect
            Node()
        assert gone() is None


def test_the_heap_alive_before_is_frozen_and_settings_come_back():
    before = gc.get_threshold()
    with bulk_gc():
        assert gc.get_threshold()[0] == YOUNG_THRESHOLD
        assert gc.get_freeze_count() > 0
        with bulk_gc():  # nested: the inner end restores nothing
            pass
        assert gc.get_threshold()[0] == YOUNG_THRESHOLD
        assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_young_collections_are_rarer():
    counts = []

    def count(phase: str, info: dict) -> None:
        if phase == "start" and info["generation"] == 0:
            counts.append(1)

    gc.callbacks.append(count)
    try:
        keep = []
        for _ in range(2 * YOUNG_THRESHOLD):
            keep.append([])
        default = len(counts)
        counts.clear()
        keep = []
        with bulk_gc():
            for _ in range(2 * YOUNG_THRESHOLD):
                keep.append([])
        assert len(counts) <= 3 < default
    finally:
        gc.callbacks.remove(count)
