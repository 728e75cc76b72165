"""Where the watcher's photos are tagged: in its own process, or in worker processes while a long backlog lasts.

A backlog that would take `POOL_AFTER_SECONDS` in this process (a card import) is worked by `--jobs` worker
processes, as `emotag tag` would. Starting them costs each a Python start, the model and ExifTool (1 to 3 s), which
a shorter one does not repay. The time a photo takes is measured on the batches this process tags.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Collection
from concurrent.futures import Future
from pathlib import Path

from emotag.pipeline import Settings, Tagger
from emotag.results import PhotoResult, Status
from emotag.workers import InProcess, WorkerProcesses, start_worker

log = logging.getLogger("emotag")

WATCH_BATCH = 8
"""Photos tagged together: enough for the model to read their faces in one call, few enough that a stop
signal is answered within a few seconds."""
POOL_AFTER_SECONDS = 30.0
"""A backlog that would take this long in this process is worked by worker processes.
`$EMOTAG_POOL_AFTER_SECONDS` sets it (0: start the workers as soon as there is a backlog)."""


def pool_after_seconds() -> float:
    try:
        return max(0.0, float(os.environ.get("EMOTAG_POOL_AFTER_SECONDS", POOL_AFTER_SECONDS)))
    except ValueError:
        log.warning("EMOTAG_POOL_AFTER_SECONDS is not a number of seconds; using %g", POOL_AFTER_SECONDS)
        return POOL_AFTER_SECONDS


def _start_worker(settings: Settings) -> None:
    """A pool worker: Ctrl-C in a terminal reaches the whole process group; only the watcher should answer it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    start_worker(settings)


class WatchWorkers:
    """This process's Tagger, or worker processes while a long backlog lasts; `wake` is called from another
    thread when a batch comes back from them, `on_pool` with their number when they start."""

    def __init__(
        self, tagger: Tagger, settings: Settings, jobs: int, wake: Callable[[], None], on_pool: Callable[[int], None]
    ):
        self.local = InProcess(tagger)
        self.settings = settings
        self.jobs = jobs
        self.wake = wake
        self.on_pool = on_pool
        self._pool: WorkerProcesses | None = None
        self.seconds_per_photo: float | None = None  # measured here, on the last batches
        self.pool_after = pool_after_seconds()
        self._in_flight = 0
        self._finished: list[PhotoResult] = []
        self._lock = threading.Lock()

    @property
    def busy(self) -> bool:
        return self._in_flight > 0

    @property
    def in_hand(self) -> int:
        """Photos given to the worker processes and not yet back."""
        return self._in_flight * WATCH_BATCH

    def has_room(self, backlog: int) -> bool:
        """Whether another batch may start now; a long backlog starts the worker processes."""
        if self._pool is None and self.jobs > 1 and backlog * (self.seconds_per_photo or 0) >= self.pool_after:
            self.on_pool(self.jobs)
            self._pool = WorkerProcesses(self.jobs, self.settings, initializer=_start_worker)
        if self._pool is None:
            return not self._finished
        return self._in_flight < self.jobs and self._pool.has_room()

    def submit(self, photos: list[Path], forced: Collection[Path] = ()) -> None:
        """Tag `photos`; only those in `forced` are read and decided again whatever was done before (`--force`
        is for the photos there at start: a photo the user corrects while the watcher runs is not forced)."""
        forced = frozenset(forced)
        if self._pool is None:
            started = time.monotonic()
            self._finished += self.local.submit(photos, forced).result()
            seconds = (time.monotonic() - started) / len(photos)
            previous = self.seconds_per_photo or seconds
            self.seconds_per_photo = 0.7 * previous + 0.3 * seconds
            return
        with self._lock:
            self._in_flight += 1
        future = self._pool.submit(photos, forced)
        future.add_done_callback(lambda done: self._done(photos, done))

    def _done(self, photos: list[Path], done: Future) -> None:
        """In another thread: a batch is back from the worker processes (an error line per photo if it failed)."""
        error = done.exception()
        failed = [PhotoResult(str(photo), Status.ERROR, error=str(error)) for photo in photos] if error else []
        results = failed or done.result()
        with self._lock:
            self._finished += results
            self._in_flight -= 1
        self.wake()

    def finished(self) -> list[PhotoResult]:
        with self._lock:
            results, self._finished = self._finished, []
        return results

    def stop_pool(self) -> None:
        """Let the worker processes go (their memory with them) once the backlog is done."""
        if self._pool is not None and not self._in_flight:
            self._pool.close()
            self._pool = None

    def drain(self, wait: Callable[[], None]) -> None:
        """Wait for the batches in hand, then stop the worker processes."""
        while self._in_flight:
            wait()
        self.stop_pool()
