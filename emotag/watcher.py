"""Watch folders and tag each photo as it arrives: the second way of feeding the pipeline, after `emotag tag`.

The file system's events only say *which* paths to look at; what happens to a photo is decided the way
`emotag tag` decides it, by `Tagger.tag_batch` and the ledger:

- A photo is handed on once its size and modification time have held still (`SETTLE_SECONDS`), and, for
  JPEG and PNG, once it ends the way those files end (a copy that stalls half-way is not read half-way).
- Before a settled photo is queued the ledger is asked whether this very file (path, size, time, model) is
  done. emotag's own writes (ExifTool's `NAME_exiftool_tmp` renamed over the photo) end exactly so: the
  ledger recorded the written file, so the event that write causes is dropped without a word.
- On start every folder is walked once and every photo the ledger does not know is queued: photos that
  arrived while the watcher was down, and photos a crash left half-done, are caught up the same way.
- The main thread sleeps in `select` on a wake-up socket that file events, finished work and signals write
  to, so an idle watcher wakes for nothing.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import select
import signal
import socket
import stat
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterable
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from emotag.discovery import find_photos
from emotag.exiftool import EXIFTOOL_TMP
from emotag.photos import is_photo
from emotag.pipeline import PhotoResult, Settings, Tagger
from emotag.words import counted

log = logging.getLogger("emotag")

SETTLE_SECONDS = 1.0
"""How long a JPEG's or PNG's size and time must hold still before it is read (their ending is checked too)."""
UNCHECKED_SETTLE_SECONDS = 3.0
"""The same for formats whose completeness has no cheap test (TIFF, HEIC, raw): their time is the only sign."""
UNFINISHED_SECONDS = 10.0
"""A JPEG or PNG that does not end like one is read anyway once it has held still this long (and then
reported as broken if it is)."""
WATCH_BATCH = 8
"""Photos tagged together: enough for the model to read their faces in one call, few enough that a stop
signal is answered within a few seconds."""
POOL_AFTER_SECONDS = 30.0
"""A backlog that would take this long in this process (a card import) is worked by `--jobs` worker processes,
as `emotag tag` would. Starting them costs each a Python start, the model and ExifTool (1 to 3 s), which a shorter
one does not repay. The time a photo takes is measured on the batches this process tags.
`$EMOTAG_POOL_AFTER_SECONDS` sets it (0: start the workers as soon as there is a backlog)."""
POLL_SECONDS = 2.0
"""How often `--polling` lists the folders."""
TEMPORARY_SUFFIXES = (".tmp", ".temp", ".part", ".partial", ".crdownload", ".download", ".swp", "~")
JPEG_SUFFIXES = frozenset({".jpg", ".jpeg", ".jpe"})
JPEG_END = b"\xff\xd9"
PNG_END = b"IEND\xaeB`\x82"
CHECKED_SUFFIXES = JPEG_SUFFIXES | {".png"}


def is_candidate(path: Path, roots: Iterable[Path], exclusions=None) -> bool:
    """Whether a path may be a new photo: a photo format, not hidden, not a temporary or ExifTool's own file, not
    in a folder left alone (`emotag.exclusions`: a NAS's thumbnails, the user's `--exclude`)."""
    name = path.name
    if name.endswith(EXIFTOOL_TMP) or name.lower().endswith(TEMPORARY_SUFFIXES) or name.startswith("~$"):
        return False
    if not is_photo(path):  # also rules out sidecars (.xmp)
        return False
    for root in roots:
        try:
            inside = path.relative_to(root).parts
        except ValueError:
            continue
        if exclusions is None:
            from emotag.exclusions import Exclusions

            exclusions = Exclusions()
        if exclusions.leaves_out_any(str(root), inside):
            return False
        return not any(part.startswith(".") for part in inside) and not reached_through_link(root, inside)
    return False


def reached_through_link(root: Path, inside: tuple[str, ...]) -> bool:
    """Whether the path `inside` the root, or a folder on its way, is a symbolic link. Links are not followed, as
    `find_photos` does not follow them: a photo is seen under one path, and a link back up the tree is no loop."""
    path = root
    for part in inside:
        path = path / part
        if path.is_symlink():
            return True
    return False


def stat_key(path: Path) -> tuple[int, int] | None:
    """Size and modification time, or None for a file that is gone or is not a plain file (a folder, or a pipe,
    which a look at its ending would wait on forever)."""
    try:
        found = path.stat()
    except OSError:
        return None
    return (found.st_size, found.st_mtime_ns) if stat.S_ISREG(found.st_mode) else None


def settle_time(path: Path) -> float:
    return SETTLE_SECONDS if path.suffix.lower() in CHECKED_SUFFIXES else UNCHECKED_SETTLE_SECONDS


def looks_complete(path: Path) -> bool:
    """Whether a JPEG or PNG ends as such files end. Other formats have no cheap test, so they pass."""
    suffix = path.suffix.lower()
    ending = JPEG_END if suffix in JPEG_SUFFIXES else PNG_END if suffix == ".png" else None
    if ending is None:
        return True
    try:
        with open(path, "rb") as file:
            file.seek(0, os.SEEK_END)
            file.seek(max(0, file.tell() - 64))
            tail = file.read().rstrip(b"\0\r\n ")
    except OSError:
        return True  # let the tagger say what is wrong with it
    return tail.endswith(ending) or (ending == JPEG_END and ending in tail[-32:])


@dataclass
class Sighting:
    """What a photo looked like when last seen, and when to look again."""

    key: tuple[int, int]
    changed_at: float
    due: float


class Arrivals:
    """Photos that have arrived and are settling. Filled by the observer thread, emptied by the main one."""

    def __init__(self, unfinished: float = UNFINISHED_SECONDS):
        self.unfinished = unfinished
        self._seen: dict[Path, Sighting] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._seen)

    def note(self, path: Path) -> bool:
        """Something happened to `path`: look again once it has held still. True for a photo not yet settling
        (for one already settling the main thread wakes in time anyway: its next look only moves later)."""
        key = stat_key(path)
        now = time.monotonic()
        with self._lock:
            if key is None:
                self._seen.pop(path, None)
                return False
            new = path not in self._seen
            self._seen[path] = Sighting(key, now, now + settle_time(path))
            return new

    def forget(self, path: Path) -> None:
        with self._lock:
            self._seen.pop(path, None)

    def next_due(self, now: float) -> float | None:
        """Seconds until a photo should be looked at again; None when nothing is settling."""
        with self._lock:
            if not self._seen:
                return None
            return max(0.0, min(s.due for s in self._seen.values()) - now)

    def settled(self, now: float) -> list[Path]:
        """The photos that held still long enough, in arrival order; they leave the list."""
        with self._lock:
            due = [(path, s) for path, s in self._seen.items() if s.due <= now]
        ready = []
        for path, sighting in due:
            key = stat_key(path)
            complete = key is not None and key == sighting.key and looks_complete(path)
            with self._lock:
                if self._seen.get(path) is not sighting:
                    continue  # noted again meanwhile
                if key is None:
                    del self._seen[path]
                elif key != sighting.key:
                    self._seen[path] = Sighting(key, now, now + settle_time(path))
                elif complete or now - sighting.changed_at >= self.unfinished:
                    del self._seen[path]
                    ready.append(path)
                else:
                    sighting.due = now + settle_time(path)
        return ready


class Waker:
    """A socket pair the main thread sleeps on; any thread, or a signal, wakes it by writing a byte."""

    def __init__(self):
        self._read, self._write = socket.socketpair()
        self._read.setblocking(False)
        self._write.setblocking(False)

    def fileno(self) -> int:
        return self._write.fileno()

    def wake(self) -> None:
        with contextlib.suppress(OSError):  # a full buffer: a wake-up is already pending
            self._write.send(b"!")

    def sleep(self, timeout: float | None) -> None:
        select.select([self._read], [], [], timeout)
        with contextlib.suppress(OSError):
            while self._read.recv(4096):
                pass

    def close(self) -> None:
        self._read.close()
        self._write.close()


def _observer_events():
    from watchdog.events import (
        DirCreatedEvent,
        DirDeletedEvent,
        DirMovedEvent,
        FileClosedEvent,
        FileCreatedEvent,
        FileDeletedEvent,
        FileModifiedEvent,
        FileMovedEvent,
    )

    return [
        FileCreatedEvent,
        FileModifiedEvent,
        FileClosedEvent,
        FileMovedEvent,
        FileDeletedEvent,
        DirCreatedEvent,
        DirDeletedEvent,
        DirMovedEvent,
    ]


def make_handler(roots: list[Path], arrivals: Arrivals, waker: Waker, gone: set[Path], exclusions=None):
    """A watchdog handler that notes candidate photos; it never reads a photo or touches the ledger.

    A watched folder that is deleted or unmounted goes into `gone`."""
    from watchdog.events import FileSystemEventHandler

    class ArrivalsHandler(FileSystemEventHandler):
        def on_any_event(self, event) -> None:
            if event.is_directory:
                # a folder's files come as their own events (watchdog walks a folder moved in)
                if event.event_type == "deleted" and Path(os.fsdecode(event.src_path)) in roots:
                    gone.add(Path(os.fsdecode(event.src_path)))
                    waker.wake()
                return
            if event.event_type == "deleted":
                arrivals.forget(Path(os.fsdecode(event.src_path)))
                return
            if event.event_type == "moved":
                arrivals.forget(Path(os.fsdecode(event.src_path)))
                path = Path(os.fsdecode(event.dest_path))
            else:
                path = Path(os.fsdecode(event.src_path))
            if is_candidate(path, roots, exclusions) and arrivals.note(path):
                waker.wake()

    return ArrivalsHandler()


class OverflowAlarm(logging.Handler):
    """watchdog only logs when the kernel drops events (a very large import): take that as a call to rescan."""

    def __init__(self, alarm: Callable[[], None]):
        super().__init__(logging.WARNING)
        self.alarm = alarm

    def emit(self, record: logging.LogRecord) -> None:
        if "overflow" in record.getMessage().lower():
            self.alarm()


def _start_worker(settings: Settings) -> None:
    """A pool worker: Ctrl-C in a terminal reaches the whole process group; only the watcher should answer it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from emotag.batch import start_worker as start_tagger

    start_tagger(settings)


