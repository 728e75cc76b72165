"""Issue 17, the contact sheet (`top --html`) as a person sees it: opened in a real browser (headless Chromium),
its element boxes measured through the DOM and its screenshot looked at."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import urllib.parse
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.helpers import HAPPY_PHOTO, NEUTRAL_PHOTO, SAMPLES, run_emotag

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="needs Chromium (apt-get install chromium)")
MARGIN = 12  # the page's body margin, in CSS pixels
TAKEN = "2019:07:14 15:02:11"

# Appended to a copy of the sheet: once the page has laid itself out, write every box that matters as JSON.
MEASURE = """
<script>
window.addEventListener("load", function () { setTimeout(function () {
  function box(e) { var r = e.getBoundingClientRect(); return {l: r.left, t: r.top, r: r.right, b: r.bottom}; }
  var out = {width: document.documentElement.clientWidth, main: box(document.querySelector("main")), photos: []};
  document.querySelectorAll("figure").forEach(function (figure) {
    var photo = figure.querySelector(".photo");
    out.photos.push({
      figure: box(figure), photo: box(photo), href: photo.href,
      faces: Array.prototype.map.call(photo.querySelectorAll(".box"), box),
      labels: Array.prototype.map.call(photo.querySelectorAll(".label"), box),
      caption: figure.querySelector("figcaption").textContent,
    });
  });
  var pre = document.createElement("pre"); pre.id = "measured"; pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
}, 200); });
</script>
"""


def crowd_photo(destination: Path) -> int:
    """A crowded photo made of the happy sample's face, 4 by 3, rows so close that a label under one face would
    cover the face below it. Returns the number of faces."""
    with Image.open(SAMPLES / HAPPY_PHOTO) as sample:
        face = sample.convert("RGB").crop((176 - 45, 77 - 14, 176 + 90 + 45, 77 + 90 + 14))  # its 90-pixel face
    columns, rows = 4, 3
    crowd = Image.new("RGB", (face.width * columns, face.height * rows))
    for row in range(rows):
        for column in range(columns):
            crowd.paste(face, (column * face.width, row * face.height))
    crowd.save(destination, quality=92)
    return columns * rows


@pytest.fixture(scope="module")
def sheet(tmp_path_factory) -> dict:
    """`emotag top happy` over a crowd, the two face samples (one with a date) and more, into a contact sheet."""
    root = tmp_path_factory.mktemp("sheet")
    photos = root / "photos"
    photos.mkdir()
    crowd = crowd_photo(photos / "crowd.jpg")
    for name in (HAPPY_PHOTO, NEUTRAL_PHOTO):
        shutil.copy(SAMPLES / name, photos / name)
    for copy in range(3):
        shutil.copy(SAMPLES / HAPPY_PHOTO, photos / f"again-{copy}.jpg")
    subprocess.run(
        ["exiftool", "-q", "-overwrite_original", f"-DateTimeOriginal={TAKEN}", str(photos / NEUTRAL_PHOTO)], check=True
    )
    page = root / "pages" / "happy.html"
    page.parent.mkdir()
    env = {"EMOTAG_DATA_DIR": str(root / "state"), "EMOTAG_CONFIG": str(root / "state" / "config.toml")}
    run_emotag("top", "happy", str(photos), "-n", "10", "--html", str(page), check=True, env=env)
    return {"page": page, "photos": photos, "crowd": crowd}


def browse(page: Path, width: int, height: int, *options: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
         f"--window-size={width},{height}", "--virtual-time-budget=5000", *options, page.as_uri()],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def measured(sheet: dict, width: int) -> dict:
    probe = sheet["page"].with_name(f"measure-{width}.html")  # beside the sheet, so its links mean the same
    probe.write_text(sheet["page"].read_text().replace("</body>", MEASURE + "</body>"))
    dom = browse(probe, width, 900, "--dump-dom")
    found = re.search(r'<pre id="measured">(.*?)</pre>', dom.stdout, re.DOTALL)
    assert found, dom.stderr[-2000:]
    return json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<"))


def overlap(a: dict, b: dict) -> float:
    """The area two boxes share, in square CSS pixels."""
    return max(0.0, min(a["r"], b["r"]) - max(a["l"], b["l"])) * max(0.0, min(a["b"], b["b"]) - max(a["t"], b["t"]))


def inside(inner: dict, outer: dict) -> bool:
    return (
        inner["l"] >= outer["l"] - 0.5
        and inner["t"] >= outer["t"] - 0.5
        and inner["r"] <= outer["r"] + 0.5
        and inner["b"] <= outer["b"] + 0.5
    )


@needs_chromium
@pytest.mark.slow
@pytest.mark.parametrize("width", [1400, 700])
def test_the_grid_fills_the_window_and_labels_cover_no_face_and_no_label(sheet, width):
    layout = measured(sheet, width)
    assert layout["width"] == width and len(layout["photos"]) == 6
    main = layout["main"]
    assert abs(main["l"] - MARGIN) < 1 and abs(main["r"] - (width - MARGIN)) < 1, main
    first_row = [p["figure"] for p in layout["photos"] if abs(p["figure"]["t"] - main["t"]) < 1]
    assert len(first_row) >= 2
    assert abs(min(f["l"] for f in first_row) - main["l"]) < 1 and abs(max(f["r"] for f in first_row) - main["r"]) < 1
    crowded = max(layout["photos"], key=lambda p: len(p["faces"]))
    assert len(crowded["faces"]) == len(crowded["labels"]) == sheet["crowd"]
    for photo in layout["photos"]:
        assert len(photo["labels"]) == len(photo["faces"]) >= 1
        for number, label in enumerate(photo["labels"]):
            assert inside(label, photo["photo"]), (number, label, photo["photo"])
            covered = [face for face in photo["faces"] if overlap(label, face) > 0.5]
            assert not covered, f"label {number} covers a face: {label} {covered}"
            others = [other for other in photo["labels"][number + 1 :] if overlap(label, other) > 0.5]
            assert not others, f"label {number} overlaps another: {label} {others}"
            own = photo["faces"][number]
            gap = max(own["l"] - label["r"], label["l"] - own["r"], own["t"] - label["b"], label["t"] - own["b"])
            assert gap <= 1, f"label {number} is not against its own face: {label} {own}"


@needs_chromium
@pytest.mark.slow
def test_a_click_opens_the_photo_and_the_caption_gives_the_date_and_the_tags(sheet):
    layout = measured(sheet, 1200)
    opened = {}
    for photo in layout["photos"]:
        assert photo["href"].startswith("file://"), photo["href"]
        path = Path(urllib.parse.unquote(urllib.parse.urlparse(photo["href"]).path))
        assert path.is_file() and path.parent == sheet["photos"], path
        opened[path.name] = photo["caption"]
    assert set(opened) >= {"crowd.jpg", HAPPY_PHOTO, NEUTRAL_PHOTO}
    assert "2019-07-14 15:02" in opened[NEUTRAL_PHOTO] and "Neutral" in opened[NEUTRAL_PHOTO]
    assert "Happy" in opened[HAPPY_PHOTO] and "no date" in opened[HAPPY_PHOTO]
    page = sheet["page"].read_text()
    assert 'href="../photos/crowd.jpg"' in page, "links are relative, so the page and the photos can move together"


@needs_chromium
@pytest.mark.slow
def test_the_screenshot_shows_the_thumbnails_across_the_window_with_their_boxes(sheet, tmp_path):
    """What a person sees: the thumbnails painted from edge to edge, and the yellow face boxes and labels."""
    shot = tmp_path / "sheet.png"
    done = browse(sheet["page"], 1300, 800, f"--screenshot={shot}")
    assert shot.is_file(), done.stderr[-2000:]
    with Image.open(shot) as image:
        pixels = np.asarray(image.convert("RGB")).astype(int)
    height, width, _ = pixels.shape
    band = pixels[60:200]  # across the first row of thumbnails, under the title
    painted = np.flatnonzero((np.abs(band - 34).sum(axis=2) > 12).any(axis=0))  # not the page's #222
    r, g, b = band[..., 0], band[..., 1], band[..., 2]
    yellow = int(((r > 230) & (g > 190) & (g < 230) & (b < 60)).sum())  # #ffd400, the boxes' and labels' colour
    assert (width, height) == (1300, 800)
    assert painted.min() <= MARGIN + 1 and painted.max() >= width - MARGIN - 2, (painted.min(), painted.max())
    assert len(painted) > 0.9 * (width - 2 * MARGIN), "gaps wider than the grid's across the first row"
    assert yellow > 500, f"only {yellow} pixels of the boxes' yellow"
