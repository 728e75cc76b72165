"""The one pipeline every command feeds: read photos, find faces, read expressions, decide and write tags.

`Tagger.run(paths)` yields one `PhotoResult` per photo. Photos go through in batches so that the faces of many
photos are read by the model in one call; each photo's failure stays that photo's.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from emotag.faces import Face, FaceFinder
from emotag.metadata import Metadata, MetadataError, TagRecord, metadata_target
from emotag.photos import DEFAULT_MAX_SIDE, Photo, PhotoError, is_photo, read_photo
from emotag.tags import DEFAULT_MIN_CONFIDENCE, FaceReading, TagScheme, keywords, photo_emotions

log = logging.getLogger("emotag")

BATCH_PHOTOS = 16
STATUSES = ("tagged", "unchanged", "no_faces", "skipped", "error")


@dataclass
class Settings:
    """Everything a run can be told; the defaults are emotag's documented choices."""

    min_confidence: float = DEFAULT_MIN_CONFIDENCE
    scheme: TagScheme = field(default_factory=TagScheme)
    sidecar: str = "darktable"
    max_side: int = DEFAULT_MAX_SIDE
    min_face: int = 32
    keep_mtime: bool = False
    force: bool = False
    dry_run: bool = False


@dataclass
class FaceResult:
    """A face as reported: box in pixels of the photo as displayed; no emotion when too small to read."""

    box: list[int]
    emotion: str | None = None
    confidence: float | None = None
    scores: dict[str, float] | None = None


@dataclass
class PhotoResult:
    """One photo's outcome, as `--json` prints it."""

    path: str
    status: str
    faces: list[FaceResult] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    error: str | None = None

    def to_json(self) -> dict:
        data = asdict(self)
        if self.error is None:
            del data["error"]
        return data


def find_photos(paths: Iterable[Path]) -> Iterator[Path]:
    """Photos under `paths`: files as given, folders walked recursively, each photo once.

    Hidden files and folders are skipped, and symbolic links to folders are not followed (so a link out of the
    tree, or a loop, is never walked).
    """
    seen: set[str] = set()
    for path in paths:
        for photo in _walk(path) if path.is_dir() else [path]:
            key = os.path.realpath(photo)
            if key not in seen:
                seen.add(key)
                yield photo


def _walk(folder: Path) -> Iterator[Path]:
    for root, folders, files in os.walk(folder, followlinks=False):
        folders[:] = sorted(f for f in folders if not f.startswith("."))
        for name in sorted(files):
            path = Path(root, name)
            if not name.startswith(".") and is_photo(path):
                yield path


class Tagger:
    """The models and the ExifTool process, loaded once, and the steps that use them."""

    def __init__(self, settings: Settings, ledger=None):
        self.settings = settings
        self.metadata = Metadata(keep_mtime=settings.keep_mtime)
        self.ledger = ledger
        self._finder: FaceFinder | None = None

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

    def close(self) -> None:
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

    def tag_batch(self, paths: list[Path]) -> list[PhotoResult]:
        pending: list[tuple[Path, Path, TagRecord, Photo, list[Face]]] = []
        results: dict[Path, PhotoResult] = {}
        version = self.model.version
        for path in paths:
            if not self.settings.force and self.ledger and self.ledger.is_done(path, version):
                results[path] = PhotoResult(str(path), "unchanged")
                continue
            try:
                target, record, photo, faces = self.look(path)
            except (PhotoError, MetadataError, OSError) as error:
                results[path] = PhotoResult(str(path), "error", error=describe(error))
                continue
            if record.model_version == version and not self.settings.force:
                results[path] = PhotoResult(str(path), "unchanged", tags=record.emotions)
                self._remember(path, "unchanged")
                continue
            pending.append((path, target, record, photo, faces))

        readable = [face.crop for *_, faces in pending for face in faces if face.readable]
        scores = iter(self.model.classify(np.stack(readable)) if readable else [])
        for path, target, record, photo, faces in pending:
            readings = [FaceReading.from_scores(next(scores)) if face.readable else None for face in faces]
            try:
                results[path] = self.decide_and_write(path, target, record, photo, faces, readings)
            except (MetadataError, OSError) as error:
                results[path] = PhotoResult(str(path), "error", error=describe(error))
        return [results[path] for path in paths]

    def look(self, path: Path) -> tuple[Path, TagRecord, Photo | None, list[Face]]:
        """Read the photo's tags and, unless it is already done, find its faces."""
        if not path.exists():
            raise PhotoError("file vanished or does not exist")
        if not is_photo(path):
            raise PhotoError(f"not a photo format emotag reads ({path.suffix or 'no suffix'})")
        target = metadata_target(path, self.settings.sidecar)
        record = self.metadata.read(target)
        if record.model_version == self.model.version and not self.settings.force:
            return target, record, None, []
        photo = read_photo(path, self.settings.max_side, self.metadata.preview)
        return target, record, photo, self.finder.find(photo)

    def decide_and_write(self, path, target, record, photo, faces, readings) -> PhotoResult:
        settings = self.settings
        reported = [face_result(face, reading) for face, reading in zip(faces, readings)]
        known = [r for r in readings if r is not None]
        emotions = photo_emotions(known, settings.min_confidence)
        labels = [settings.scheme.label(e) for e in emotions]
        if not faces and not record.tagged:
            status = "no_faces"
        elif faces and not known and not record.tagged:
            status = "skipped"
        else:
            status = "tagged"
            if not settings.dry_run:
                own = {
                    "model_version": self.model.version,
                    "min_confidence": settings.min_confidence,
                    "emotions": emotions,
                    "faces": [_face_record(face, reading, photo) for face, reading in zip(faces, readings) if reading],
                }
                self.metadata.write(target, record, keywords(emotions, settings.scheme), own)
        self._remember(path, status)
        return PhotoResult(str(path), status, reported, labels)

    def _remember(self, path: Path, status: str) -> None:
        if self.ledger and not self.settings.dry_run:
            self.ledger.record(path, self.model.version, status)


