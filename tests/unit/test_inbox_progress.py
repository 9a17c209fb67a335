"""A partition that stands still while records wait on it is seen as stalled once the
threshold has passed; one that moves, one with nothing waiting, and one paused by the
bound are not."""

from __future__ import annotations

from services.exchange.progress import Progress


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_partition_standing_still_with_records_after_it_is_stalled_past_the_threshold(
) -> None:
    clock = Clock()
    progress: Progress[str] = Progress(clock, threshold=60)
    progress.observe("inbox-0", position=5, end=9)
    clock.now = 60.0
    progress.observe("inbox-0", position=5, end=12)
    assert progress.stalled() == {}
    clock.now = 61.0
    assert progress.stalled() == {"inbox-0": (5, 61.0)}


def test_a_partition_that_moves_or_has_nothing_waiting_is_not_stalled() -> None:
    clock = Clock()
    progress: Progress[str] = Progress(clock, threshold=10)
    progress.observe("moving", 1, 100)
    progress.observe("caught-up", 7, 7)
    progress.observe("unknown", None, 4)
    for step in range(2, 30):
        clock.now = float(step)
        progress.observe("moving", step, 100)
        progress.observe("caught-up", 7, 7)
    assert progress.stalled() == {}


def test_a_paused_partition_is_not_stalled_and_a_partition_given_away_is_forgotten() -> None:
    clock = Clock()
    progress: Progress[str] = Progress(clock, threshold=1)
    progress.observe("paused", 3, 9)
    progress.observe("gone", 3, 9)
    clock.now = 5.0
    assert set(progress.stalled(paused=["paused"])) == {"gone"}
    progress.forget(keep=["paused"])
    assert progress.stalled(paused=["paused"]) == {}
