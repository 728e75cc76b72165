"""The picker: rank photos by how strongly their faces show an emotion, keep those with eyes open or the best
shot of each burst, make an album, draw a contact sheet."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from emotag.causes import describe
from emotag.discovery import check_photo
from emotag.emotions import EMOTIONS
from emotag.exiftool import MetadataError
from emotag.photos import PhotoError, displayed_size, read_photo
from emotag.pipeline import BATCH_PHOTOS, Settings, Tagger
from emotag.reading import FacesRead, face_record
from emotag.record import faces_from_record
from emotag.results import PhotoFaces, ReadFace, Status
from emotag.sidecars import metadata_target
from emotag.tags import FaceReading, photo_emotions

UNTOLD_EYES = 0.5
"""With `--eyes-open`, the chance that eyes which cannot be told are open: even odds. Measured on
`../shared/data/eyes` (`docs/eyes.md`): ranking by the emotion alone put 2.6 faces with closed eyes in a top 20
of 600 faces (half closed) on average; by the emotion times the chance that the eyes are open, none in 300 draws
with untold eyes at even odds, and 1.0 if untold eyes cost nothing."""


@dataclass
class Pick:
    path: Path
    score: float
    faces: list[ReadFace]
    tags: list[str] = field(default_factory=list)  # the emotion tags its faces give it, under the settings
    burst: list[Pick] = field(default_factory=list)  # with per_burst: every shot of its burst, this one first

    @property
    def eyes_open(self) -> bool:
        """No readable face has its eyes closed (a face whose eyes cannot be told does not count against it)."""
        return not any(face.eyes == "closed" for face in self.faces)

    def open_eyes_chance(self, emotion: str, untold: float = UNTOLD_EYES) -> float:
        """How likely every face's eyes are open: what `--eyes-open` ranks by, beside the emotion's strength.

        Each face read as open still has its 0-1 closed score: a laugh that squeezes the eyes to slits reads as
        open at 0.2, and the happiest photos are where such faces gather. The face that shows the emotion most, if
        its eyes cannot be told, counts as `untold` (even odds); other untold faces (mostly too small to read) do
        not count."""
        chance = 1.0
        for face in self.faces:
            if face.eyes_closed is not None:
                chance *= 1.0 - face.eyes_closed
        if self.faces:
            lead = max(self.faces, key=lambda face: face.scores[emotion])
            if lead.eyes_closed is None:
                chance *= untold
        return chance


def rank(
    photos: list[Path],
    emotion: str,
    count: int,
    settings: Settings,
    looked_at: Callable[[], None] | None = None,
    eyes_open: bool = False,
    per_burst: bool = False,
) -> tuple[list[Pick], list]:
    """The `count` photos with the highest `emotion` score on any face, best first; and (path, error) pairs.

    Scores come from emotag's tags where a photo carries them, so ranking a tagged album needs no model (photos
    tagged before emotag read eyes are read now when eyes matter). Photos without faces are left out. With
    `eyes_open`, so is every photo in which a readable face has its eyes closed, and the rest are ranked by the
    score times the chance that their faces' eyes are open (`best_first`); with `per_burst`, every shot of a burst
    but its best. `looked_at` is called once per photo read (a progress bar's step).
    """
    picks, errors = [], []
    tagger = Tagger(settings)
    try:
        for looked in read_faces(tagger, photos, need_eyes=eyes_open or per_burst):
            if looked_at:
                looked_at()
            if looked.error:
                errors.append((looked.path, looked.error))
            elif looked.faces:
                tags = photo_tags(looked.faces, settings, tagger.thresholds)
                picks.append(Pick(looked.path, strength(looked.faces, emotion), looked.faces, tags))
        if per_burst:
            picks = best_of_bursts(picks, tagger)
    finally:
        tagger.close()
    return best_first(picks, emotion, eyes_open)[:count], errors


def best_first(picks: list[Pick], emotion: str, eyes_open: bool = False) -> list[Pick]:
    """Picks by the emotion's strength, best first; with `eyes_open`, only those with no face's eyes closed, by
    the strength times the chance that every face's eyes are open."""
    if eyes_open:
        kept = [pick for pick in picks if pick.eyes_open]
        return sorted(kept, key=lambda pick: (-pick.score * pick.open_eyes_chance(emotion), str(pick.path)))
    return sorted(picks, key=lambda pick: (-pick.score, str(pick.path)))


def read_faces(
    tagger: Tagger, paths: list[Path], use_tags: bool = True, need_eyes: bool = False
) -> Iterator[PhotoFaces]:
    """Each photo's faces: from emotag's tags where the photo carries them, else read now (nothing written).

    With `need_eyes`, tags written before emotag read eyes are not enough: such a photo is read now."""
    for start in range(0, len(paths), BATCH_PHOTOS):
        looked: list[PhotoFaces | tuple[Path, FacesRead]] = []
        for path in paths[start : start + BATCH_PHOTOS]:
            try:
                if use_tags:
                    _, record = tagger.read_tags(path)
                    if record.tagged and not (need_eyes and record.eyes_version is None):
                        looked.append(PhotoFaces(path, faces_from_record(record)))
                        continue
                else:
                    check_photo(path)
                looked.append((path, tagger.reader.look(path)))
            except (PhotoError, MetadataError, OSError) as error:
                looked.append(PhotoFaces(path, error=describe(error)))
        tagger.reader.classify([item[1] for item in looked if isinstance(item, tuple)])
        for item in looked:
            yield item if isinstance(item, PhotoFaces) else PhotoFaces(item[0], read_back(item[1]))


def read_back(read: FacesRead) -> list[ReadFace]:
    """The readable faces of a photo read now, as they would be stored in it."""
    found = []
    for face, reading, eyes in zip(read.faces, read.readings, read.eyes):
        if reading is not None:
            stored = face_record(face, reading, read.photo, eyes)
            found.append(
                ReadFace(list(stored["box_normalised"]), reading.scores, stored["eyes"], stored["eyes_closed"])
            )
    return found


def best_of_bursts(picks: list[Pick], tagger: Tagger) -> list[Pick]:
    """The best shot of each burst, holding its burst's shots (itself first); a photo alone is its own burst."""
    from emotag.bursts import Shot, best_of, face_sharpness, group_bursts, look, taken_at

    by_path = {pick.path: pick for pick in picks}
    shots = [Shot(p.path, taken_at(p.path), look(p.path, tagger.metadata.preview)) for p in picks]
    best = []
    for burst in group_bursts(shots):
        members = [by_path[shot.path] for shot in burst]

        def sharpness(pick: Pick) -> float:
            try:
                grey = read_photo(pick.path, tagger.settings.max_side, tagger.metadata.preview).grey
            except (PhotoError, MetadataError, OSError):
                return 0.0
            return face_sharpness(grey, [face.box for face in pick.faces])

        chosen = best_of(members, lambda p: p.eyes_open, lambda p: p.score, sharpness)
        chosen.burst = [chosen] + [m for m in members if m is not chosen]
        best.append(chosen)
    return best


def strength(faces: list[ReadFace], emotion: str) -> float:
    """How strongly a photo shows `emotion`: its strongest face for it (what `top` ranks by)."""
    return max((face.scores[emotion] for face in faces), default=0.0)


def photo_tags(faces: list[ReadFace], settings: Settings, thresholds: dict[str, float]) -> list[str]:
    """The labels emotag tags a photo with for these faces' scores, as `emotag tag` decides them."""
    readings = [FaceReading.from_scores([face.scores[e] for e in EMOTIONS]) for face in faces]
    return [settings.scheme.label(e) for e in photo_emotions(readings, thresholds)]


def make_album(picks: list[Pick], folder: Path, link: bool) -> list[str]:
    """Copy or symbolically link the picks into `folder`, numbered best first, replacing what emotag put there
    before (`emotag.albums`); returns problems, one line each."""
    from emotag.albums import make_album as put_into_album

    return put_into_album([pick.path for pick in picks], folder, link)


def write_contact_sheet(picks: list[Pick], emotion: str, destination: Path) -> None:
    """An HTML page of thumbnails, each face boxed and labelled with its score: `emotag.sheet`."""
    from emotag.sheet import write_contact_sheet as write

    write(picks, emotion, destination)


def looked_at(path: Path, version: str) -> str | None:
    """How `emotag tag` left a photo that carries no tags ("no_faces", "skipped"), or None if it never did.

    Such a photo gets no record of its own (nothing is written into a photo without a face), so the ledger says.
    """
    from emotag.ledger import Ledger, LedgerError

    try:
        ledger = Ledger()
    except LedgerError:
        return None
    try:
        done = ledger.is_done(path, version)
    finally:
        ledger.close()
    return done.status if done else None


def describe_photo(path: Path, settings: Settings) -> dict:
    """Everything `emotag show` tells about one photo, as plain data."""
    tagger = Tagger(settings)
    try:
        try:
            check_photo(path)
            record = tagger.metadata.read(metadata_target(path, settings.sidecar, settings.sidecar_always))
            if record.tagged:
                looked = PhotoFaces(path, faces_from_record(record))
            else:
                looked = next(read_faces(tagger, [path], use_tags=False))
            if not looked.error:
                width, height = displayed_size(path, tagger.metadata.preview)
        except (PhotoError, MetadataError, OSError, Image.DecompressionBombError) as error:
            looked = PhotoFaces(path, error=describe(error))
        if looked.error:
            return {"path": str(path), "error": looked.error}
        faces = []
        for face in looked.faces:
            closed = None if face.eyes_closed is None else round(face.eyes_closed, 4)
            eyes = {"eyes": face.eyes, "eyes_closed": closed}
            x, y, w, h = face.box
            scores = {e: round(s, 4) for e, s in face.scores.items()}
            emotion = max(scores, key=scores.get)
            faces.append(
                {
                    "box": [round(x * width), round(y * height), round(w * width), round(h * height)],
                    "emotion": emotion,
                    "confidence": scores[emotion],
                    "scores": scores,
                }
                | eyes
            )
        if record.tagged:
            emotions = record.emotions
        else:
            shown = {f["emotion"] for f in faces if f["confidence"] >= tagger.thresholds[f["emotion"]]}
            emotions = settings.scheme.written([e for e in EMOTIONS if e in shown])
        closed = any(f["eyes"] == "closed" for f in faces)
        return {
            "path": str(path),
            "tagged": record.tagged,
            "status": Status.TAGGED if record.tagged else looked_at(path, tagger.version),
            "model_version": record.model_version or tagger.version,
            "faces": faces,
            "tags": tagger.labels(emotions),
            "eyes_tag": tagger.eyes_tag(closed),
            "keywords": record.fields,
        }
    finally:
        tagger.close()
