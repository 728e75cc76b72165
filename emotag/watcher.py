"""Watch folders and tag each photo as it arrives: the second way of feeding the pipeline, after `emotag tag`.

The file system's events only say *which* paths to look at (`emotag.watch_events`); when a photo is ready is
decided by `emotag.arrivals`, and what happens to it the way `emotag tag` decides it, by `Tagger.tag_batch` and the
ledger:

- Before a settled photo is queued the ledger is asked whether this very file (path, size, time, model) is
  done. emotag's own writes (ExifTool's `NAME_exiftool_tmp` renamed over the photo) end exactly so: the
  ledger recorded the written file, so the event that write causes is dropped without a word.
- On start every folder is walked once and every photo the ledger does not know is queued: photos that
  arrived while the watcher was down, and photos a crash left half-done, are caught up the same way.
- Batches go to this process's Tagger, or to worker processes while a long backlog lasts (`emotag.watch_pool`).

The watcher says nothing itself: it tells a `WatchListener` (the command line hands it `presentation.WatchLog`).
"""

from __future__ import annotations

import logging
import os
import signal
import time
from collections import Counter
from pathlib import Path
from typing import Protocol

from emotag.arrivals import Arrivals
from emotag.discovery import find_photos
from emotag.errors import EmotagError
from emotag.ledger import Ledger
from emotag.pipeline import Settings, Tagger, known_result
from emotag.results import PhotoResult
from emotag.watch_events import POLL_SECONDS, OverflowAlarm, Waker, make_handler, observe
from emotag.watch_pool import WATCH_BATCH, WatchWorkers
from emotag.watch_status import StatusFile, now_text

log = logging.getLogger("emotag")


class WatchError(EmotagError):
    """The watch cannot go on: a folder is missing or gone, or the file system refuses to be watched."""


class WatchListener(Protocol):
    """What the watcher tells as it goes (each call one event)."""

    def result(self, result: PhotoResult) -> None: ...

    def watching(self, roots: list[Path], poll_seconds: float | None, caught_up: int) -> None: ...

    def rescanned(self, queued: int) -> None: ...

    def gone(self, root: Path) -> None: ...

    def pool(self, jobs: int) -> None: ...

    def stopped(self, counts: dict, left: int) -> None: ...


class ignoring_interrupts:
    """Ignore SIGINT while starting child processes (ExifTool): they inherit it, so Ctrl-C in a terminal reaches
    only the watcher, which finishes the photo in hand."""

    def __enter__(self):
        self._before = signal.signal(signal.SIGINT, signal.SIG_IGN)

    def __exit__(self, *exc):
        signal.signal(signal.SIGINT, self._before)


