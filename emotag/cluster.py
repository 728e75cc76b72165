"""Tag on a Dask cluster: chunks of photo paths go out, the same `PhotoResult`s come back as they finish.

The photos stay where they are: every worker reads and writes them on storage it shares with the client, under
the same paths. Each worker process keeps one `Tagger` (model and ExifTool loaded once) through `emotag.workers`,
exactly as `--jobs` workers do. The safety rules of `emotag tag` hold because they live in the pipeline:

- A worker that dies loses nothing: ExifTool writes into a temporary file renamed over the photo, and Dask runs
  the chunk again elsewhere (a chunk that keeps killing workers is split into single photos, so one bad photo
  costs only its own error line).
- A photo tagged twice ends with the same tags: a photo's own record says this model read it, so the second
  time only re-decides from the stored scores, and emotag's values replace emotag's values.
- The ledger belongs to the client. Workers never open one (they may sit on other machines, and SQLite over a
  network share is unsafe); the client skips the photos its ledger knows as done before sending anything, and
  records each result as it arrives. Photos a stopped run wrote but never recorded are found done by their own
  record, at the cost of one metadata read.

Dask is imported only here, and this module only by `emotag tag --cluster`: without it, Dask is never loaded.
"""

from __future__ import annotations

import atexit
import logging
import os
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import CancelledError, Future
from contextlib import contextmanager
from pathlib import Path

import dask
from dask.distributed import Client, KilledWorker, LocalCluster, WorkerPlugin

from emotag import workers
from emotag.errors import EmotagError
from emotag.expressions import model_version
from emotag.eyes import eyes_version
from emotag.ledger import Ledger
from emotag.pipeline import BATCH_PHOTOS, Settings
from emotag.results import PhotoResult, Status
from emotag.stopping import NEVER, Stop
from emotag.workers import chunked, feed, skip_known

log = logging.getLogger("emotag")

RETRIES = 2  # a chunk whose task raises (a worker without ExifTool, say) is tried again, perhaps elsewhere
CHUNKS_PER_THREAD = 2  # chunks in flight per worker thread: enough to keep workers busy, few enough to resume

# Dask samples each worker's stack every 10 ms for the dashboard's profile: 7% of a worker's CPU in one measurement
# of emotag's work (bench/README.md). Local clusters go without; remote workers' operators choose.
LOCAL_WORKER_CONFIG = {"distributed.worker.profile.enabled": False}

_lock = threading.Lock()
_settings: Settings | None = None


class ClusterError(EmotagError):
    """The cluster failed the run: one line for a person."""


class ClusterUnreachable(ClusterError):
    """No Dask scheduler answered at the address given: nothing was done, as with a misused command."""

    exit_status = 2


SCHEMES = ("tcp", "tls", "ws", "wss", "ucx")
"""The protocols a Dask scheduler listens on."""


def parse_cluster(spec: str) -> int | str:
    """`local:N` as the number of local workers N, else a scheduler address; ValueError says what is wrong.

    An address is checked whole here (scheme, host, port), so a mistyped one is one line at once, not Dask's
    half-minute wait and traceback."""
    if spec.startswith("local:"):
        count = spec.removeprefix("local:")
        if not count.isdigit() or int(count) < 1:
            raise ValueError(f"{spec!r}: local:N needs a number of workers N of at least 1")
        return int(count)
    example = "give a scheduler address such as tcp://host:8786, or local:N"
    if not spec.strip() or any(character.isspace() for character in spec):
        raise ValueError(f"{spec!r}: {example}")
    scheme, separator, rest = spec.partition("://")
    if not separator:
        if ":" not in spec:
            raise ValueError(f"{spec!r} is not a scheduler address: {example}")
        scheme, rest = "tcp", spec  # Dask takes host:port as tcp://host:port
    if scheme not in SCHEMES:
        raise ValueError(f"{spec!r}: unknown protocol {scheme!r} (known: {', '.join(SCHEMES)}); {example}")
    host, colon, port = rest.rpartition(":")
    if not colon or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(
            f"{spec!r}: the scheduler's port is missing or not a port number (Dask's is 8786: "
            f"{scheme}://{(host if colon else rest) or 'host'}:8786)"
        )
    if not host.strip("[]") or "/" in host:
        raise ValueError(f"{spec!r}: no host name; {example}")
    return spec


