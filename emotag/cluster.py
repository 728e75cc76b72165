"""Tag on a Dask cluster: chunks of photo paths go out, the same `PhotoResult`s come back as they finish.

The photos stay where they are: every worker reads and writes them on storage it shares with the client, under
the same paths. Each worker process keeps one `Tagger` (model and ExifTool loaded once) through `emotag.batch`,
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
from concurrent.futures import CancelledError
from contextlib import contextmanager
from pathlib import Path

import dask
from dask.distributed import Client, KilledWorker, LocalCluster, WorkerPlugin, as_completed

from emotag import batch
from emotag.errors import EmotagError
from emotag.expressions import model_version
from emotag.ledger import Ledger
from emotag.pipeline import BATCH_PHOTOS, PhotoResult, Settings, known_result

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
    """No Dask scheduler answered at the address given."""


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


def tag_on_cluster(
    client, paths: list[Path], settings: Settings, stop: batch.Stop = batch.NEVER
) -> Iterator[PhotoResult]:
    """Results for `paths` as they finish: ledger hits at once, the rest from the workers, each recorded. Once
    `stop` is requested nothing more is sent; the chunks out are waited for."""
    version = model_version()
    ledger = Ledger()
    sent: dict = {}  # future -> its chunk
    running = as_completed(loop=client.loop)
    work = pending_work(paths, ledger, version, settings)
    try:
        yield from refill(client, running, sent, work, settings, stop)
        for future in running:
            chunk = sent.pop(future)
            for result in chunk_results(client, future, chunk, settings, running, sent, version):
                if not settings.dry_run and result.status != "error":
                    ledger.record(Path(result.path), version, result.status, settings.fingerprint(), result.tags)
                yield result
            yield from refill(client, running, sent, work, settings, stop)
    finally:
        if sent:
            client.cancel(list(sent))
        ledger.close()


def pending_work(paths: list[Path], ledger, version: str, settings: Settings) -> Iterator[PhotoResult | list[Path]]:
    """Photos the ledger knows as done (as results), and chunks of the others (to send)."""
    chunk: list[Path] = []
    for path in paths:
        known = known_result(ledger, path, version, settings)
        if known:
            yield known
            continue
        chunk.append(path)
        if len(chunk) == BATCH_PHOTOS:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def refill(
    client, running, sent: dict, work: Iterator, settings: Settings, stop: batch.Stop = batch.NEVER
) -> Iterator[PhotoResult]:
    """Send chunks until every worker thread has a few in hand; pass on the ledger's results met on the way."""
    wanted = CHUNKS_PER_THREAD * max(1, worker_threads(client))
    while not stop and running.count() < wanted:
        item = next(work, None)
        if item is None:
            return
        if isinstance(item, PhotoResult):
            yield item
        else:
            send(client, item, settings, running, sent)


def send(client, chunk: list[Path], settings: Settings, running, sent: dict) -> None:
    """Send a chunk as absolute paths: a worker on another machine does not share this one's working folder."""
    absolute = [path.absolute() for path in chunk]
    future = client.submit(tag_chunk_on_worker, absolute, settings, pure=False, retries=RETRIES)
    sent[future] = chunk
    running.add(future)


def chunk_results(client, future, chunk, settings, running, sent: dict, version: str) -> list[PhotoResult]:
    """A finished chunk's results. A chunk that killed workers again and again is sent again photo by photo."""
    try:
        worker_version, results = future.result()
    except KilledWorker:
        if len(chunk) > 1:
            log.warning("workers died on %d photos starting with %s; sending them one by one", len(chunk), chunk[0])
            for path in chunk:
                send(client, [path], settings, running, sent)
            return []
        return [PhotoResult(str(chunk[0]), "error", error="a worker died reading this photo, every time it tried")]
    except CancelledError:
        raise ClusterError("the Dask scheduler went away; run the same command again to finish what is left") from None
    except (OSError, TimeoutError) as error:
        raise ClusterError(f"lost the Dask cluster ({first_line(error)}); run the same command again") from None
    if worker_version != version:
        raise ClusterError(
            f"a worker reads with model {worker_version}, this machine with {version}: "
            "install the same emotag on every machine"
        )
    for path, result in zip(chunk, results):
        result.path = str(path)  # as the user named it, as a local run reports it
    return results


def tag_chunk_on_worker(chunk: list[Path], settings: Settings) -> tuple[str, list[PhotoResult]]:
    """On a worker: tag a chunk with this process's Tagger, loaded once (again only when the settings change)."""
    global _settings
    with _lock:  # one Tagger (one ExifTool) per process, even on a worker started with several threads
        if settings != _settings:
            batch.stop_worker()
            batch.start_worker(settings, ledger=False)
            _settings = settings
        return model_version(), batch.tag_chunk(chunk)


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
        batch.stop_worker()
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
