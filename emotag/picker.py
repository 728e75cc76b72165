"""The picker: rank photos by how strongly their faces show an emotion, keep those with eyes open or the best
shot of each burst, make an album, draw a contact sheet."""

from __future__ import annotations

import base64
import html
import io
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageOps

from emotag.emotions import EMOTIONS
from emotag.metadata import MetadataError, metadata_target
from emotag.photos import PhotoError, displayed_size, is_raw, read_photo
from emotag.pipeline import PhotoFaces, Settings, Tagger, check_photo, describe, faces_from_record, read_faces

THUMBNAIL = 360


@dataclass
class Pick:
    path: Path
    score: float
    faces: list[dict]
    burst: list[Pick] = field(default_factory=list)  # with per_burst: every shot of its burst, this one first

    @property
    def eyes_open(self) -> bool:
        """No readable face has its eyes closed (a face whose eyes cannot be told does not count against it)."""
        return not any(face.get("eyes") == "closed" for face in self.faces)


def rank(
    photos: list[Path],
    emotion: str,
    count: int,
    settings: Settings,
    eyes_open: bool = False,
    per_burst: bool = False,
) -> tuple[list[Pick], list]:
    """The `count` photos with the highest `emotion` score on any face, best first; and (path, error) pairs.

    Scores come from emotag's tags where a photo carries them, so ranking a tagged album needs no model (photos
    tagged before emotag read eyes are read now when eyes matter). Photos without faces are left out. With
    `eyes_open`, so is every photo in which a readable face has its eyes closed; with `per_burst`, every shot of
    a burst but its best.
    """
    picks, errors = [], []
    tagger = Tagger(settings)
    try:
        for looked in read_faces(tagger, photos, need_eyes=eyes_open or per_burst):
            if looked.error:
                errors.append((looked.path, looked.error))
            elif looked.faces:
                score = max(face["scores"][emotion] for face in looked.faces)
                picks.append(Pick(looked.path, score, looked.faces))
        if per_burst:
            picks = best_of_bursts(picks, tagger)
    finally:
        tagger.close()
    if eyes_open:
        picks = [pick for pick in picks if pick.eyes_open]
    picks.sort(key=lambda pick: (-pick.score, str(pick.path)))
    return picks[:count], errors


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
            return face_sharpness(grey, [face["box"] for face in pick.faces])

        chosen = best_of(members, lambda p: p.eyes_open, lambda p: p.score, sharpness)
        chosen.burst = [chosen] + [m for m in members if m is not chosen]
        best.append(chosen)
    return best


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


def _face_box(face: dict, emotion: str) -> str:
    """A face's box on a thumbnail, labelled with its score and, when they were read, its eyes."""
    x, y, w, h = face["box"]
    eyes = {"open": " eyes open", "closed": " eyes closed"}.get(face.get("eyes") or "", "")
    kind = " closed" if face.get("eyes") == "closed" else ""
    return (
        f'<div class="box{kind}" style="left:{x * 100:.2f}%;top:{y * 100:.2f}%;width:{w * 100:.2f}%;'
        f'height:{h * 100:.2f}%"><span>{face["scores"][emotion]:.2f}{eyes}</span></div>'
    )


def _card(pick: Pick, emotion: str, caption: str, kind: str = "") -> str:
    try:
        image = thumbnail_data(pick.path)
    except (OSError, PhotoError, MetadataError, Image.DecompressionBombError):
        image = ""
    boxes = "".join(_face_box(face, emotion) for face in pick.faces)
    return (
        f'<figure class="{kind}"><div class="photo"><img src="{image}" alt="">{boxes}</div>'
        f"<figcaption>{caption}<br>{html.escape(pick.path.name)}</figcaption></figure>"
    )


def write_contact_sheet(picks: list[Pick], emotion: str, destination: Path) -> None:
    """An HTML page of thumbnails, each face boxed and labelled with its score and eyes; a burst's shots
    together, its pick marked."""
    cards = []
    for number, pick in enumerate(picks, 1):
        caption = f"#{number} {html.escape(emotion)} {pick.score:.3f}"
        if len(pick.burst) < 2:
            cards.append(_card(pick, emotion, caption))
            continue
        shots = [_card(pick, emotion, f"{caption} &#9733; pick of {len(pick.burst)} shots", "pick")]
        shots += [
            _card(shot, emotion, f"{html.escape(emotion)} {shot.score:.3f}, not picked", "shot")
            for shot in pick.burst[1:]
        ]
        cards.append(f'<section class="burst">{"".join(shots)}</section>')
    page = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>emotag: top {len(picks)} {html.escape(emotion)}</title>
<style>
body {{ font-family: sans-serif; background: #222; color: #eee; }}
main {{ display: flex; flex-wrap: wrap; gap: 12px; }}
figure {{ margin: 0; width: {THUMBNAIL}px; }}
.photo {{ position: relative; display: inline-block; }}
.photo img {{ display: block; max-width: {THUMBNAIL}px; }}
.box {{ position: absolute; border: 2px solid #ffd400; box-sizing: border-box; }}
.box.closed {{ border-color: #ff4d4d; }}
.box.closed span {{ background: #ff4d4d; }}
.burst {{ display: flex; gap: 6px; padding: 6px; border: 1px solid #666; }}
figure.pick {{ outline: 3px solid #4dd17a; }}
figure.shot {{ opacity: 0.6; }}
.box span {{ position: absolute; top: -1.3em; left: -2px; background: #ffd400; color: #000; font-size: 12px;
  padding: 0 3px; }}
figcaption {{ font-size: 13px; margin-top: 4px; word-break: break-all; }}
</style></head>
<body><h1>Top {len(picks)}: {html.escape(emotion)}</h1><main>
{chr(10).join(cards)}
</main></body></html>
"""
    temporary = destination.with_name(f".{destination.name}.tmp")
    temporary.write_text(page, encoding="utf-8")
    temporary.replace(destination)


def describe_photo(path: Path, settings: Settings) -> dict:
    """Everything `emotag show` tells about one photo, as plain data."""
    tagger = Tagger(settings)
    try:
        try:
            check_photo(path)
            record = tagger.metadata.read(metadata_target(path, settings.sidecar))
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
            eyes = {"eyes": face.get("eyes"), "eyes_closed": face.get("eyes_closed")}
            if eyes["eyes_closed"] is not None:
                eyes["eyes_closed"] = round(eyes["eyes_closed"], 4)
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
                | eyes
            )
        if record.tagged:
            emotions = record.emotions
        else:
            shown = {f["emotion"] for f in faces if f["confidence"] >= settings.min_confidence}
            emotions = [e for e in EMOTIONS if e in shown]
        closed = any(f["eyes"] == "closed" for f in faces)
        return {
            "path": str(path),
            "tagged": record.tagged,
            "model_version": record.model_version or tagger.version,
            "faces": faces,
            "tags": tagger.labels(emotions),
            "eyes_tag": tagger.eyes_tag(closed),
            "keywords": record.fields,
        }
    finally:
        tagger.close()
