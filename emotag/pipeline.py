"""The one pipeline every command feeds: read photos, find faces, read expressions, decide and write tags.

`Tagger.run(paths)` yields one `PhotoResult` per photo. Photos go through in batches so that the faces of many
photos are read by the model in one call; each photo's failure stays that photo's.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Collection, Iterable, Iterator
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from pathlib import Path

from emotag.causes import describe, waiting_message
from emotag.config import DEFAULT_MAX_SIDE, DEFAULT_MIN_FACE, DEFAULT_SIDECAR
from emotag.corrections import EYES_CLOSED, eyes_closed_rejected, implied_roots, rejected_emotions
from emotag.discovery import check_photo
from emotag.emotions import EMOTIONS
from emotag.exiftool import MetadataError
from emotag.eyes import eyes_version
from emotag.faces import FaceFinder
from emotag.ledger import Ledger, NullLedger
from emotag.locks import photo_lock, remove_leftovers
from emotag.photos import PhotoError
from emotag.reading import FaceReader, FacesRead, face_record, face_result
from emotag.record import Metadata, TagRecord, faces_from_record, needs_write, supported_fields
from emotag.results import PhotoResult, Status
from emotag.sidecars import leftovers, metadata_target, naming_sidecar
from emotag.tags import (
    FaceReading,
    TagScheme,
    combined,
    decision_thresholds,
    eyes_closed_keywords,
    eyes_closed_label,
    keywords,
    photo_emotions,
    thresholds_text,
)
from emotag.timing import describe as describe_stages
from emotag.timing import stage, stage_seconds

log = logging.getLogger("emotag")

BATCH_PHOTOS = 16
READS_FACES = {"reads_faces": True}
"""Field metadata of a setting that changes which faces are found or how they are read: a photo this model
already read under other such settings is read again, not re-decided from its stored scores."""
RUN_ONLY = frozenset({"keep_mtime", "force", "dry_run", "exclude"})
"""Settings that say how a run goes (or which photos it meets: `exclude`), not what a photo's result is. Every
other setting decides the result, so a new one joins the fingerprint the ledger compares by being added to
`Settings`, with nothing else to do."""


@dataclass
class Settings:
    """Everything a run can be told; the defaults are emotag's documented choices."""

    min_confidence: float | None = None  # one threshold for every emotion, over `thresholds` and the model's
    thresholds: dict[str, float] = field(default_factory=dict)  # the user's own, per emotion
    scheme: TagScheme = field(default_factory=TagScheme)
    sidecar: str = DEFAULT_SIDECAR
    max_side: int = field(default=DEFAULT_MAX_SIDE, metadata=READS_FACES)
    min_face: int = field(default=DEFAULT_MIN_FACE, metadata=READS_FACES)
    keep_mtime: bool = False
    force: bool = False
    dry_run: bool = False
    sidecar_always: bool = False  # an XMP sidecar for every photo, so that no original is ever modified
    exclude: tuple[str, ...] = ()  # folders and files to leave alone, beside emotag.exclusions.LEFT_ALONE

    @classmethod
    def from_config(cls, config, force: bool = False, dry_run: bool = False) -> Settings:
        """A run's settings from the user's (an `emotag.config.Config`, the command line already laid over it):
        the settings both declare are taken by name, so a new one needs no line here."""
        shared = {f.name: getattr(config, f.name) for f in fields(cls) if hasattr(config, f.name)}
        leave_out = frozenset(emotion.lower() for emotion in config.leave_out)
        scheme = TagScheme(config.root, dict(config.labels), leave_out, config.flat, config.eyes_closed)
        return cls(
            **{**shared, "thresholds": dict(config.thresholds), "exclude": tuple(config.exclude)},
            scheme=scheme,
            force=force,
            dry_run=dry_run,
        )

    def deciding(self) -> dict:
        """The settings that decide a photo's result, by name: all but those of `RUN_ONLY`."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in RUN_ONLY}

    def face_settings(self) -> str:
        """The settings that decide which faces are found and read, as emotag records them in a photo."""
        chosen = {f.name: getattr(self, f.name) for f in fields(self) if f.metadata.get("reads_faces")}
        return " ".join(f"{name}={value}" for name, value in sorted(chosen.items()))

    def fingerprint(self) -> str:
        """The settings that decide what a photo's result is, and the eye reading's version (a photo read before
        eyes were, or by another eye reading, is looked at once more): a photo done under others is looked at again."""
        return json.dumps({**self.deciding(), "eyes_version": eyes_version()}, sort_keys=True, default=_plain)

    def exclusions(self):
        from emotag.exclusions import Exclusions

        return Exclusions(self.exclude)


def _plain(value):
    """A setting's value as JSON can hold it (a TagScheme, a set of emotions...)."""
    if is_dataclass(value):
        return asdict(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    return repr(value)


def check_ready() -> None:
    """Fail with one clear message when ExifTool or the model's description is missing, before any work."""
    import shutil

    from emotag.exiftool import EXIFTOOL_MISSING
    from emotag.expressions import ModelInfo, model_folder, runtime_file

    if shutil.which("exiftool") is None:
        raise MetadataError(EXIFTOOL_MISSING)
    runtime_file(model_folder(), ModelInfo.read(model_folder()))


def known_result(ledger, path: Path, version: str, settings: Settings, force: bool | None = None) -> PhotoResult | None:
    """The result of a photo the ledger knows as done under this model and settings, or as left untagged by the
    user, without opening it."""
    if settings.force if force is None else force:
        return None
    if ledger.is_left_untagged(path):
        return PhotoResult(str(path), Status.LEFT_UNTAGGED)
    done = ledger.is_done(path, version, settings.fingerprint())
    if not done:
        return None
    eyes = settings.scheme.eyes_closed
    tags = [tag for tag in done.tags if tag != eyes]
    return PhotoResult(str(path), Status.UNCHANGED, tags=tags, eyes_tag=eyes if eyes and eyes in done.tags else None)


class Tagger:
    """The models and the ExifTool process, loaded once, and the steps that use them."""

    def __init__(self, settings: Settings, ledger: Ledger | NullLedger | None = None):
        from emotag.expressions import model_thresholds, model_version

        self.settings = settings
        self.version = model_version()  # cheap: the network loads only when a face needs it
        self.thresholds = decision_thresholds(settings.min_confidence, settings.thresholds, model_thresholds())
        self.metadata = Metadata(keep_mtime=settings.keep_mtime)
        self.ledger = NullLedger() if ledger is None else ledger  # `top` and `show` read, and remember nothing
        self.reader = FaceReader(settings.max_side, settings.min_face, self.metadata.preview)

    @property
    def model(self):
        """The expression model (the watcher loads it before the first photo arrives)."""
        return self.reader.model

    @property
    def finder(self) -> FaceFinder:
        return self.reader.finder

    def close(self) -> None:
        log.info("time per stage in process %d: %s", os.getpid(), describe_stages(stage_seconds()))
        self.metadata.close()

    def run(self, paths: Iterable[Path]) -> Iterator[PhotoResult]:
        """Tag every photo; yields results in the order given."""
        batch: list[Path] = []
        for path in paths:
            batch.append(path)
            if len(batch) == BATCH_PHOTOS:
                yield from self.tag_batch(batch)
                batch = []
        if batch:
            yield from self.tag_batch(batch)

    def tag_batch(self, paths: list[Path], forced: Collection[Path] | None = None) -> list[PhotoResult]:
        """Tag a few photos, reading all their faces in one call to the model. `forced`: the photos to read and
        decide again whatever was done before (by default all or none, as `--force` says)."""
        pending: list[tuple[Path, Path, TagRecord, FacesRead, bool]] = []
        results: dict[Path, PhotoResult] = {}
        for path in paths:
            force = self.settings.force if forced is None else path in forced
            known = known_result(self.ledger, path, self.version, self.settings, force)
            if known:
                results[path] = known
                continue
            try:
                with stage("read tags"):
                    target, record = self.read_tags(path)
                if self.read_by_us(record) and not force and self.read_alike(record):
                    with stage("write tags"):
                        results[path] = self.retag_from_record(path, target, record)
                    continue
                pending.append((path, target, record, self.reader.look(path), force))
            except (PhotoError, MetadataError, OSError) as error:
                results[path] = PhotoResult(str(path), Status.ERROR, error=describe(error))
            except Exception as error:  # a bug or a library's failure on one odd file costs that photo alone
                log.exception("unexpected failure on %s", path)
                results[path] = PhotoResult(str(path), Status.ERROR, error=f"internal error: {describe(error)}")

        self.reader.classify([read for *_, read, _ in pending])
        for path, target, record, read, force in pending:
            try:
                with stage("write tags"):
                    results[path] = self.decide_and_write(path, target, record, read, force)
            except (MetadataError, OSError) as error:
                results[path] = PhotoResult(str(path), Status.ERROR, error=describe(error))
        return [results[path] for path in paths]

    def read_by_us(self, record: TagRecord) -> bool:
        """Whether this model and this eye reading read the photo's faces (else they are read again, once)."""
        return record.model_version == self.version and record.eyes_version == eyes_version()

    def read_tags(self, path: Path) -> tuple[Path, TagRecord]:
        """The file that holds the photo's tags, and what it holds now."""
        check_photo(path)
        target = metadata_target(path, self.settings.sidecar, self.settings.sidecar_always)
        with naming_sidecar(path, target):
            return target, self.metadata.read(target)

    def read_alike(self, record: TagRecord) -> bool:
        """Whether the photo's faces were found and read under the settings in force (a record from before emotag
        kept them was read under the defaults)."""
        return (record.face_settings or Settings().face_settings()) == self.settings.face_settings()

    def retag_from_record(self, path: Path, target: Path, record: TagRecord) -> PhotoResult:
        """A photo this model already read: decide its tags again from the stored scores (no model needed).

        Nothing is written unless the threshold or the keyword scheme changed since, or the user took one of
        emotag's keywords away (emotag then takes its other copies out too: see emotag/corrections.py).
        """
        stored = faces_from_record(record)
        readings = [FaceReading.from_scores([face.scores[e] for e in EMOTIONS]) for face in stored]
        emotions = self.settings.scheme.written(photo_emotions(readings, self.thresholds))
        closed = any(face.eyes == "closed" for face in stored)
        kept, ours, rejected = self.plan(target, record, emotions, False, closed)
        eyes_tag = self.eyes_tag(closed and EYES_CLOSED not in rejected)
        unchanged = record.thresholds == thresholds_text(self.thresholds) and set(rejected) == set(record.rejected)
        keywords_change = needs_write(target, record, ours)
        if unchanged and not keywords_change:
            labels = self.labels(kept)
            self._remember(path, Status.UNCHANGED, labels, eyes_tag)
            return PhotoResult(str(path), Status.UNCHANGED, tags=labels, eyes_tag=eyes_tag)
        if not self.settings.dry_run:
            faces = [
                {"box_normalised": face.box, "emotion": r.emotion, "confidence": r.confidence, "scores": r.scores}
                | {"eyes": face.eyes, "eyes_closed": face.eyes_closed}
                for face, r in zip(stored, readings)
            ]
            kept = self.write(path, target, emotions, faces, False, closed)
        return self.outcome(path, Status.UPDATED, record, kept, eyes_tag=eyes_tag, keywords_change=keywords_change)

    def decide_and_write(
        self, path: Path, target: Path, record: TagRecord, read: FacesRead, force: bool = False
    ) -> PhotoResult:
        """Decide a freshly read photo's tags and write them with emotag's record."""
        settings = self.settings
        photo, faces, readings, eyes = read.photo, read.faces, read.readings, read.eyes
        reported = [face_result(face, reading, eye) for face, reading, eye in zip(faces, readings, eyes)]
        known = [r for r in readings if r is not None]
        emotions = settings.scheme.written(photo_emotions(known, self.thresholds))
        closed = any(eye is not None and eye.state == "closed" for eye in eyes)
        eyes_tag = self.eyes_tag(
            closed and (force or not eyes_closed_rejected(record, settings.scheme, supported_fields(target)))
        )
        if not faces and not record.tagged:
            status = Status.NO_FACES
        elif faces and not known and not record.tagged:
            status = Status.SKIPPED
        else:
            status = Status.TAGGED
            if settings.dry_run:
                emotions = self.plan(target, record, emotions, force, closed)[0]
            else:
                stored = [
                    face_record(face, reading, photo, eye)
                    for face, reading, eye in zip(faces, readings, eyes)
                    if reading
                ]
                emotions = self.write(path, target, emotions, stored, force, closed)
        tagged = status == Status.TAGGED
        return self.outcome(path, status, record, emotions if tagged else [], reported, eyes_tag if tagged else None)

    def keywords(self, emotions: list[str], eyes_closed: bool) -> dict[str, list[str]]:
        """emotag's values for each keyword field: the emotions', then the closed-eyes keyword's."""
        ours = keywords(emotions, self.settings.scheme)
        return combined(ours, eyes_closed_keywords(self.settings.scheme)) if eyes_closed else ours

    def eyes_tag(self, eyes_closed: bool) -> str | None:
        """The closed-eyes keyword as `--json` names it (all its levels), when the photo gets it."""
        return self.settings.scheme.eyes_closed if eyes_closed and eyes_closed_label(self.settings.scheme) else None

    def outcome(
        self,
        path: Path,
        status: Status,
        record: TagRecord,
        emotions: list[str],
        faces=(),
        eyes_tag: str | None = None,
        keywords_change: bool = False,
    ) -> PhotoResult:
        """The photo's result, with emotag's tags it gained and lost (against what its record said), remembered.

        `keywords_change`: the write changed a keyword field beyond the emotions (the closed-eyes keyword turned
        off or renamed), so an update is one even when no emotion came or went."""
        labels = self.labels(emotions)
        before = record.labels if len(record.labels) == len(record.emotions) else self.labels(record.emotions)
        added = [label for label in labels if label not in before]
        removed = [label for label in before if label not in labels]
        if status == Status.UPDATED and not added and not removed and not keywords_change:
            status = Status.UNCHANGED  # only emotag's record changed (its threshold): the photo's tags are as they were
        self._remember(path, status, labels, eyes_tag)
        return PhotoResult(str(path), status, list(faces), labels, eyes_tag=eyes_tag, added=added, removed=removed)

    def labels(self, emotions: list[str]) -> list[str]:
        return [self.settings.scheme.label(e) for e in emotions]

    def plan(
        self, target: Path, record: TagRecord, emotions: list[str], force: bool, eyes_closed: bool = False
    ) -> tuple[list[str], dict, list[str]]:
        """What to write over `record`: the emotions kept (those the user rejected go, unless `force`), the
        keywords that say so, and the rejected emotions (with `EYES_CLOSED` when the user took the closed-eyes
        keyword away: it is then not written either)."""
        rejected = [] if force else rejected_emotions(record, self.settings.scheme, supported_fields(target))
        if not force and eyes_closed_rejected(record, self.settings.scheme, supported_fields(target)):
            rejected, eyes_closed = [*rejected, EYES_CLOSED], False
        kept = [emotion for emotion in emotions if emotion not in rejected]
        ours = implied_roots(record, self.keywords(kept, eyes_closed), self.settings.scheme)
        return kept, ours, rejected

    def write(
        self, path: Path, target: Path, emotions: list[str], faces: list[dict], force: bool, eyes_closed: bool = False
    ) -> list[str]:
        """Write under the photo's lock, merging with its tags as they are now: another emotag process, or the
        user, may have changed them since they were read, and a killed one may have left a temporary file.
        Returns the emotions written."""
        with photo_lock(path, on_wait=lambda: log.warning(waiting_message(path))), naming_sidecar(path, target):
            for attempt in (1, 2):
                for removed in remove_leftovers(leftovers(target)):
                    log.info("%s: removed %s, left by an interrupted write", path, removed.name)
                deaths = self.metadata.deaths
                try:
                    record = self.metadata.read(target, to_write=True)
                    kept, ours, rejected = self.plan(target, record, emotions, force, eyes_closed)
                    self.metadata.write(target, record, ours, self._own(kept, faces, rejected))
                    return kept
                except MetadataError:
                    if attempt == 2 or self.metadata.deaths == deaths:
                        raise  # a refusal, not ExifTool dying under the write: trying again changes nothing
        raise AssertionError("unreachable")

    def _own(self, emotions: list[str], faces: list[dict], rejected: list[str]) -> dict:
        return {
            "model_version": self.version,
            "thresholds": thresholds_text(self.thresholds),
            "eyes_version": eyes_version(),
            "emotions": emotions,
            "labels": self.labels(emotions),
            "rejected": rejected,
            "face_settings": self.settings.face_settings(),
            "faces": faces,
        }

    def _remember(self, path: Path, status: Status, tags: list[str], eyes_tag: str | None = None) -> None:
        if not self.settings.dry_run:
            tags = tags + [eyes_tag] if eyes_tag else tags
            self.ledger.record(path, self.version, status, self.settings.fingerprint(), tags)
