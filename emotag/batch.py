"""Feed many photos through the pipeline, in this process or in worker processes (one model each)."""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections.abc import Iterator
from pathlib import Path

from emotag.pipeline import BATCH_PHOTOS, PhotoResult, Settings, Tagger, check_ready

log = logging.getLogger("emotag")
_worker: Tagger | None = None


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def tag_photos(paths: list[Path], settings: Settings, jobs: int = 1) -> Iterator[PhotoResult]:
    """Results for `paths`, in order. With `jobs` > 1 each worker loads the model and ExifTool once."""
    from emotag.ledger import Ledger

    jobs = max(1, min(jobs, (len(paths) + BATCH_PHOTOS - 1) // BATCH_PHOTOS))
    check_ready()  # here, not in the workers: a worker that fails to start is started again, for ever
    if jobs == 1:
        tagger = Tagger(settings, Ledger())
        try:
            for start in range(0, len(paths), BATCH_PHOTOS):
                yield from tag_chunk_safely(tagger, paths[start : start + BATCH_PHOTOS])
        finally:
            tagger.close()
        return
    chunks = [paths[start : start + BATCH_PHOTOS] for start in range(0, len(paths), BATCH_PHOTOS)]
    context = multiprocessing.get_context("spawn")  # TensorFlow and forked threads do not mix
    with context.Pool(jobs, initializer=start_worker, initargs=(settings,)) as pool:
        for results in pool.imap(tag_chunk, chunks):
            yield from results


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


def start_worker(settings: Settings) -> None:
    """In a worker process: one thread for TensorFlow (the workers are the parallelism), one Tagger."""
    global _worker
    os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
    os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from emotag.ledger import Ledger

    _worker = Tagger(settings, Ledger())


def tag_chunk(chunk: list[Path]) -> list[PhotoResult]:
    """In a worker process: tag a chunk with that worker's Tagger."""
    assert _worker is not None
    return tag_chunk_safely(_worker, chunk)
