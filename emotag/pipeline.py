"""The one pipeline every command feeds: read photos, find faces, read expressions, decide and write tags.

`Tagger.run(paths)` yields one `PhotoResult` per photo. Photos go through in batches so that the faces of many
photos are read by the model in one call; each photo's failure stays that photo's.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import stat
from collections.abc import Collection, Iterable, Iterator
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from pathlib import Path

import numpy as np

from emotag.corrections import EYES_CLOSED, eyes_closed_rejected, implied_roots, rejected_emotions
from emotag.emotions import EMOTIONS
from emotag.eyes import EyeReader, EyeReading, eyes_version
from emotag.faces import DEFAULT_MIN_FACE, Face, FaceFinder
from emotag.locks import photo_lock, remove_leftovers
from emotag.metadata import (
    Metadata,
    MetadataError,
    TagRecord,
    leftovers,
    metadata_target,
    supported_fields,
    writable,
)
from emotag.photos import DEFAULT_MAX_SIDE, Photo, PhotoError, is_photo, read_photo
from emotag.results import FaceResult, PhotoResult
from emotag.tags import (
    FaceReading,
    TagScheme,
    combined,
    decision_thresholds,
    eyes_closed_keywords,
    eyes_closed_label,
    keywords,
    merge,
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
    sidecar: str = "darktable"
    max_side: int = field(default=DEFAULT_MAX_SIDE, metadata=READS_FACES)
    min_face: int = field(default=DEFAULT_MIN_FACE, metadata=READS_FACES)
    keep_mtime: bool = False
    force: bool = False
    dry_run: bool = False
    sidecar_always: bool = False  # an XMP sidecar for every photo, so that no original is ever modified
    exclude: tuple[str, ...] = ()  # folders and files to leave alone, beside emotag.exclusions.LEFT_ALONE

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


def find_photos(paths: Iterable[Path], exclusions=None) -> Iterator[Path]:
    """Photos under `paths`: files as given, folders walked recursively, each photo once.

    Hidden files and folders are skipped, and so are the folders and files `exclusions` leaves alone (by default
    those NAS systems and photo managers keep for themselves: `emotag.exclusions`); symbolic links found in a
    folder are not followed (so a link out of the tree, or a loop, is never walked); a link named on the command
    line is. A folder that cannot be listed is yielded itself, so that it is reported like a photo that cannot be
    read.
    """
    from emotag.exclusions import Exclusions

    exclusions = exclusions or Exclusions()
    seen: set[str] = set()
    for path in paths:
        for photo in _walk(path, exclusions) if path.is_dir() else [path]:
            key = os.path.realpath(photo)
            if key not in seen:
                seen.add(key)
                yield photo


def _walk(folder: Path, exclusions) -> Iterator[Path]:
    unlisted: list[OSError] = []
    for root, folders, files in os.walk(folder, onerror=unlisted.append, followlinks=False):
        yield from (Path(error.filename) for error in unlisted)
        unlisted.clear()
        below = os.path.relpath(root, folder)

        def left_alone(name: str, root=root, below=below) -> bool:
            inside = name if below == "." else f"{below}/{name}"
            return name.startswith(".") or exclusions.leaves_out(name, inside, os.path.join(root, name))

        folders[:] = sorted(f for f in folders if not left_alone(f) and not os.path.islink(os.path.join(root, f)))
        for name in sorted(files):
            path = Path(root, name)
            if not left_alone(name) and is_photo(path) and not path.is_symlink():
                yield path
    yield from (Path(error.filename) for error in unlisted)


def check_ready() -> None:
    """Fail with one clear message when ExifTool or the model's description is missing, before any work."""
    import shutil

    from emotag.expressions import ModelInfo, model_folder, runtime_file
    from emotag.metadata import EXIFTOOL_MISSING

    if shutil.which("exiftool") is None:
        raise MetadataError(EXIFTOOL_MISSING)
    runtime_file(model_folder(), ModelInfo.read(model_folder()))