def face_result(face: Face, reading: FaceReading | None) -> FaceResult:
    if reading is None:
        return FaceResult(list(face.box))
    scores = {e: round(s, 4) for e, s in reading.scores.items()}
    return FaceResult(list(face.box), reading.emotion, round(reading.confidence, 4), scores)


def _face_record(face: Face, reading: FaceReading, photo: Photo) -> dict:
    left, top, width, height = face.box
    return {
        "box_normalised": (left / photo.width, top / photo.height, width / photo.width, height / photo.height),
        "emotion": reading.emotion,
        "confidence": reading.confidence,
        "scores": reading.scores,
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
    faces: list[dict] = field(default_factory=list)  # {"box": [x, y, w, h] in 0..1, "scores": {...}}
    from_tags: bool = False
    error: str | None = None


def faces_from_record(record: TagRecord) -> list[dict]:
    """The faces emotag stored in a photo's metadata."""
    from emotag.emotions import EMOTIONS

    faces = []
    for stored in record.faces:
        try:
            box = [float(stored[k]) for k in ("X", "Y", "W", "H")]
            scores = {e: float(stored.get(e.capitalize(), 0.0)) for e in EMOTIONS}
        except (KeyError, TypeError, ValueError):
            continue
        faces.append({"box": box, "scores": scores})
    return faces


def read_faces(tagger: Tagger, paths: list[Path], use_tags: bool = True) -> Iterator[PhotoFaces]:
    """Each photo's faces: from emotag's tags where the photo carries them, else read now (nothing written)."""
    for start in range(0, len(paths), BATCH_PHOTOS):
        looked = []
        for path in paths[start : start + BATCH_PHOTOS]:
            try:
                if use_tags and is_photo(path) and path.exists():
                    record = tagger.metadata.read(metadata_target(path, tagger.settings.sidecar))
                    if record.tagged:
                        looked.append(PhotoFaces(path, faces_from_record(record), from_tags=True))
                        continue
                if not path.exists():
                    raise PhotoError("file vanished or does not exist")
                if not is_photo(path):
                    raise PhotoError(f"not a photo format emotag reads ({path.suffix or 'no suffix'})")
                photo = read_photo(path, tagger.settings.max_side, tagger.metadata.preview)
                looked.append((path, photo, [f for f in tagger.finder.find(photo) if f.readable]))
            except (PhotoError, MetadataError, OSError) as error:
                looked.append(PhotoFaces(path, error=describe(error)))
        crops = [face.crop for item in looked if isinstance(item, tuple) for face in item[2]]
        scores = iter(tagger.model.classify(np.stack(crops)) if crops else [])
        for item in looked:
            if isinstance(item, PhotoFaces):
                yield item
                continue
            path, photo, faces = item
            found = []
            for face in faces:
                reading = FaceReading.from_scores(next(scores))
                record = _face_record(face, reading, photo)
                found.append({"box": list(record["box_normalised"]), "scores": reading.scores})
            yield PhotoFaces(path, found)
