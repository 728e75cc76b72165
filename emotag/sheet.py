"""`top --html`: the contact sheet, one self-contained HTML page of thumbnails with each face boxed and labelled.

The grid fills the window at any width. A face's label goes beside its box, never over a face or another label:
a small script places each one in the first free spot nearest its face, again whenever the window changes size
(without the script, labels sit under their boxes). A thumbnail is a link to the photo itself, relative to the
page when it can be, so the page and the photos may move together. The caption says when the photo was taken
(its EXIF date) and the tags emotag gives it.
"""

from __future__ import annotations

import base64
import html
import io
import os
import urllib.parse
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from PIL import Image, ImageOps

from emotag.photos import PhotoError, is_raw
from emotag.results import ReadFace

THUMBNAIL = 640
"""Long side of a thumbnail, in pixels: sharp in a grid cell up to about twice its 300-pixel minimum width."""

DATE_TAGS = ("EXIF DateTimeOriginal", "EXIF DateTimeDigitized", "Image DateTime")


def thumbnail_data(path: Path) -> tuple[str, tuple[int, int]]:
    """A small upright JPEG of the photo as a data: URL for a self-contained page, and its size."""
    if is_raw(path):
        from emotag.record import Metadata

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
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii"), upright.size


def photo_date(path: Path) -> datetime | None:
    """When the photo was taken, from its EXIF (exifread reads JPEG, TIFF, HEIC and the TIFF-like raws)."""
    import exifread

    try:
        with open(path, "rb") as file:
            found = exifread.process_file(file, details=False, extract_thumbnail=False)
    except Exception:  # exifread fails in many ways on odd files: a photo without a date is still shown
        return None
    for name in DATE_TAGS:
        try:
            return datetime.strptime(str(found[name]).strip(), "%Y:%m:%d %H:%M:%S")
        except (KeyError, ValueError):
            continue
    return None


def photo_link(photo: Path, page: Path) -> str:
    """The photo's URL as seen from the page: relative where both sit on one file system tree, else file://."""
    try:
        relative = os.path.relpath(photo.resolve(), page.resolve().parent)
    except ValueError:  # another drive (Windows)
        return photo.resolve().as_uri()
    return urllib.parse.quote(os.fsencode(relative).replace(os.sep.encode(), b"/"))


def face_label(face: ReadFace, emotion: str) -> str:
    """The text beside one face's box: its score for the emotion ranked, and "eyes closed" when they are (open
    eyes, the usual case, add nothing: a crowd's labels must still find room beside their faces)."""
    eyes = " eyes closed" if face.eyes == "closed" else ""
    return f"{face.scores[emotion]:.2f}{eyes}"


def caption(number: int, emotion: str, score: float, path: Path, date: datetime | None, tags: list[str]) -> str:
    when = f'<time datetime="{date.isoformat()}">{date:%Y-%m-%d %H:%M}</time>' if date else ""
    when = when or '<span class="none">no date</span>'
    tagged = html.escape(", ".join(tags)) if tags else '<span class="none">no tags</span>'
    name = html.escape(os.fsdecode(path.name).encode("utf-8", "backslashreplace").decode("utf-8"))
    return (
        f"<figcaption><b>#{number}</b> {html.escape(emotion)} {score:.3f}<br>{when} · {tagged}<br>"
        f'<span class="name">{name}</span></figcaption>'
    )