class Workers:
    """Where photos are tagged: this process's Tagger, or worker processes while a long backlog lasts."""

    def __init__(self, tagger: Tagger, settings: Settings, jobs: int, waker: Waker, say: Callable[[str], None]):
        self.say = say
        self.tagger = tagger
        self.settings = settings
        self.jobs = jobs
        self.waker = waker
        self._pool = None
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
            self._start_pool()
        limit = self.jobs if self._pool is not None else 1
        return self._in_flight < limit and not (self._pool is None and self._finished)

    def submit(self, photos: list[Path], forced: Collection[Path] = ()) -> None:
        """Tag `photos`; only those in `forced` are read and decided again whatever was done before (`--force`
        is for the photos there at start: a photo the user corrects while the watcher runs is not forced)."""
        forced = frozenset(forced)
        if self._pool is None:
            from emotag.batch import tag_chunk_safely

            started = time.monotonic()
            self._finished += tag_chunk_safely(self.tagger, photos, forced)
            seconds = (time.monotonic() - started) / len(photos)
            previous = self.seconds_per_photo or seconds
            self.seconds_per_photo = 0.7 * previous + 0.3 * seconds
            return
        with self._lock:
            self._in_flight += 1
        with ignoring_interrupts():  # a worker process started now (the first, or one replacing a dead one)
            future = self._pool.submit(photos, forced)
        future.add_done_callback(lambda done: self._done(photos, done))

    def _done(self, photos: list[Path], done: Future) -> None:
        """In another thread: a batch is back from the worker processes (an error line per photo if it failed)."""
        error = done.exception()
        results = done.result() if error is None else [PhotoResult(str(p), "error", error=str(error)) for p in photos]
        with self._lock:
            self._finished += results
            self._in_flight -= 1
        self.waker.wake()

    def finished(self) -> list[PhotoResult]:
        with self._lock:
            results, self._finished = self._finished, []
        return results

    def _start_pool(self) -> None:
        from emotag.batch import WorkerProcesses

        self.say(f"a long backlog: starting {self.jobs} worker processes")
        self._pool = WorkerProcesses(self.jobs, self.settings, initializer=_start_worker)

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


