"""Where photos are tagged: one interface for this process, local worker processes and (in `emotag.cluster`) Dask.

A feeder `submit`s a chunk of photo paths and gets a future of their `PhotoResult`s back; `has_room` says whether
another chunk may go now. `feed` drives any of them over a list of chunks, and `skip_known` leaves out first what
the ledger knows, so that a run over an archive already done starts no worker at all.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Collection, Generator, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Protocol

from emotag.errors import ModelError
from emotag.ledger import Ledger, NullLedger
from emotag.pipeline import Settings, Tagger, known_result
from emotag.results import PhotoResult, Status
from emotag.stopping import NEVER, Stop

log = logging.getLogger("emotag")
_worker: Tagger | None = None
_chunk_in_hand = threading.Lock()
PARENT_CHECK_SECONDS = 1.0
WORKER_LOST = "internal error: the worker process reading it stopped (out of memory?)"
"""The error of each photo in a chunk whose worker died (the kernel's out-of-memory killer, kill -9)."""


class Feeder(Protocol):
    """What tags chunks of photos: this process, worker processes, a Dask cluster."""

    def has_room(self) -> bool: ...

    def submit(self, chunk: list[Path], forced: Collection[Path] | None = None) -> Future: ...

    def close(self) -> None: ...

    def terminate(self) -> None: ...


def chunked(paths: list[Path], size: int) -> list[list[Path]]:
    return [paths[start : start + size] for start in range(0, len(paths), size)]


def skip_known(
    paths: Iterable[Path], settings: Settings, ledger, version: str
) -> Generator[PhotoResult, None, list[Path]]:
    """Yield the results of photos the ledger knows as done (or the user left untagged); return the others."""
    left = []
    for path in paths:
        known = known_result(ledger, path, version, settings)
        if known:
            yield known
        else:
            left.append(path)
    return left


def feed(feeder: Feeder, chunks: Iterable[list[Path]], stop: Stop = NEVER, ordered: bool = True):
    """The chunks' results, in the chunks' order (or as they finish), each chunk given as soon as there is room.

    Once `stop` is requested no chunk is given; those in hand are finished and reported. An exception met
    meanwhile (a second signal, the caller gone) stops the feeder at once."""
    waiting: deque[Future] = deque()
    left = iter(chunks)
    try:
        while True:
            for done in [f for f in waiting if f.done()] if not ordered else []:
                waiting.remove(done)
                yield from done.result()
            while ordered and waiting and waiting[0].done():
                yield from waiting.popleft().result()
            if not stop and feeder.has_room() and (chunk := next(left, None)) is not None:
                waiting.append(feeder.submit(chunk))
                continue
            if not waiting:
                return
            wait([future for future in waiting if not future.done()], return_when=FIRST_COMPLETED)
    except BaseException:
        feeder.terminate()
        raise
    finally:
        feeder.close()


def tag_chunk_safely(tagger: Tagger, chunk: list[Path], forced: Collection[Path] | None = None) -> list[PhotoResult]:
    """A chunk's results; an unexpected failure costs that chunk's photos an error line, never the run."""
    try:
        return tagger.tag_batch(chunk, forced)
    except ModelError:
        raise  # no model, no run: one clear message, not an error per photo
    except Exception as error:  # a bug or an environment failure: report it per photo and go on
        log.exception("unexpected failure on %d photos starting with %s", len(chunk), chunk[0])
        return [PhotoResult(str(path), Status.ERROR, error=f"internal error: {error}") for path in chunk]


class InProcess:
    """This process's Tagger: a chunk is tagged at once, in `submit` (a missing model raises there)."""

    def __init__(self, tagger: Tagger):
        self.tagger = tagger

    def has_room(self) -> bool:
        return True

    def submit(self, chunk: list[Path], forced: Collection[Path] | None = None) -> Future:
        results: Future = Future()
        results.set_result(tag_chunk_safely(self.tagger, chunk, forced))
        return results

    def close(self) -> None:
        pass

    def terminate(self) -> None:
        pass


@contextlib.contextmanager
def workers_deaf_to_interrupts() -> Iterator[None]:
    """Start worker processes with SIGINT blocked, which they inherit (and keep: `start_worker_process`): Ctrl-C in a
    terminal reaches the whole process group, and only emotag itself should answer it, by finishing the photos in
    hand. Blocked, not ignored: a Ctrl-C meanwhile waits, and reaches emotag once the workers are started."""
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)