def known_result(ledger, path: Path, version: str, settings: Settings, force: bool | None = None) -> PhotoResult | None:
    """The result of a photo the ledger knows as done under this model and settings, or as left untagged by the
    user, without opening it."""
    if (settings.force if force is None else force) or ledger is None:
        return None
    if ledger.is_left_untagged(path):
        return PhotoResult(str(path), "left_untagged")
    done = ledger.is_done(path, version, settings.fingerprint())
    if not done:
        return None
    eyes = settings.scheme.eyes_closed
    tags = [tag for tag in done.tags if tag != eyes]
    return PhotoResult(str(path), "unchanged", tags=tags, eyes_tag=eyes if eyes and eyes in done.tags else None)


class Tagger:
    """The models and the ExifTool process, loaded once, and the steps that use them."""

    def __init__(self, settings: Settings, ledger=None):
        from emotag.expressions import model_thresholds, model_version

        self.settings = settings
        self.version = model_version()  # cheap: the network loads only when a face needs it
        self.thresholds = decision_thresholds(settings.min_confidence, settings.thresholds, model_thresholds())
        self.metadata = Metadata(keep_mtime=settings.keep_mtime)
        self.ledger = ledger
        self._finder: FaceFinder | None = None
        self._eye_reader: EyeReader | None = None

    @property
    def model(self):
        """The expression model, loaded on first use (photos already tagged never need it)."""
        from emotag.expressions import shipped_model

        return shipped_model()

    @property
    def finder(self) -> FaceFinder:
        if self._finder is None:
            self._finder = FaceFinder(min_face=self.settings.min_face)
        return self._finder

    @property
    def eye_reader(self) -> EyeReader:
        if self._eye_reader is None:
            self._eye_reader = EyeReader()
        return self._eye_reader

    def read_eyes(self, photo: Photo, faces: list[Face]) -> list[EyeReading | None]:
        """Each readable face's eyes (None for a face too small to read, or whose eyes cannot be told)."""
        return [self.eye_reader.read_face(photo, face) if face.readable else None for face in faces]

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
        pending: list[tuple[Path, Path, TagRecord, Photo, list[Face], list[EyeReading | None], bool]] = []
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
                with stage("decode"):
                    photo = read_photo(path, self.settings.max_side, self.metadata.preview)
                faces = self.finder.find(photo)
                pending.append((path, target, record, photo, faces, self.read_eyes(photo, faces), force))
            except (PhotoError, MetadataError, OSError) as error:
                results[path] = PhotoResult(str(path), "error", error=describe(error))
            except Exception as error:  # a bug or a library's failure on one odd file costs that photo alone
                log.exception("unexpected failure on %s", path)
                results[path] = PhotoResult(str(path), "error", error=f"internal error: {describe(error)}")

        readable = [face.crop for *_, faces, _, _ in pending for face in faces if face.readable]
        with stage("classify"):
            scores = iter(self.model.classify(np.stack(readable)) if readable else [])
        for path, target, record, photo, faces, eyes, force in pending:
            readings = [FaceReading.from_scores(next(scores)) if face.readable else None for face in faces]
            try:
                with stage("write tags"):
                    results[path] = self.decide_and_write(path, target, record, photo, faces, readings, eyes, force)
            except (MetadataError, OSError) as error:
                results[path] = PhotoResult(str(path), "error", error=describe(error))
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
        readings = [FaceReading.from_scores([face["scores"][e] for e in EMOTIONS]) for face in stored]
        emotions = self.settings.scheme.written(photo_emotions(readings, self.thresholds))
        closed = any(face.get("eyes") == "closed" for face in stored)
        kept, ours, rejected = self.plan(target, record, emotions, False, closed)
        eyes_tag = self.eyes_tag(closed and EYES_CLOSED not in rejected)
        unchanged = record.thresholds == thresholds_text(self.thresholds) and set(rejected) == set(record.rejected)
        keywords_change = needs_write(target, record, ours)
        if unchanged and not keywords_change:
            labels = self.labels(kept)
            self._remember(path, "unchanged", labels, eyes_tag)
            return PhotoResult(str(path), "unchanged", tags=labels, eyes_tag=eyes_tag)
        if not self.settings.dry_run:
            faces = [
                {"box_normalised": face["box"], "emotion": r.emotion, "confidence": r.confidence, "scores": r.scores}
                | {"eyes": face.get("eyes"), "eyes_closed": face.get("eyes_closed")}
                for face, r in zip(stored, readings)
            ]
            kept = self.write(path, target, emotions, faces, False, closed)
        return self.outcome(path, "updated", record, kept, eyes_tag=eyes_tag, keywords_change=keywords_change)

    def decide_and_write(self, path, target, record, photo, faces, readings, eyes, force=False) -> PhotoResult:
        """Decide a freshly read photo's tags and write them with emotag's record."""
        settings = self.settings
        reported = [face_result(face, reading, eye) for face, reading, eye in zip(faces, readings, eyes)]
        known = [r for r in readings if r is not None]
        emotions = settings.scheme.written(photo_emotions(known, self.thresholds))
        closed = any(eye is not None and eye.state == "closed" for eye in eyes)
        eyes_tag = self.eyes_tag(
            closed and (force or not eyes_closed_rejected(record, settings.scheme, supported_fields(target)))
        )
        if not faces and not record.tagged:
            status = "no_faces"
        elif faces and not known and not record.tagged:
            status = "skipped"
        else:
            status = "tagged"
            if settings.dry_run:
                emotions = self.plan(target, record, emotions, force, closed)[0]
            else:
                stored = [
                    _face_record(face, reading, photo, eye)
                    for face, reading, eye in zip(faces, readings, eyes)
                    if reading
                ]
                emotions = self.write(path, target, emotions, stored, force, closed)
        tagged = status == "tagged"
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
        status: str,
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
        if status == "updated" and not added and not removed and not keywords_change:
            status = "unchanged"  # only emotag's record changed (its threshold): the photo's tags are as they were
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

    def _remember(self, path: Path, status: str, tags: list[str], eyes_tag: str | None = None) -> None:
        if self.ledger and not self.settings.dry_run:
            tags = tags + [eyes_tag] if eyes_tag else tags
            self.ledger.record(path, self.version, status, self.settings.fingerprint(), tags)