def pool_after_seconds() -> float:
    try:
        return max(0.0, float(os.environ.get("EMOTAG_POOL_AFTER_SECONDS", POOL_AFTER_SECONDS)))
    except ValueError:
        log.warning("EMOTAG_POOL_AFTER_SECONDS is not a number of seconds; using %g", POOL_AFTER_SECONDS)
        return POOL_AFTER_SECONDS


class ignoring_interrupts:
    """Ignore SIGINT while starting child processes (ExifTool, workers): they inherit it, so Ctrl-C in a terminal
    reaches only the watcher, which finishes the photo in hand."""

    def __enter__(self):
        self._before = signal.signal(signal.SIGINT, signal.SIG_IGN)

    def __exit__(self, *exc):
        signal.signal(signal.SIGINT, self._before)


def status_folder() -> Path:
    from emotag.ledger import default_location

    return default_location().parent / "watch"


def is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def write_status(path: Path, status: dict) -> None:
    """Write the status file whole (a temporary file renamed over it), so a reader never sees half of it."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(status, indent=1), encoding="utf-8")
    temporary.replace(path)


def read_statuses(folder: Path | None = None) -> list[dict]:
    """Every watcher's last status, with `running` set from whether its process is alive."""
    folder = folder or status_folder()
    statuses = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            status = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        status["running"] = status.get("state") != "stopped" and is_running(int(status.get("pid", 0)))
        statuses.append(status)
    return statuses


