"""The picker: rank photos by how strongly their faces show an emotion, make an album, draw a contact sheet."""

from __future__ import annotations

import base64
import html
import io
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps

from emotag.emotions import EMOTIONS
from emotag.metadata import MetadataError, metadata_target
from emotag.photos import PhotoError, displayed_size, is_raw
from emotag.pipeline import PhotoFaces, Settings, Tagger, check_photo, describe, faces_from_record, read_faces

THUMBNAIL = 360


@dataclass
class Pick:
    path: Path
    score: float
    faces: list[dict]


def rank(photos: list[Path], emotion: str, count: int, settings: Settings) -> tuple[list[Pick], list]:
    """The `count` photos with the highest `emotion` score on any face, best first; and (path, error) pairs.

    Scores come from emotag's tags where a photo carries them, so ranking a tagged album needs no model.
    Photos without faces are left out.
    """
    picks, errors = [], []
    tagger = Tagger(settings)
    try:
        for looked in read_faces(tagger, photos):
            if looked.error:
                errors.append((looked.path, looked.error))
            elif looked.faces:
                score = max(face["scores"][emotion] for face in looked.faces)
                picks.append(Pick(looked.path, score, looked.faces))
    finally:
        tagger.close()
    picks.sort(key=lambda pick: (-pick.score, str(pick.path)))
    return picks[:count], errors


def make_album(picks: list[Pick], folder: Path, link: bool) -> list[str]:
    """Copy or symbolically link the picks into `folder`, numbered best first; returns problems, one line each."""
    folder.mkdir(parents=True, exist_ok=True)
    problems = []
    for rank_number, pick in enumerate(picks, 1):
        destination = folder / f"{rank_number:03d}_{pick.path.name}"
        try:
            if destination.exists() or destination.is_symlink():
                destination.unlink()
            if link:
                os.symlink(pick.path.resolve(), destination)
            else:
                shutil.copy2(pick.path, destination)
        except OSError as error:
            problems.append(f"{destination}: {error.strerror or error}")
    return problems


def thumbnail_data(path: Path) -> str:
    """A small upright JPEG of the photo, as a data: URL for a self-contained HTML page."""
    if is_raw(path):
        from emotag.metadata import Metadata

        with Metadata() as metadata:
            preview, _ = metadata.preview(path)
        source = io.BytesIO(preview)
    else:
        source = path
    with Image.open(source) as image:
        image.draft("RGB", (THUMBNAIL * 2, THUMBNAIL * 2))
        upright = ImageOps.exif_transpose(image).convert("RGB")
        upright.thumbnail((THUMBNAIL, THUMBNAIL))
        buffer = io.BytesIO()
        upright.save(buffer, "JPEG", quality=85)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def write_contact_sheet(picks: list[Pick], emotion: str, destination: Path) -> None:
    """An HTML page of thumbnails, each face boxed and labelled with its score."""
    cards = []
    for number, pick in enumerate(picks, 1):
        try:
            image = thumbnail_data(pick.path)
        except (OSError, PhotoError, Image.DecompressionBombError):
            image = ""
        boxes = "".join(
            f'<div class="box" style="left:{x * 100:.2f}%;top:{y * 100:.2f}%;width:{w * 100:.2f}%;'
            f'height:{h * 100:.2f}%"><span>{face["scores"][emotion]:.2f}</span></div>'
            for face in pick.faces
            for x, y, w, h in [face["box"]]
        )
        cards.append(
            f'<figure><div class="photo"><img src="{image}" alt="">{boxes}</div>'
            f"<figcaption>#{number} {html.escape(emotion)} {pick.score:.3f}<br>{html.escape(readable(pick.path.name))}"
            "</figcaption></figure>"
        )
    page = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>emotag: top {len(picks)} {html.escape(emotion)}</title>
<style>
body {{ font-family: sans-serif; background: #222; color: #eee; }}
main {{ display: flex; flex-wrap: wrap; gap: 12px; }}
figure {{ margin: 0; width: {THUMBNAIL}px; }}
.photo {{ position: relative; display: inline-block; }}
.photo img {{ display: block; max-width: {THUMBNAIL}px; }}
.box {{ position: absolute; border: 2px solid #ffd400; box-sizing: border-box; }}
.box span {{ position: absolute; top: -1.3em; left: -2px; background: #ffd400; color: #000; font-size: 12px;
  padding: 0 3px; }}
figcaption {{ font-size: 13px; margin-top: 4px; word-break: break-all; }}
</style></head>
<body><h1>Top {len(picks)}: {html.escape(emotion)}</h1><main>
{chr(10).join(cards)}
</main></body></html>
"""
    temporary = destination.with_name(f".{destination.name}.tmp")
    try:
        temporary.write_text(page, encoding="utf-8")
        temporary.replace(destination)
    except BaseException:
        temporary.unlink(missing_ok=True)  # a full disk, a folder emotag may not write: nothing half-made left
        raise


def readable(name: str) -> str:
    """A file name as text a page can hold: bytes of a name that is not UTF-8 (an old archive's) shown as '\ufffd'."""
    return os.fsencode(name).decode("utf-8", "replace")


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
            x, y, w, h = face["box"]
            scores = {e: round(s, 4) for e, s in face["scores"].items()}
            emotion = max(scores, key=scores.get)
            faces.append(
                {
                    "box": [round(x * width), round(y * height), round(w * width), round(h * height)],
                    "emotion": emotion,
                    "confidence": scores[emotion],
                    "scores": scores,
                }
            )
        if record.tagged:
            emotions = record.emotions
        else:
            shown = {f["emotion"] for f in faces if f["confidence"] >= settings.min_confidence}
            emotions = settings.scheme.written([e for e in EMOTIONS if e in shown])
        return {
            "path": str(path),
            "tagged": record.tagged,
            "status": "tagged" if record.tagged else looked_at(path, tagger.version),
            "model_version": record.model_version or tagger.version,
            "faces": faces,
            "tags": [settings.scheme.label(e) for e in emotions],
            "keywords": record.fields,
        }
    finally:
        tagger.close()