def waiting_message(path: Path) -> str:
    """What a person is told while emotag waits for another program to finish writing a photo."""
    from emotag.locks import WAIT_SECONDS

    shown = os.fsencode(path).decode("utf-8", "backslashreplace").encode("unicode_escape").decode("ascii")
    return f"{shown}: another program is writing this photo; waiting up to {WAIT_SECONDS:g} s"


@contextlib.contextmanager
def naming_sidecar(photo: Path, target: Path) -> Iterator[None]:
    """Say which file a metadata error is about when it is the photo's sidecar, not the photo."""
    try:
        yield
    except MetadataError as error:
        if target.suffix.lower() != ".xmp" or photo.suffix.lower() == ".xmp":
            raise  # the photo itself (or the file a link to it points to)
        raise MetadataError(f"sidecar {target.name}: {error}") from None


def check_photo(path: Path) -> None:
    """Refuse, in one line, a path that is gone, is not a plain file, or is not a photo emotag reads."""
    try:
        found = path.stat()
    except OSError as error:
        raise PhotoError(_missing(path, error)) from None
    if stat.S_ISDIR(found.st_mode):
        try:
            os.scandir(path).close()
        except OSError as error:
            raise PhotoError(f"cannot look into this folder: {describe(error)}") from None
        raise PhotoError("is a folder, not a photo")
    if not stat.S_ISREG(found.st_mode):
        raise PhotoError("not a regular file (a device, pipe or socket), so not a photo")
    if not is_photo(path):
        raise PhotoError(f"not a photo format emotag reads ({path.suffix or 'no suffix'})")
    try:
        os.close(os.open(path, os.O_RDONLY | os.O_NONBLOCK))  # say "permission denied", not ExifTool's "opening"
    except OSError as error:
        raise PhotoError(describe(error)) from None


def _missing(path: Path, error: OSError) -> str:
    """Why a path cannot be looked at: gone, a link to nowhere, a link loop, or not allowed."""
    if error.errno == errno.ELOOP:
        return "symbolic link loop"
    if isinstance(error, FileNotFoundError) and path.is_symlink():
        return "symbolic link to a file that does not exist"
    return describe(error)


def needs_write(target: Path, record: TagRecord, ours: dict[str, list[str]]) -> bool:
    """Whether writing `ours` would change any keyword field or emotag's record of what it added."""
    ours = writable(record, ours)
    for name in supported_fields(target):
        current = record.fields.get(name, [])
        new, added = merge(current, record.added.get(name, []), ours.get(name, []))
        if new != current or added != record.added.get(name, []):
            return True
    return False