def describe_status(status: dict) -> str:
    """A watcher's status for a person."""
    done = status.get("done", {})
    if status["running"]:
        head = f"watcher {status['pid']}: running since {status['started']} ({status['state']})"
    elif status.get("state") == "stopped":
        head = f"watcher {status['pid']}: stopped at {status['updated']}"
    else:
        head = f"watcher {status['pid']}: not running; it ended without stopping (last seen {status['updated']})"
    lines = [
        head,
        f"  folders: {', '.join(status.get('folders', []))} ({status.get('observer', '?')})",
        f"  since start: {summary(done)}",
        f"  queued: {status.get('queued', 0)}",
    ]
    if status.get("last"):
        last = status["last"]
        lines.append(f"  last: {last['status']} {last['path']} at {last['at']}")
    return "\n".join(lines)


def summary(counts: dict) -> str:
    from emotag.words import counted

    return (
        f"{counts.get('tagged', 0)} tagged, {counts.get('updated', 0)} updated, {counts.get('no_faces', 0)} no faces, "
        f"{counts.get('skipped', 0)} skipped, {counts.get('unchanged', 0)} unchanged, "
        f"{counted(counts.get('error', 0), 'error')}"
    )


def describe_result(result: PhotoResult, dry_run: bool) -> str:
    """One line per photo, for the operator's log (a line break in a name is shown escaped)."""
    from emotag.cli import shown

    result = PhotoResult(shown(result.path), result.status, result.faces, result.tags, result.error, result.eyes_tag)
    if result.status == "tagged":
        verb = "would tag" if dry_run else "tagged"
        tags = result.tags + ([result.eyes_tag] if result.eyes_tag else [])
        return f"{verb} {result.path}: {', '.join(tags) or 'no emotion above the threshold'}"
    if result.status == "no_faces":
        return f"no faces {result.path}"
    if result.status == "skipped":
        return f"skipped {result.path}: faces too small to read"
    if result.status == "updated":
        verb = "would update" if dry_run else "updated"
        return f"{verb} {result.path}: {', '.join(result.tags) or 'no emotion tag'} ({changes(result)})"
    if result.status == "unchanged":
        return f"unchanged {result.path}: already tagged by this model"
    if result.status == "left_untagged":
        return f"left untagged {result.path}: its tags were taken off with emotag untag"
    return f"error {result.path}: {result.error}"


def changes(result: PhotoResult) -> str:
    """The tags a photo gained and lost, for a person: "added Sad; removed Happy"."""
    said = [f"added {', '.join(result.added)}"] if result.added else []
    said += [f"removed {', '.join(result.removed)}"] if result.removed else []
    return "; ".join(said) or "tags as before"


def now_text() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


