"""Feed many photos through the pipeline, in this process or in worker processes (one model each)."""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import threading
from collections import deque
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from emotag.pipeline import BATCH_PHOTOS, PhotoResult, Settings, Tagger, check_ready, known_result

log = logging.getLogger("emotag")
_worker: Tagger | None = None
WORKER_MIN_PHOTOS = 8
"""A worker costs about a second to start (Python, the model, ExifTool): with fewer photos each, fewer workers."""
WORKER_LOST = "internal error: the worker process reading it stopped (out of memory?)"
"""The error of each photo in a chunk whose worker died (the kernel's out-of-memory killer, kill -9)."""


class Stop:
    """A request to stop, made by a signal handler: no photo is started after it, those in hand are finished.

    A plain flag, not an Event: a signal handler runs in the main thread, between any two of its steps."""

    def __init__(self) -> None:
        self.requested = False

    def __bool__(self) -> bool:
        return self.requested


NEVER = Stop()


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


def default_jobs() -> int:
    from emotag.expressions import usable_cores

    return usable_cores()


def tag_photos(paths: list[Path], settings: Settings, jobs: int = 1, stop: Stop = NEVER) -> Iterator[PhotoResult]:
    """Results for `paths`: first those the ledger knows as done, then the others in order, as they are tagged.

    With `jobs` > 1 each worker loads the model and ExifTool once. A run over an archive that is already done
    starts neither. Once `stop` is requested no photo is started; those in hand are finished and reported. An
    exception met while they are (a second signal's) stops the workers at once.
    """
    from emotag.ledger import Ledger

    check_ready()  # here, not in the workers: a worker that fails to start would cost every chunk an error line
    paths = yield from skip_known(paths, settings)
    if not paths or stop:
        return
    jobs = max(1, min(jobs, len(paths) // WORKER_MIN_PHOTOS))
    if jobs == 1:
        tagger = Tagger(settings, Ledger())
        try:
            for start in range(0, len(paths), BATCH_PHOTOS):
                if stop:
                    return
                yield from tag_chunk_safely(tagger, paths[start : start + BATCH_PHOTOS])
        finally:
            tagger.close()
        return
    size = max(1, min(BATCH_PHOTOS, len(paths) // (jobs * 4)))  # small enough that the workers finish together
    chunks = [paths[start : start + size] for start in range(0, len(paths), size)]
    yield from tag_in_workers(chunks, settings, jobs, stop)


def tag_in_workers(
    chunks: list[list[Path]], settings: Settings, jobs: int, stop: Stop = NEVER
) -> Iterator[PhotoResult]:
    """The chunks' results in order, from `jobs` worker processes each given a new chunk as soon as it is free."""
    workers = WorkerProcesses(jobs, settings)
    waiting: deque[Future] = deque()  # in the chunks' order
    left = iter(chunks)
    try:
        while True:
            while not stop and workers.has_room() and (chunk := next(left, None)) is not None:
                with workers_deaf_to_interrupts():  # a worker process may start now
                    waiting.append(workers.submit(chunk))
            if not waiting:
                return
            wait([future for future in waiting if not future.done()], return_when=FIRST_COMPLETED)
            while waiting and waiting[0].done():
                yield from waiting.popleft().result()
    except BaseException:  # a second signal, or the caller gone: no waiting for the chunks in hand
        workers.terminate()
        raise
    finally:
        workers.close()


def skip_known(paths: list[Path], settings: Settings) -> Generator[PhotoResult, None, list[Path]]:
    """Yield the results of photos the ledger knows as done; return the photos left to look at."""
    from emotag.expressions import model_version
    from emotag.ledger import Ledger

    if settings.force:
        return paths
    ledger, version, left = Ledger(), model_version(), []
    try:
        for path in paths:
            known = known_result(ledger, path, version, settings)
            if known:
                yield known
            else:
                left.append(path)
    finally:
        ledger.close()
    return left


def tag_chunk_safely(tagger: Tagger, chunk: list[Path]) -> list[PhotoResult]:
    """A chunk's results; an unexpected failure costs that chunk's photos an error line, never the run."""
    from emotag.expressions import ModelError

    try:
        return tagger.tag_batch(chunk)
    except ModelError:
        raise  # no model, no run: one clear message, not an error per photo
    except Exception as error:  # a bug or an environment failure: report it per photo and go on
        log.exception("unexpected failure on %d photos starting with %s", len(chunk), chunk[0])
        return [PhotoResult(str(path), "error", error=f"internal error: {error}") for path in chunk]


def start_worker_process(settings: Settings) -> None:
    """A worker process of `emotag tag`: it leaves Ctrl-C to the main process (which stops the run in order), and
    its warnings (a photo another program is writing) reach the terminal as the main process's do."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # blocked while it started; ignored from now on
    verbose = os.environ.get("EMOTAG_VERBOSE") == "1"  # set by `emotag -v`, inherited by the worker
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="emotag: %(message)s")
    start_worker(settings)


def start_worker(settings: Settings, ledger: bool = True) -> None:
    """In a worker process: one thread for the model (the workers are the parallelism), one Tagger."""
    global _worker
    os.environ.setdefault("EMOTAG_THREADS", "1")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from emotag.ledger import Ledger

    _worker = Tagger(settings, Ledger() if ledger else None)  # a Dask worker leaves the ledger to its client


def tag_chunk(chunk: list[Path]) -> list[PhotoResult]:
    """In a worker process: tag a chunk with that worker's Tagger."""
    assert _worker is not None
    return tag_chunk_safely(_worker, chunk)


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
        self._new = lambda: ProcessPoolExecutor(1, mp_context=context, initializer=initializer, initargs=(settings,))
        self._idle = [self._new() for _ in range(jobs)]  # each starts its process on its first chunk
        self._busy: set[ProcessPoolExecutor] = set()
        self._lock = threading.Lock()

    def has_room(self) -> bool:
        return bool(self._idle)

    def submit(self, chunk: list[Path]) -> Future:
        """Give `chunk` to a free worker (`has_room`). The future's result is the chunk's results, or an error line
        per photo if the worker died; it is set only once that worker, or its replacement, is free again."""
        with self._lock:
            executor = self._idle.pop()
            self._busy.add(executor)
        try:
            future = executor.submit(tag_chunk, chunk)
        except BrokenProcessPool:  # it died while idle
            with self._lock:
                self._busy.discard(executor)
                executor = self._new()
                self._busy.add(executor)
            future = executor.submit(tag_chunk, chunk)
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
            results.set_result([PhotoResult(str(path), "error", error=WORKER_LOST) for path in chunk])
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