class Watcher:
    """Watch `folders` and feed settled photos, in batches, to the same Tagger `emotag tag` uses."""

    def __init__(self, folders: list[Path], settings: Settings, tell: WatchListener, jobs: int = 1, polling=False):
        self.roots = [Path(os.path.abspath(folder)) for folder in folders]
        self.settings = settings
        self.tell = tell
        self.jobs = jobs
        self.polling = polling
        self.arrivals = Arrivals()
        self.backlog: dict[Path, None] = {}  # settled photos, in order, each once
        self.counts: Counter = Counter()
        self.waker = Waker()
        self.stopping = False
        self.rescan = False
        self.state = "starting"
        self.last: dict | None = None
        self.started = now_text()
        self.status_file = StatusFile()
        self.tagger: Tagger | None = None
        self.workers: WatchWorkers | None = None
        self.observer = None
        self._saved_queued = 0
        self.gone: set[Path] = set()  # watched folders deleted or unmounted while watching
        self._forced: set[Path] = set()  # --force: photos the start-up walk queues whatever the ledger says
        self.backlog_forced: dict[Path, bool] = {}  # those of them in the backlog

    # -- what it tells ----------------------------------------------------------------------------------------

    def report(self, result: PhotoResult) -> None:
        self.counts[result.status] += 1
        self.last = {"path": result.path, "status": result.status, "at": now_text()}
        self.tell.result(result)

    def queued(self) -> int:
        """Photos settling, waiting, and (about) in hand."""
        in_hand = self.workers.in_hand if self.workers else 0
        return len(self.arrivals) + len(self.backlog) + in_hand

    def save_status(self) -> None:
        status = {
            "pid": os.getpid(),
            "started": self.started,
            "updated": now_text(),
            "state": self.state,
            "folders": [str(root) for root in self.roots],
            "observer": "polling" if self.polling else "native",
            "queued": self.queued(),
            "done": dict(self.counts),
            "last": self.last,
        }
        self._saved_queued = status["queued"]
        self.status_file.save(status)

    # -- life cycle -------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Load the models and ExifTool, start watching, and queue what arrived while no watcher ran."""
        for root in self.roots:
            if not root.is_dir():
                raise WatchError(f"{root}: no such folder")
        for number in (signal.SIGTERM, signal.SIGINT):  # from here on a stop is clean, even while loading
            signal.signal(number, self._on_stop_signal)
        with ignoring_interrupts():
            self.tagger = Tagger(self.settings, Ledger())
        self._warm_up()
        self.workers = WatchWorkers(self.tagger, self.settings, self.jobs, self.waker.wake, self.tell.pool)
        try:
            self.status_file.forget_dead_watchers()
            signal.set_wakeup_fd(self.waker.fileno(), warn_on_full_buffer=False)
            logging.getLogger("watchdog").addHandler(OverflowAlarm(self._on_overflow))
            handler = make_handler(self.roots, self.arrivals, self.waker, self.gone, self.settings.exclusions())
            self.observer = observe(self.roots, handler, self.polling)
        except OSError as error:  # the status folder, or the kernel's watches (inotify's limit)
            raise WatchError(str(error)) from error
        caught_up = self.scan(forced=self.settings.force)
        self.tell.watching(self.roots, POLL_SECONDS if self.polling else None, caught_up)
        self.state = "catching up" if caught_up else "idle"
        self.save_status()

    def _warm_up(self) -> None:
        """Load the model and face finder now, so the first photo does not wait for them."""
        import numpy as np

        from emotag.emotions import CROP_SIZE

        self.tagger.model.classify(np.zeros((1, CROP_SIZE, CROP_SIZE), dtype=np.uint8))
        _ = self.tagger.finder

    def scan(self, forced: bool = False) -> int:
        """Queue every photo under the folders that the ledger does not know as done (catch-up, rescan)."""
        count = 0
        for photo in find_photos(self.roots, self.settings.exclusions()):
            if forced:
                self._forced.add(photo)
            if forced or not self.is_done(photo):
                if photo.is_dir():  # a folder it may not list: reported by the tagger, as `tag` reports it
                    self.backlog[photo] = None
                    self._forced.discard(photo)
                else:
                    self.arrivals.note(photo)
                count += 1
        return count

    def is_done(self, photo: Path) -> bool:
        """Whether the ledger has this very file as done, by this model, under these tag settings, or the user
        took emotag's tags off it (`emotag untag`: left alone, whatever the user does to it afterwards)."""
        return known_result(self.tagger.ledger, photo, self.tagger.version, self.settings, force=False) is not None

    def _on_stop_signal(self, number, frame) -> None:
        self.stopping = True

    def _on_overflow(self) -> None:
        self.rescan = True
        self.waker.wake()

    # -- the loop ---------------------------------------------------------------------------------------------

    def run(self) -> int:
        """Tag photos as they settle until SIGTERM or SIGINT; returns the exit status (0)."""
        try:
            self.start()
            while not self.stopping:
                self.step()
        finally:
            self.stop()
        return 0

    def step(self) -> None:
        """One turn: take in settled photos, start what there is room for, report what finished, then sleep."""
        if self.gone:
            self._lose_folders()
        if self.rescan:
            self.rescan = False
            self.tell.rescanned(self.scan())
        self._take_settled()
        while self.backlog and self.workers.has_room(len(self.backlog)) and not self.stopping:
            batch = self._next_batch()
            self.workers.submit(batch, [photo for photo in batch if self.backlog_forced.pop(photo, False)])
        self._report_finished()
        if self.stopping:
            return
        if not self.backlog and not self.workers.busy:
            self.workers.stop_pool()
            if self.state != "idle" or self._saved_queued != self.queued():
                self.state = "idle"
                self.save_status()
        if self.backlog and not self.workers.busy and self.workers.has_room(len(self.backlog)):
            return  # more to do in this process: no sleep
        self.waker.sleep(self.arrivals.next_due(time.monotonic()))

    def _lose_folders(self) -> None:
        """A watched folder went away: say so; with none left, fail, so a service manager starts emotag again
        (and it waits, failing, until the disk is back)."""
        for root in sorted(self.gone):
            self.tell.gone(root)
            self.roots.remove(root)
        self.gone.clear()
        if not self.roots:
            raise WatchError("no watched folder is left")

    def _take_settled(self) -> None:
        for photo in self.arrivals.settled(time.monotonic()):
            if photo in self.backlog:
                continue
            forced = photo in self._forced
            self._forced.discard(photo)
            if not forced and self.is_done(photo):
                continue  # done: most often emotag's own write coming back as an event
            self.backlog[photo] = None
            if forced:
                self.backlog_forced[photo] = True
        if self.backlog and self.state == "idle":
            self.state = "working"
            self.save_status()

    def _next_batch(self) -> list[Path]:
        batch = list(self.backlog)[:WATCH_BATCH]
        for photo in batch:
            del self.backlog[photo]
        return batch

    def _report_finished(self) -> None:
        results = self.workers.finished()
        for result in results:
            self.report(result)
        if results:
            self.save_status()

    def stop(self) -> None:
        """Finish the batches in hand, then let everything go. What was still queued is caught up on next start."""
        if self.workers:
            self.workers.drain(lambda: (self.waker.sleep(1.0), self._report_finished()))
            self._report_finished()
        if self.observer:
            self.observer.stop()
            self.observer.join(timeout=5)
        if self.tagger:
            self.tagger.close()
            self.tagger.ledger.close()
        if self.observer:
            self.state = "stopped"
            self.save_status()
            self.tell.stopped(self.counts, len(self.arrivals) + len(self.backlog))
        signal.set_wakeup_fd(-1)
        self.waker.close()
