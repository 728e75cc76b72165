"""Which view the CNN detector should read a small photo in: faces found, false faces, and the cost.

    python bench/close_up_faces.py                      # the views emotag reads (emotag.faces.CNN_VIEWS)
    python bench/close_up_faces.py --sides 160,240,320,400   # each side, upright and tilted, beside them

The CNN detector is emotag's last look at a small photo (a crop, a film still) in which HOG found nothing, even in
the close-up view (`emotag/faces.py`). This reads, at each side of the CNN's close-up view and each tilt:
- the faces of ../shared/data/eyes that HOG misses (each file holds one face), for two halves of the files: A,
  for choosing the side, and B, held out from that choice (the last hex digit of the name, even or odd);
- false faces on small photos without people: the faceless development photos and samples, whole and cut into
  overlapping quarters, each brought to at most 640 pixels (HOG finds nothing there, so the CNN would look);
- the time one look takes, per side (a faceless photo pays every tilt).
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from emotag.faces import CLOSE_UP_TILTS, CNN_VIEWS, SMALL_PHOTO, CloseUp, FaceFinder  # noqa: E402
from emotag.photos import read_photo  # noqa: E402

DATA = ROOT.parent / "shared" / "data"


def faceless_photos() -> list[Path]:
    """The development photos the by-eye count calls faceless, and the project's faceless samples."""
    with open(DATA / "photos" / "sources.csv", newline="") as table:
        rows = list(csv.DictReader(table))
    none = [DATA / "photos" / row["file"] for row in rows if row["faces"] == "none"]
    return none + [ROOT / "samples" / name for name in ("rocket-launch.jpg", "cat-chelsea.jpg")]


def faceless_views(paths: list[Path]) -> list[tuple[str, np.ndarray]]:
    """Each faceless photo whole and in four overlapping quarters (two thirds of each side), at most 640 px."""
    views = []
    for path in paths:
        grey = read_photo(path).grey
        h, w = grey.shape
        cuts = [(0, 0, w, h)] + [(x, y, x + 2 * w // 3, y + 2 * h // 3) for x in (0, w // 3) for y in (0, h // 3)]
        for k, (left, top, right, bottom) in enumerate(cuts):
            image = Image.fromarray(grey[top:bottom, left:right])
            image.thumbnail((SMALL_PHOTO, SMALL_PHOTO))
            views.append((f"{path.name}#{k}", np.asarray(image)))
    return views


def cnn_finds(finder: FaceFinder, grey: np.ndarray, side: int, tilt: float) -> int:
    view = CloseUp(grey, tilt, side)
    return len(finder.cnn_detector()(view.grey, 0))


def shipped_finds(finder: FaceFinder, grey: np.ndarray) -> bool:
    """Whether the CNN finds a face in any of emotag's views, looked at in turn as `FaceFinder.find` does."""
    return any(len(finder.cnn_detector()(CloseUp(grey, tilt, side).grey, 0)) for side, tilt in CNN_VIEWS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sides", default="", help="also each of these sides, upright and tilted")
    parser.add_argument("--limit", type=int, help="only the first N files of ../shared/data/eyes (a quick look)")
    args = parser.parse_args()
    sides = [int(side) for side in args.sides.split(",") if side]
    finder = FaceFinder()

    with open(DATA / "eyes" / "labels.csv", newline="") as table:
        rows = list(csv.DictReader(table))[: args.limit]
    missed = []  # (file, closed, half B) of the faces HOG does not find, small photos only
    for row in rows:
        photo = read_photo(DATA / "eyes" / row["file"])
        if max(photo.width, photo.height) > SMALL_PHOTO:
            continue
        if not finder.find(photo, cnn=False):
            missed.append((photo, row["eyes"] == "closed", int(Path(row["file"]).stem[-1], 16) % 2 == 1))
    print(f"../shared/data/eyes: {len(rows)} faces, {len(missed)} missed by HOG (the CNN's to find)")
    for half, name in ((False, "A"), (True, "B")):
        part = [m for m in missed if m[2] == half]
        print(f"half {name}: {len(part)} missed by HOG ({sum(m[1] for m in part)} with closed eyes)")
        for side in sides:
            found_at = [[cnn_finds(finder, m[0].grey, side, tilt) > 0 for tilt in CLOSE_UP_TILTS] for m in part]
            upright = sum(f[0] for f in found_at)
            any_tilt = [any(f) for f in found_at]
            closed = sum(a for a, m in zip(any_tilt, part) if m[1])
            print(f"  side {side}: upright {upright}, any tilt {sum(any_tilt)} ({closed} closed)")
        shipped = [shipped_finds(finder, m[0].grey) for m in part]
        print(f"  shipped views {CNN_VIEWS}: {sum(shipped)} ({sum(s for s, m in zip(shipped, part) if m[1])} closed)")

    views = faceless_views(faceless_photos())
    print(f"faceless: {len(views)} small views of {len(faceless_photos())} photos")
    for side in sides:
        false, started = [], time.perf_counter()
        for name, grey in views:
            found = sum(cnn_finds(finder, grey, side, tilt) for tilt in CLOSE_UP_TILTS)
            if found:
                false.append(name)
        seconds = (time.perf_counter() - started) / len(views)
        print(f"  side {side}: false faces in {len(false)} views {false}; {seconds * 1000:.0f} ms a view, 3 tilts")
    started = time.perf_counter()
    false = [name for name, grey in views if shipped_finds(finder, grey)]
    seconds = (time.perf_counter() - started) / len(views)
    print(f"  shipped views: false faces in {len(false)} views {false}; {seconds * 1000:.0f} ms a view, all looks")


if __name__ == "__main__":
    main()
