"""Feed many photos through the pipeline, in this process or in worker processes (one model each): `emotag tag`."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

from emotag.expressions import model_version, usable_cores
from emotag.ledger import Ledger
from emotag.pipeline import BATCH_PHOTOS, Settings, Tagger, check_ready
from emotag.results import PhotoResult
from emotag.stopping import NEVER, Stop
from emotag.workers import InProcess, WorkerProcesses, chunked, feed, skip_known

log = logging.getLogger("emotag")
WORKER_MIN_PHOTOS = 8
"""A worker costs about a second to start (Python, the model, ExifTool): with fewer photos each, fewer workers."""


def default_jobs() -> int:
    return usable_cores()


def tag_photos(paths: list[Path], settings: Settings, jobs: int = 1, stop: Stop = NEVER) -> Iterator[PhotoResult]:
    """Results for `paths`: first those the ledger knows as done, then the others in order, as they are tagged.

    With `jobs` > 1 each worker loads the model and ExifTool once. A run over an archive that is already done
    starts neither. Once `stop` is requested no photo is started; those in hand are finished and reported. An
    exception met while they are (a second signal's) stops the workers at once.
    """
    check_ready()  # here, not in the workers: a worker that fails to start would cost every chunk an error line
    if not settings.force:
        ledger = Ledger()
        try:
            paths = yield from skip_known(paths, settings, ledger, model_version())
        finally:
            ledger.close()
    if not paths or stop:
        return
    jobs = max(1, min(jobs, len(paths) // WORKER_MIN_PHOTOS))
    if jobs == 1:
        tagger = Tagger(settings, Ledger())
        try:
            yield from feed(InProcess(tagger), chunked(paths, BATCH_PHOTOS), stop)
        finally:
            tagger.close()
        return
    size = max(1, min(BATCH_PHOTOS, len(paths) // (jobs * 4)))  # small enough that the workers finish together
    yield from feed(WorkerProcesses(jobs, settings), chunked(paths, size), stop)