class Watcher:
    """Watch `folders` and feed settled photos, in batches, to the same Tagger `emotag tag` uses."""

    def __init__(self, folders: list[Path], settings: Settings, jobs: int = 1, polling: bool = False, as_json=False):
        self.roots = [Path(os.path.abspath(folder)) for folder in folders]
        self.settings = settings
        self.jobs = jobs
        self.polling = polling
        self.as_json = as_json
        self.arrivals = Arrivals()
        self.backlog: dict[Path, None] = {}  # settled photos, in order, each once
        self.counts: Counter = Counter()
        self.waker = Waker()
        self.stopping = False
        self.rescan = False
        self.state = "starting"
        self.last: dict | None = None
        self.started = now_text()
        self.status_path = status_folder() / f"{os.getpid()}.json"
        self.tagger: Tagger | None = None
        self.workers: Workers | None = None
        self.observer = None
        self._saved_queued = 0
        self.gone: set[Path] = set()  # watched folders deleted or unmounted while watching
        self._forced: set[Path] = set()  # --force: photos the start-up walk queues whatever the ledger says
        self.backlog_forced: dict[Path, bool] = {}  # those of them in the backlog
        self._stamp = "JOURNAL_STREAM" not in os.environ  # journald stamps lines itself

    # -- output -----------------------------------------------------------------------------------------------

    def say(self, message: str) -> None:
        stamp = f"{datetime.now():%Y-%m-%d %H:%M:%S} " if self._stamp else ""
        print(f"{stamp}emotag: {message}", file=sys.stderr, flush=True)

    def report(self, result: PhotoResult) -> None:
        self.counts[result.status] += 1
        self.last = {"path": result.path, "status": result.status, "at": now_text()}
        self.say(describe_result(result, self.settings.dry_run))
        if self.as_json:
            print(json.dumps(result.to_json()), flush=True)

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
        try:
            write_status(self.status_path, status)
        except OSError as error:
            log.warning("cannot write the status file %s: %s", self.status_path, error)

    # -- life cycle -------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Load the models and ExifTool, start watching, and queue what arrived while no watcher ran."""
        from emotag.ledger import Ledger

        for root in self.roots:
            if not root.is_dir():
                raise FileNotFoundError(f"{root}: no such folder")
        for number in (signal.SIGTERM, signal.SIGINT):  # from here on a stop is clean, even while loading
            signal.signal(number, self._on_stop_signal)
        with ignoring_interrupts():
            self.tagger = Tagger(self.settings, Ledger())
        self._warm_up()
        self.workers = Workers(self.tagger, self.settings, self.jobs, self.waker, self.say)
        self._forget_dead_watchers()
        signal.set_wakeup_fd(self.waker.fileno(), warn_on_full_buffer=False)
        logging.getLogger("watchdog").addHandler(OverflowAlarm(self._on_overflow))
        self.observer = self._observe()
        caught_up = self.scan(forced=self.settings.force)
        kind = f"polling every {POLL_SECONDS:g} s" if self.polling else "file system events"
        self.say(f"watching {', '.join(map(str, self.roots))} ({kind}); {counted(caught_up, 'photo')} to catch up")
        self.state = "catching up" if caught_up else "idle"
        self.save_status()

    def _warm_up(self) -> None:
        """Load the model and face finder now, so the first photo does not wait for them."""
        import numpy as np

        from emotag.emotions import CROP_SIZE

        self.tagger.model.classify(np.zeros((1, CROP_SIZE, CROP_SIZE), dtype=np.uint8))
        _ = self.tagger.finder

    def _observe(self):
        if self.polling:
            from watchdog.observers.polling import PollingObserverVFS

            # lstat: a linked folder is listed as a link, not walked (a link back up the tree would never end)
            observer = PollingObserverVFS(stat=os.lstat, listdir=os.scandir, polling_interval=POLL_SECONDS)
        else:
            from watchdog.observers import Observer

            observer = Observer()
        handler = make_handler(self.roots, self.arrivals, self.waker, self.gone, self.settings.exclusions())
        for root in self.roots:
            observer.schedule(handler, str(root), recursive=True, event_filter=_observer_events())
        observer.daemon = True
        observer.start()
        return observer

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
        ledger = self.tagger.ledger
        return bool(ledger.is_done(photo, self.tagger.version, self.settings.fingerprint())) or ledger.is_left_untagged(
            photo
        )

    def _on_stop_signal(self, number, frame) -> None:
        self.stopping = True

    def _on_overflow(self) -> None:
        self.rescan = True
        self.waker.wake()

    def _forget_dead_watchers(self) -> None:
        self.status_path.parent.mkdir(parents=True, exist_ok=True)
        for status in read_statuses(self.status_path.parent):
            if not status["running"]:
                (self.status_path.parent / f"{status['pid']}.json").unlink(missing_ok=True)

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
            self.say(f"events were lost; looked through the folders again: {counted(self.scan(), 'photo')} queued")
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
            self.say(f"{root} is gone (deleted or unmounted); no longer watched")
            self.roots.remove(root)
        self.gone.clear()
        if not self.roots:
            raise FileNotFoundError("no watched folder is left")

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
            queued = len(self.arrivals) + len(self.backlog)
            self.say(f"stopped: {summary(self.counts)}; {queued} left for the next start")
        signal.set_wakeup_fd(-1)
        self.waker.close()
