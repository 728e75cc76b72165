"""Feed many photos through the pipeline, in this process or in worker processes (one model each)."""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections.abc import Generator, Iterator
from pathlib import Path

from emotag.pipeline import BATCH_PHOTOS, PhotoResult, Settings, Tagger, check_ready, known_result

log = logging.getLogger("emotag")
_worker: Tagger | None = None
WORKER_MIN_PHOTOS = 8
"""A worker costs about a second to start (Python, the model, ExifTool): with fewer photos each, fewer workers."""


def default_jobs() -> int:
    from emotag.expressions import usable_cores

    return usable_cores()


def tag_photos(paths: list[Path], settings: Settings, jobs: int = 1) -> Iterator[PhotoResult]:
    """Results for `paths`: first those the ledger knows as done, then the others in order, as they are tagged.

    With `jobs` > 1 each worker loads the model and ExifTool once. A run over an archive that is already done
    starts neither.
    """
    from emotag.ledger import Ledger

    check_ready()  # here, not in the workers: a worker that fails to start is started again, for ever
    paths = yield from skip_known(paths, settings)
    if not paths:
        return
    jobs = max(1, min(jobs, len(paths) // WORKER_MIN_PHOTOS))
    if jobs == 1:
        tagger = Tagger(settings, Ledger())
        try:
            for start in range(0, len(paths), BATCH_PHOTOS):
                yield from tag_chunk_safely(tagger, paths[start : start + BATCH_PHOTOS])
        finally:
            tagger.close()
        return
    size = max(1, min(BATCH_PHOTOS, len(paths) // (jobs * 4)))  # small enough that the workers finish together
    chunks = [paths[start : start + size] for start in range(0, len(paths), size)]
    context = multiprocessing.get_context("spawn")  # LiteRT's and ExifTool's threads and forking do not mix
    with context.Pool(jobs, initializer=start_worker, initargs=(settings,)) as pool:
        for results in pool.imap(tag_chunk, chunks):
            yield from results


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