def card(number: int, pick, emotion: str, page: Path, label: Callable[[ReadFace, str], str] = face_label) -> str:
    """One photo of the sheet: the linked thumbnail, its face boxes and labels, and the caption."""
    try:
        image, (width, height) = thumbnail_data(pick.path)
    except (OSError, PhotoError, Image.DecompressionBombError):
        image, (width, height) = "", (THUMBNAIL, THUMBNAIL * 2 // 3)
    boxes, labels = [], []
    for index, face in enumerate(pick.faces):
        x, y, w, h = face.box
        closed = " closed" if face.eyes == "closed" else ""
        boxes.append(
            f'<div class="box{closed}" style="left:{x * 100:.2f}%;top:{y * 100:.2f}%;width:{w * 100:.2f}%;'
            f'height:{h * 100:.2f}%"></div>'
        )
        labels.append(
            f'<span class="label{closed}" data-box="{index}" style="left:{x * 100:.2f}%;top:{(y + h) * 100:.2f}%">'
            f"{html.escape(label(face, emotion))}</span>"
        )
    tags = list(getattr(pick, "tags", None) or [])
    return (
        f'<figure><a class="photo" href="{html.escape(photo_link(pick.path, page))}" title="Open the photo">'
        f'<img src="{image}" width="{width}" height="{height}" alt="">{"".join(boxes)}{"".join(labels)}</a>'
        f"{caption(number, emotion, pick.score, pick.path, photo_date(pick.path), tags)}</figure>"
    )


STYLE = """
body { font-family: sans-serif; background: #222; color: #eee; margin: 12px; }
h1 { font-size: 20px; margin: 0 0 12px; }
main { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 300px), 1fr)); gap: 12px; }
figure { margin: 0; min-width: 0; }
.photo { position: relative; display: block; line-height: 0; }
.photo img { display: block; width: 100%; height: auto; background: #333; }
.box { position: absolute; border: 2px solid #ffd400; box-sizing: border-box; pointer-events: none; }
.leader { position: absolute; height: 1px; background: #ffd400; transform-origin: 0 0; pointer-events: none;
  display: none; }
.label { position: absolute; background: #ffd400; color: #000; font-size: 12px; line-height: 15px;
  padding: 0 3px; white-space: nowrap; pointer-events: none; }
figcaption { font-size: 13px; margin-top: 4px; overflow-wrap: anywhere; line-height: 1.35; }
figcaption .none { color: #999; }
figcaption .name { color: #bbb; }
.box.closed { border-color: #ff4d4d; }
.label.closed { background: #ff4d4d; }
.burst { grid-column: 1 / -1; display: grid; gap: 12px; padding: 8px; border: 1px solid #666;
  grid-template-columns: repeat(auto-fit, minmax(min(100%, 240px), 1fr)); }
.burst > p { grid-column: 1 / -1; margin: 0; font-size: 13px; }
figure.pick { outline: 3px solid #4dd17a; outline-offset: 2px; }
figure.shot { opacity: 0.65; }
"""

# Places each label in the free spot nearest its face: not over any face box, nor over a label placed before it,
# inside the photo. The spots tried first touch the box (below, above, right, left); then a grid over the photo.
SCRIPT = """
(function () {
  function overlap(a, b) {
    return Math.max(0, Math.min(a.r, b.r) - Math.max(a.l, b.l)) * Math.max(0, Math.min(a.b, b.b) - Math.max(a.t, b.t));
  }
  function place(photo) {
    var frame = photo.getBoundingClientRect(), W = frame.width, H = frame.height;
    if (!W || !H) return;
    function rect(element) {  // in the photo's own pixels, to the fraction (whole pixels would overlap by one)
      var r = element.getBoundingClientRect();
      return {l: r.left - frame.left, t: r.top - frame.top, r: r.right - frame.left, b: r.bottom - frame.top};
    }
    var faces = Array.prototype.map.call(photo.querySelectorAll(".box"), rect);
    var placed = [];
    photo.querySelectorAll(".label").forEach(function (label) {
      var size = label.getBoundingClientRect(), w = size.width, h = size.height, face = faces[+label.dataset.box];
      function at(l, t) {
        l = Math.max(0, Math.min(l, W - w)); t = Math.max(0, Math.min(t, H - h));
        return {l: l, t: t, r: l + w, b: t + h};
      }
      function cost(spot) {
        var sum = 0;
        faces.forEach(function (f) { sum += overlap(spot, f); });
        placed.forEach(function (p) { sum += 4 * overlap(spot, p); });
        return sum;
      }
      var near = [at(face.l, face.b), at(face.r - w, face.b), at(face.l, face.t - h), at(face.r - w, face.t - h),
                  at(face.r, face.t), at(face.r, face.b - h), at(face.l - w, face.t), at(face.l - w, face.b - h)];
      var best = null, bestCost = Infinity;
      for (var i = 0; i < near.length && bestCost > 0; i++) {
        var c = cost(near[i]);
        if (c < bestCost) { best = near[i]; bestCost = c; }
      }
      if (bestCost > 0) {
        var step = Math.max(2, Math.floor(h / 3)), cx = (face.l + face.r) / 2, cy = (face.t + face.b) / 2, grid = [];
        for (var t = 0; t <= H - h; t += step) for (var l = 0; l <= W - w; l += step) grid.push(at(l, t));
        grid.sort(function (a, b) {
          return Math.hypot(a.l + w / 2 - cx, a.t + h / 2 - cy) - Math.hypot(b.l + w / 2 - cx, b.t + h / 2 - cy);
        });
        for (var j = 0; j < grid.length && bestCost > 0; j++) {
          var g = cost(grid[j]);
          if (g < bestCost) { best = grid[j]; bestCost = g; }
        }
      }
      label.style.left = best.l + "px";
      label.style.top = best.t + "px";
      placed.push(best);
      leader(photo, label, best, face);
    });
  }
  // A label that could not sit against its box gets a thin line to it, so it is clear whose score it is.
  function leader(photo, label, spot, face) {
    var line = label.leaderLine;
    var x1 = (spot.l + spot.r) / 2, y1 = (spot.t + spot.b) / 2;
    var x2 = Math.max(face.l, Math.min(x1, face.r)), y2 = Math.max(face.t, Math.min(y1, face.b));
    var touching = spot.l <= face.r + 1 && spot.r >= face.l - 1 && spot.t <= face.b + 1 && spot.b >= face.t - 1;
    if (touching) { if (line) line.style.display = "none"; return; }
    if (!line) {
      line = label.leaderLine = document.createElement("div");
      line.className = "leader";
      photo.insertBefore(line, photo.querySelector(".label"));
    }
    line.style.display = "block";
    line.style.left = x1 + "px";
    line.style.top = y1 + "px";
    line.style.width = Math.hypot(x2 - x1, y2 - y1) + "px";
    line.style.transform = "rotate(" + Math.atan2(y2 - y1, x2 - x1) + "rad)";
  }
  function placeAll() { document.querySelectorAll(".photo").forEach(place); }
  if (window.ResizeObserver) {
    var observer = new ResizeObserver(function (entries) { entries.forEach(function (e) { place(e.target); }); });
    document.querySelectorAll(".photo").forEach(function (photo) { observer.observe(photo); });
  }
  window.addEventListener("load", placeAll);
  window.addEventListener("resize", placeAll);
  placeAll();
})();
"""


def burst_cards(number: int, pick, emotion: str, page: Path, label: Callable[[ReadFace, str], str]) -> str:
    """A pick of `top --per-burst` with the other shots of its burst beside it, the pick marked."""
    shots = getattr(pick, "burst", None) or []
    if len(shots) < 2:
        return card(number, pick, emotion, page, label)
    chosen = card(number, pick, emotion, page, label).replace("<figure>", '<figure class="pick">', 1)
    others = [
        card(number, shot, emotion, page, label).replace("<figure>", '<figure class="shot">', 1) for shot in shots[1:]
    ]
    note = f"<p>#{number}: the pick of a burst of {len(shots)} shots (outlined); the others dimmed</p>"
    return f'<section class="burst">{note}{chosen}{"".join(others)}</section>'


def page_html(picks: list, emotion: str, page: Path, label: Callable[[ReadFace, str], str] = face_label) -> str:
    """The whole page for `picks` (best first), with links as seen from where the page will be written."""
    cards = "\n".join(burst_cards(number, pick, emotion, page, label) for number, pick in enumerate(picks, 1))
    title = f"Top {len(picks)}: {html.escape(emotion)}"
    return (
        f'<!doctype html>\n<html><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>emotag: {title}</title>\n<style>{STYLE}</style></head>\n"
        f"<body><h1>{title}</h1><main>\n{cards}\n</main>\n<script>{SCRIPT}</script></body></html>\n"
    )


def write_contact_sheet(picks: list, emotion: str, destination: Path) -> None:
    """Write the page whole or not at all: a temporary file beside it, renamed over it."""
    page = page_html(picks, emotion, destination)
    temporary = destination.with_name(f".{destination.name}.tmp")
    try:
        temporary.write_text(page, encoding="utf-8")
        temporary.replace(destination)
    finally:
        temporary.unlink(missing_ok=True)