@contextmanager
def connect(spec: str) -> Iterator[Client]:
    """A Dask client for `spec`: a local cluster of N single-thread worker processes, or a running scheduler."""
    target = parse_cluster(spec)
    quiet_dask()
    if isinstance(target, int):
        dashboard = ":0" if log.isEnabledFor(logging.INFO) else None  # its address is shown only under -v
        with dask.config.set(LOCAL_WORKER_CONFIG):
            cluster = LocalCluster(n_workers=target, threads_per_worker=1, processes=True, dashboard_address=dashboard)
        with cluster, Client(cluster, set_as_default=False) as client:
            log.info("local Dask cluster of %d workers; dashboard %s", target, client.dashboard_link)
            client.register_plugin(TaggerCloser(), name=TaggerCloser.name)
            yield client
        return
    try:
        client = Client(target, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as error:
        raise ClusterUnreachable(f"cannot reach a Dask scheduler at {target} ({first_line(error)})") from None
    with client:
        client.register_plugin(TaggerCloser(), name=TaggerCloser.name)
        log.info(
            "connected to %s, %d worker threads; dashboard %s", target, worker_threads(client), client.dashboard_link
        )
        yield client


def tag_on_cluster(client, paths: list[Path], settings: Settings, stop: Stop = NEVER) -> Iterator[PhotoResult]:
    """Results for `paths` as they finish: ledger hits at once, the rest from the workers, each recorded. Once
    `stop` is requested nothing more is sent; the chunks out are waited for."""
    version = model_version()
    ledger = Ledger()
    try:
        left = yield from skip_known(paths, settings, ledger, version)
        feeder = DaskWorkers(client, settings, reading_versions())
        for result in feed(feeder, chunked(left, BATCH_PHOTOS), stop, ordered=False):
            if not settings.dry_run and result.status != Status.ERROR:
                ledger.record(Path(result.path), version, result.status, settings.fingerprint(), result.tags)
            yield result
    finally:
        ledger.close()


def reading_versions() -> str:
    """What reads faces here: every worker must read them alike, or the photos it tagged would be read again by
    the next local run (emotag's record holds both versions)."""
    return f"model {model_version()}, eye reading {eyes_version()}"


class DaskWorkers:
    """The cluster's workers as a feeder (`emotag.workers.Feeder`): a chunk goes out as absolute paths, its results
    come back under the paths the user named. A chunk that killed workers again and again goes out photo by photo."""

    def __init__(self, client, settings: Settings, version: str):
        self.client = client
        self.settings = settings
        self.version = version
        self.wanted = CHUNKS_PER_THREAD * max(1, worker_threads(client))
        self._out: set = set()  # Dask's futures not yet back
        self._lock = threading.Lock()

    def has_room(self) -> bool:
        """Room until every worker thread has a few chunks in hand."""
        return len(self._out) < self.wanted

    def submit(self, chunk: list[Path], forced=None) -> Future:
        results: Future = Future()
        absolute = [path.absolute() for path in chunk]  # a worker elsewhere does not share this working folder
        future = self.client.submit(tag_chunk_on_worker, absolute, self.settings, pure=False, retries=RETRIES)
        with self._lock:
            self._out.add(future)
        future.add_done_callback(lambda done: self._finish(done, chunk, results))
        return results

    def _finish(self, done, chunk: list[Path], results: Future) -> None:
        """In Dask's callback thread: a chunk is back, or failed (the run's loop raises the failure)."""
        with self._lock:
            self._out.discard(done)
        try:
            found = self._results(done, chunk, results)
        except BaseException as error:  # a ClusterError, or a bug: never a chunk waited for forever
            results.set_exception(error)
            return
        if found is not None:
            results.set_result(found)

    def _results(self, done, chunk: list[Path], results: Future) -> list[PhotoResult] | None:
        """A finished chunk's results; None for one sent again photo by photo (they set `results` when back)."""
        try:
            worker_version, found = done.result()
        except KilledWorker:
            if len(chunk) > 1:
                log.warning("workers died on %d photos starting with %s; sending them one by one", len(chunk), chunk[0])
                all_of([self.submit([path]) for path in chunk], results)
                return None
            error = "a worker died reading this photo, every time it tried"
            return [PhotoResult(str(chunk[0]), Status.ERROR, error=error)]
        except CancelledError:
            raise ClusterError(
                "the Dask scheduler went away; run the same command again to finish what is left"
            ) from None
        except (OSError, TimeoutError) as error:
            raise ClusterError(f"lost the Dask cluster ({first_line(error)}); run the same command again") from None
        if worker_version != self.version:
            raise ClusterError(
                f"a worker reads with {worker_version}, this machine with {self.version}: "
                "install the same emotag on every machine"
            )
        for path, result in zip(chunk, found):
            result.path = str(path)  # as the user named it, as a local run reports it
        return found

    def close(self) -> None:
        pass

    def terminate(self) -> None:
        """Take back what is out (a stop, or the run failing)."""
        with self._lock:
            out, self._out = list(self._out), set()
        if out:
            self.client.cancel(out)


def all_of(parts: list[Future], results: Future) -> None:
    """Set `results` to the parts' results joined, in order, once all are back (or to the first failure)."""
    left = [len(parts)]
    lock = threading.Lock()

    def one_back(_done: Future) -> None:
        with lock:
            left[0] -= 1
            if left[0]:
                return
        failed = next((part.exception() for part in parts if part.exception() is not None), None)
        if failed is not None:
            results.set_exception(failed)
        else:
            results.set_result([result for part in parts for result in part.result()])

    for part in parts:
        part.add_done_callback(one_back)


def tag_chunk_on_worker(chunk: list[Path], settings: Settings) -> tuple[str, list[PhotoResult]]:
    """On a worker: tag a chunk with this process's Tagger, loaded once (again only when the settings change)."""
    global _settings
    with _lock:  # one Tagger (one ExifTool) per process, even on a worker started with several threads
        if settings != _settings:
            workers.stop_worker()
            workers.start_worker(settings, ledger=False)
            _settings = settings
        return reading_versions(), workers.tag_chunk(chunk)


class TaggerCloser(WorkerPlugin):
    """A Dask worker plugin: a worker that closes shuts its Tagger's ExifTool down in order, then exits at once.

    A process's exit handlers can take seconds (TensorFlow's took 2 s here, more under load): long enough for
    Dask's nanny to kill the process with a warning. By then nothing is left to lose: ExifTool has finished its last
    write, and the worker has told the scheduler it is gone.
    """

    name = "emotag-tagger"
    idempotent = True  # a second client (run) leaves the workers' plugin as it is

    def teardown(self, worker) -> None:
        global _settings
        workers.stop_worker()
        _settings = None
        atexit.register(exit_now)  # runs first, before native libraries' exit handlers


def exit_now() -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def quiet_dask() -> None:
    """Dask's own log (workers starting and dying, reconnections, their tracebacks) is for operators: shown under
    `emotag -v` only. A person gets emotag's one line about what it means for the run."""
    if not log.isEnabledFor(logging.INFO):
        for name in list(logging.Logger.manager.loggerDict):  # Dask gives some of its loggers levels of their own
            if name.split(".")[0] in ("distributed", "bokeh", "tornado"):
                logging.getLogger(name).setLevel(logging.CRITICAL)


def worker_threads(client) -> int:
    return sum(client.nthreads().values())


def first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
