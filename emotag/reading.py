"""The one step that reads photos' faces: decode, find the faces, read their eyes, then read every face's
expression in one call to the model for a whole batch.

`emotag tag` (through `Tagger.tag_batch`) and the read path of `top` and `show` (`picker.read_faces`) both go
through `FaceReader`, so a face read for ranking is read exactly as it is for tagging.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from emotag.eyes import EyeReader, EyeReading
from emotag.faces import Face, FaceFinder
from emotag.photos import Photo, read_photo
from emotag.results import FaceResult
from emotag.tags import FaceReading
from emotag.timing import stage


@dataclass
class FacesRead:
    """A photo decoded and its faces found, each face's eyes read and, once `FaceReader.classify` has run, its
    expression (None for a face too small to read)."""

    photo: Photo
    faces: list[Face]
    eyes: list[EyeReading | None]
    readings: list[FaceReading | None] = field(default_factory=list)


class FaceReader:
    """Dlib's face finder, the eye reader and the expression model, each loaded on first use."""

    def __init__(self, max_side: int, min_face: int, preview: Callable[[Path], tuple[bytes, int | None]] | None):
        self.max_side = max_side
        self.min_face = min_face
        self.preview = preview  # a raw file's embedded JPEG: `Metadata.preview`
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
            self._finder = FaceFinder(min_face=self.min_face)
        return self._finder

    @property
    def eye_reader(self) -> EyeReader:
        if self._eye_reader is None:
            self._eye_reader = EyeReader()
        return self._eye_reader

    def look(self, path: Path) -> FacesRead:
        """Decode a photo, find its faces and read each readable face's eyes (None where they cannot be told)."""
        with stage("decode"):
            photo = read_photo(path, self.max_side, self.preview)
        faces = self.finder.find(photo)
        eyes = [self.eye_reader.read_face(photo, face) if face.readable else None for face in faces]
        return FacesRead(photo, faces, eyes)

    def classify(self, photos: list[FacesRead]) -> None:
        """Read the expression of every readable face of these photos, in one call to the model."""
        crops = [face.crop for read in photos for face in read.faces if face.readable]
        with stage("classify"):
            scores = iter(self.model.classify(np.stack(crops)) if crops else [])
        for read in photos:
            read.readings = [FaceReading.from_scores(next(scores)) if face.readable else None for face in read.faces]


def face_result(face: Face, reading: FaceReading | None, eyes: EyeReading | None = None) -> FaceResult:
    """A face as `--json` reports it: box in pixels, scores rounded; no emotion for a face too small to read."""
    if reading is None:
        return FaceResult(list(face.box))
    scores = {e: round(s, 4) for e, s in reading.scores.items()}
    result = FaceResult(list(face.box), reading.emotion, round(reading.confidence, 4), scores)
    if eyes is not None:
        result.eyes, result.eyes_closed = eyes.state, round(eyes.closed, 4)
    return result


def face_record(face: Face, reading: FaceReading, photo: Photo, eyes: EyeReading | None = None) -> dict:
    """A face as emotag stores it in the photo: box normalised to the photo as displayed, every score."""
    left, top, width, height = face.box
    return {
        "box_normalised": (left / photo.width, top / photo.height, width / photo.width, height / photo.height),
        "emotion": reading.emotion,
        "confidence": reading.confidence,
        "scores": reading.scores,
        "eyes": eyes.state if eyes else None,
        "eyes_closed": eyes.closed if eyes else None,
    }