def face_result(face: Face, reading: FaceReading | None, eyes: EyeReading | None = None) -> FaceResult:
    if reading is None:
        return FaceResult(list(face.box))
    scores = {e: round(s, 4) for e, s in reading.scores.items()}
    result = FaceResult(list(face.box), reading.emotion, round(reading.confidence, 4), scores)
    if eyes is not None:
        result.eyes, result.eyes_closed = eyes.state, round(eyes.closed, 4)
    return result


def _face_record(face: Face, reading: FaceReading, photo: Photo, eyes: EyeReading | None = None) -> dict:
    left, top, width, height = face.box
    return {
        "box_normalised": (left / photo.width, top / photo.height, width / photo.width, height / photo.height),
        "emotion": reading.emotion,
        "confidence": reading.confidence,
        "scores": reading.scores,
        "eyes": eyes.state if eyes else None,
        "eyes_closed": eyes.closed if eyes else None,
    }


def describe(error: BaseException) -> str:
    """A one-line cause for a person."""
    if isinstance(error, PermissionError):
        return "permission denied"
    if isinstance(error, FileNotFoundError):
        return "file vanished or does not exist"
    if isinstance(error, OSError) and error.strerror:
        return error.strerror.lower()
    return str(error).splitlines()[0] if str(error) else type(error).__name__


@dataclass
class PhotoFaces:
    """A photo's faces with all seven scores and boxes normalised to the displayed photo (for `top`, `show`)."""

    path: Path
    faces: list[dict] = field(default_factory=list)  # {"box": [x, y, w, h] in 0..1, "scores": {...}, "eyes", ...}
    error: str | None = None


def faces_from_record(record: TagRecord) -> list[dict]:
    """The faces emotag stored in a photo's metadata."""
    faces = []
    for stored in record.faces:
        try:
            box = [float(stored[k]) for k in ("X", "Y", "W", "H")]
            scores = {e: float(stored.get(e.capitalize(), 0.0)) for e in EMOTIONS}
        except (KeyError, TypeError, ValueError):
            continue
        eyes = stored.get("Eyes")
        faces.append({"box": box, "scores": scores} | _stored_eyes(eyes, stored.get("EyesClosed")))
    return faces


def _stored_eyes(eyes, closed) -> dict:
    """A stored face's eyes: "open", "closed" or None (cannot be told, or not read: an older record)."""
    try:
        score = None if closed is None else float(closed)
    except (TypeError, ValueError):
        score = None
    state = eyes if eyes in ("open", "closed") else None
    return {"eyes": state, "eyes_closed": score if state else None}


def read_faces(
    tagger: Tagger, paths: list[Path], use_tags: bool = True, need_eyes: bool = False
) -> Iterator[PhotoFaces]:
    """Each photo's faces: from emotag's tags where the photo carries them, else read now (nothing written).

    With `need_eyes`, tags written before emotag read eyes are not enough: such a photo is read now."""
    for start in range(0, len(paths), BATCH_PHOTOS):
        looked = []
        for path in paths[start : start + BATCH_PHOTOS]:
            try:
                if use_tags:
                    _, record = tagger.read_tags(path)
                    if record.tagged and not (need_eyes and record.eyes_version is None):
                        looked.append(PhotoFaces(path, faces_from_record(record)))
                        continue
                else:
                    check_photo(path)
                photo = read_photo(path, tagger.settings.max_side, tagger.metadata.preview)
                faces = [f for f in tagger.finder.find(photo) if f.readable]
                looked.append((path, photo, faces, tagger.read_eyes(photo, faces)))
            except (PhotoError, MetadataError, OSError) as error:
                looked.append(PhotoFaces(path, error=describe(error)))
        crops = [face.crop for item in looked if isinstance(item, tuple) for face in item[2]]
        scores = iter(tagger.model.classify(np.stack(crops)) if crops else [])
        for item in looked:
            if isinstance(item, PhotoFaces):
                yield item
                continue
            path, photo, faces, eyes = item
            found = []
            for face, eye in zip(faces, eyes):
                reading = FaceReading.from_scores(next(scores))
                record = _face_record(face, reading, photo, eye)
                found.append(
                    {"box": list(record["box_normalised"]), "scores": reading.scores}
                    | {"eyes": record["eyes"], "eyes_closed": record["eyes_closed"]}
                )
            yield PhotoFaces(path, found)