def start_worker_process(settings: Settings) -> None:
    """A worker process of `emotag tag`: it leaves Ctrl-C to the main process (which stops the run in order), and
    its warnings (a photo another program is writing) reach the terminal as the main process's do."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # blocked while it started; ignored from now on
    verbose = os.environ.get("EMOTAG_VERBOSE") == "1"  # set by `emotag -v`, inherited by the worker
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="emotag: %(message)s")
    start_worker(settings)


def _begin_worker_process(initializer: Callable[[Settings], None], settings: Settings) -> None:
    """Every worker process `WorkerProcesses` starts: its own start (`initializer`), then the watch on its parent."""
    initializer(settings)
    leave_with_parent()


def leave_with_parent() -> None:
    """In a worker process: once the emotag that started it is gone (kill -9), finish the chunk in hand, then go.

    A worker holds both ends of its own work queue, so it never learns from the queue that no more work will come:
    without this it would wait forever, with a model and an ExifTool in memory."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_SECONDS)
        with _chunk_in_hand:  # the photos in hand are written and in the ledger first
            stop_worker()
            os._exit(0)

    threading.Thread(target=watch, name="emotag-parent-watch", daemon=True).start()


def start_worker(settings: Settings, ledger: bool = True) -> None:
    """In a worker process: one thread for the model (the workers are the parallelism), one Tagger."""
    global _worker
    os.environ.setdefault("EMOTAG_THREADS", "1")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    _worker = Tagger(settings, Ledger() if ledger else NullLedger())  # a Dask worker leaves the ledger to its client


def tag_chunk(chunk: list[Path], forced: Collection[Path] | None = None) -> list[PhotoResult]:
    """In a worker process: tag a chunk with that worker's Tagger (`forced`: see `Tagger.tag_batch`)."""
    assert _worker is not None
    with _chunk_in_hand:
        return tag_chunk_safely(_worker, chunk, forced)


def stop_worker() -> None:
    """In a worker process that outlives its work (a Dask worker): close the Tagger's ExifTool in order."""
    global _worker
    if _worker is not None:
        _worker.close()
        _worker = None


class WorkerProcesses:
    """Worker processes that tag one chunk at a time each, with a model and an ExifTool of their own.

    Each worker is an executor of its own, so that one that dies (the kernel's out-of-memory killer, kill -9) takes
    only its own chunk down: those photos get an error line, a new worker takes its place, the others go on.
    """

    def __init__(self, jobs: int, settings: Settings, initializer: Callable[[Settings], None] = start_worker_process):
        context = multiprocessing.get_context("spawn")  # LiteRT's and ExifTool's threads and forking do not mix
        self._new = lambda: ProcessPoolExecutor(
            1, mp_context=context, initializer=_begin_worker_process, initargs=(initializer, settings)
        )
        self._idle = [self._new() for _ in range(jobs)]  # each starts its process on its first chunk
        self._busy: set[ProcessPoolExecutor] = set()
        self._lock = threading.Lock()

    def has_room(self) -> bool:
        return bool(self._idle)

    def submit(self, chunk: list[Path], forced: Collection[Path] | None = None) -> Future:
        """Give `chunk` to a free worker (`has_room`). The future's result is the chunk's results, or an error line
        per photo if the worker died; it is set only once that worker, or its replacement, is free again."""
        with self._lock:
            executor = self._idle.pop()
            self._busy.add(executor)
        with workers_deaf_to_interrupts():  # a worker process may start now
            try:
                future = executor.submit(tag_chunk, chunk, forced)
            except BrokenProcessPool:  # it died while idle
                with self._lock:
                    self._busy.discard(executor)
                    executor = self._new()
                    self._busy.add(executor)
                future = executor.submit(tag_chunk, chunk, forced)
        results: Future = Future()
        future.add_done_callback(lambda done: self._finish(done, executor, chunk, results))
        return results

    def _finish(self, done: Future, executor: ProcessPoolExecutor, chunk: list[Path], results: Future) -> None:
        """In the executor's thread: free the worker (a new one for one that died) before `results` wakes anyone."""
        lost = isinstance(done.exception(), BrokenProcessPool)
        with self._lock:
            self._busy.discard(executor)
            self._idle.append(self._new() if lost else executor)
        if lost:
            executor.shutdown(wait=False)  # its process is gone; let its threads go too
            results.set_result([PhotoResult(str(path), Status.ERROR, error=WORKER_LOST) for path in chunk])
        elif done.exception() is not None:
            results.set_exception(done.exception())
        else:
            results.set_result(done.result())

    def close(self) -> None:
        """Let the workers go, once the chunks in their hands are done."""
        with self._lock:
            executors = [*self._idle, *self._busy]
        for executor in executors:
            executor.shutdown()

    def terminate(self) -> None:
        """Stop the workers now, in the middle of their chunks: each photo is as it was or fully written (ExifTool
        renames its temporary file over it), and a worker's ExifTool is stopped with it (pyexiftool asks the kernel
        to send it SIGTERM when its parent goes)."""
        with self._lock:
            executors = [*self._idle, *self._busy]
            self._idle, self._busy = [], set()
        for executor in executors:
            for process in list((getattr(executor, "_processes", None) or {}).values()):  # the executor's own
                with contextlib.suppress(OSError, ValueError):
                    process.terminate()
            executor.shutdown(wait=False, cancel_futures=True)
