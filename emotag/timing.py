"""Where a process's time goes, stage by stage, in the pipeline's order (`STAGES`).

Plain accumulated wall-clock seconds, for the `-v` log and `bench/throughput.py`; costs a clock read per stage.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager

STAGES = ("decode", "detect", "detect close-up", "align", "eyes", "classify", "read tags", "write tags")
"""Every stage timed anywhere: one timed but left out here would vanish from the `-v` log and the benchmarks."""
_seconds: dict[str, float] = defaultdict(float)


@contextmanager
def stage(name: str) -> Iterator[None]:
    """Add the time spent inside the block to stage `name` (one of `STAGES`)."""
    started = time.perf_counter()
    try:
        yield
    finally:
        _seconds[name] += time.perf_counter() - started


def stage_seconds() -> dict[str, float]:
    """Seconds spent in each stage by this process so far."""
    return {name: _seconds.get(name, 0.0) for name in STAGES}


def reset() -> None:
    _seconds.clear()


def describe(seconds: dict[str, float]) -> str:
    return ", ".join(f"{name} {value:.2f} s" for name, value in seconds.items())
