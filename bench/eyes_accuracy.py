"""How well emotag reads closed eyes, and the fit of its eye reading (emotag/eyes_model.json).

    python bench/eyes_accuracy.py                  # measure the shipped reading
    python bench/eyes_accuracy.py --fit --write    # fit it again on ../shared/data/eyes (5-fold figures first)

On ../shared/data/eyes (892 closed, 900 open faces, each in a plain frame) the face is read in the box emotag's face
finder finds (`FaceFinder.find`, close-up views included); where it finds none, in the box of the face's patch
inside the plain frame (reported apart). Faces found are also given for two halves of the files: A, for choosing
the finder's settings, and B, held out from that choice.
Its two classes come from two collections, so a learnt reading may learn the collection: the share of faces read
as closed on ../shared/data/photos and ../shared/data/labelled, where nearly every eye is open, is the check
(labelled: also its news photos and film stills apart).
`--show-closed FILE` writes a PNG of the eyes of every labelled-photo face read as closed, to count by eye how
many of them are open.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from emotag.eyes import MIN_FACE, MODEL_FILE, EyeReader, eye_features, eye_patch, turned_away  # noqa: E402
from emotag.faces import FaceFinder  # noqa: E402
from emotag.photos import read_photo  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
VERSION = "1"


def patch_box(grey: np.ndarray) -> tuple[int, int, int, int]:
    """The face's patch inside its plain frame: every pixel that differs from the frame's corner."""
    ys, xs = np.nonzero(np.abs(grey.astype(int) - int(grey[2, 2])) > 12)
    return int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)


def eyes_set(reader: EyeReader, finder: FaceFinder) -> dict:
    """Features of every face of ../shared/data/eyes, whether the detector found it, whether it can be read."""
    with open(DATA / "eyes" / "labels.csv", newline="") as table:
        rows = list(csv.DictReader(table))
    features, closed, found, readable = [], [], [], []
    for row in rows:
        photo = read_photo(DATA / "eyes" / row["file"])
        grey = photo.grey
        faces = finder.find(photo)  # the whole finder, close-up views included, as `emotag tag` finds faces
        box = tuple(v * photo.scale for v in faces[0].box) if faces else patch_box(grey)
        points = reader.landmarks(grey, box)
        features.append(eye_features(grey, points))
        closed.append(row["eyes"] == "closed")
        found.append(bool(faces))
        readable.append(box[2] >= MIN_FACE and not turned_away(points))
    held_out = [int(Path(row["file"]).stem[-1], 16) % 2 == 1 for row in rows]
    return {
        k: np.array(v) for k, v in dict(X=features, y=closed, found=found, readable=readable, held_out=held_out).items()
    }


def found_line(name: str, found: np.ndarray, y: np.ndarray) -> str:
    """Faces found, by class and in all."""
    return (
        f"{name}: closed {found[y].sum()}/{y.sum()} ({found[y].mean():.1%}), "
        f"open {found[~y].sum()}/{(~y).sum()} ({found[~y].mean():.1%}), all {found.mean():.1%}"
    )


def is_news(path: Path) -> bool:
    """A news photo of ../shared/data/labelled (Labeled Faces in the Wild: `First_Last_0001.jpg`), not a still."""
    return re.fullmatch(r".+_\d{4}", path.stem) is not None


def open_set(reader: EyeReader, finder: FaceFinder, folder: Path) -> dict:
    """Features of every face the detector finds in a folder of photos (nearly all eyes open)."""
    features, readable, patches, news = [], [], [], []
    for path in sorted(folder.glob("*")):
        try:
            photo = read_photo(path)
        except Exception:
            continue
        for face in finder.find(photo):
            if not face.readable:
                continue
            left, top, width, height = (v * photo.scale for v in face.box)
            points = reader.landmarks(photo.grey, (left, top, width, height))
            features.append(eye_features(photo.grey, points))
            readable.append(width >= MIN_FACE and not turned_away(points))
            news.append(is_news(path))
            patches.append(
                np.hstack(
                    [eye_patch(photo.grey, points[36], points[39]), eye_patch(photo.grey, points[42], points[45])]
                )
            )
    return {
        "X": np.array(features),
        "readable": np.array(readable),
        "patches": np.array(patches),
        "news": np.array(news, dtype=bool),
    }


def by_face_width(reader: EyeReader, model: dict, widths: list[int]) -> None:
    """The shipped reading on the faces of ../shared/data/eyes shrunk to each width (pixels of the image faces are
    found in), in the box of their patch: where a face becomes too small to read. In-sample: the reading was
    fitted on these faces at their own size."""
    from PIL import Image

    with open(DATA / "eyes" / "labels.csv", newline="") as table:
        rows = list(csv.DictReader(table))
    greys = [(read_photo(DATA / "eyes" / row["file"]).grey, row["eyes"] == "closed") for row in rows]
    for width in widths:
        called, truth = [], []
        for grey, closed in greys:
            box = patch_box(grey)
            factor = width / box[2]
            small = np.asarray(
                Image.fromarray(grey).resize(
                    (max(1, round(grey.shape[1] * factor)), max(1, round(grey.shape[0] * factor))),
                    Image.Resampling.BILINEAR,
                    reducing_gap=2.0,
                )
            )
            points = reader.landmarks(small, tuple(v * factor for v in box))
            called.append(logits(model, eye_features(small, points)[None])[0] > model["cut"])
            truth.append(closed)
        print("  " + report(f"faces {width} pixels wide", np.array(called), np.array(truth), np.ones(len(truth), bool)))


def fit(X: np.ndarray, y: np.ndarray, penalty: float = 30.0, steps: int = 600) -> dict:
    """Logistic regression on each eye (both eyes of a face carry its label), standardised, L2 penalty."""
    eyes = X.reshape(-1, X.shape[-1])
    labels = np.repeat(y.astype(float), 2)
    mean, spread = eyes.mean(0), eyes.std(0) + 1e-6
    z = (eyes - mean) / spread
    weights, bias = np.zeros(z.shape[1]), 0.0
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(z @ weights + bias)))
        error = p - labels
        weights -= 0.5 * (z.T @ error / len(labels) + penalty * weights / len(labels))
        bias -= 0.5 * error.mean()
    return {"mean": mean, "spread": spread, "weights": weights, "bias": bias}


def logits(model: dict, X: np.ndarray) -> np.ndarray:
    z = (X - model["mean"]) / model["spread"]
    return (z @ model["weights"] + model["bias"]).mean(axis=1)


def report(name: str, called: np.ndarray, y: np.ndarray, mask: np.ndarray) -> str:
    c, t = called[mask], y[mask]
    tp, fp, fn = (c & t).sum(), (c & ~t).sum(), (~c & t).sum()
    return (
        f"{name}: {mask.sum()} faces; closed: precision {tp / max(1, tp + fp):.3f}, recall {tp / max(1, tp + fn):.3f};"
        f" open read as closed {fp / max(1, (~t).sum()):.3f} ({fp} of {(~t).sum()})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fit", action="store_true", help="fit the reading (5-fold figures, then on all faces)")
    parser.add_argument("--write", action="store_true", help="with --fit: write emotag/eyes_model.json")
    parser.add_argument("--cut", type=float, default=2.0, help="with --fit: the logit read as closed")
    parser.add_argument("--show-closed", type=Path, help="PNG of the labelled faces' eyes read as closed")
    parser.add_argument("--widths", help="only: the shipped reading on faces shrunk to these widths (e.g. 32,48,64)")
    args = parser.parse_args()
    reader, finder = EyeReader(), FaceFinder()
    if args.widths:
        shipped = json.loads(MODEL_FILE.read_text())
        model = {k: np.asarray(shipped[k]) for k in ("mean", "spread", "weights", "bias")} | {"cut": shipped["cut"]}
        print("shipped reading, faces of data/eyes shrunk (in-sample at their own size):")
        by_face_width(reader, model, [int(w) for w in args.widths.split(",")])
        return
    data = eyes_set(reader, finder)
    y, found, readable = data["y"], data["found"], data["readable"]
    held = data["held_out"]
    print(f"data/eyes: {len(y)} faces; eyes cannot be told: {(~readable).sum()}; found by the face finder:")
    print("  " + found_line("all faces", found, y))
    print("  " + found_line("half A (file's last hex digit even: for choosing)", found[~held], y[~held]))
    print("  " + found_line("half B (odd: held out, report this)", found[held], y[held]))
    if args.fit:
        folds = np.random.default_rng(0).integers(0, 5, len(y))
        held = np.zeros(len(y))
        for k in range(5):
            held[folds == k] = logits(fit(data["X"][folds != k], y[folds != k]), data["X"][folds == k])
        called = held > args.cut
        print("5-fold, each face read by a fit that did not see it:")
        print("  " + report("all faces", called, y, readable))
        print("  " + report("faces the detector finds", called, y, readable & found))
        model = {k: np.asarray(v) for k, v in fit(data["X"], y).items()}
        model["cut"] = args.cut
    else:
        shipped = json.loads(MODEL_FILE.read_text())
        model = {k: np.asarray(shipped[k]) for k in ("mean", "spread", "weights", "bias")} | {"cut": shipped["cut"]}
        called = logits(model, data["X"]) > model["cut"]
        print("shipped reading (fitted on these very faces: see --fit for held-out figures):")
        print("  " + report("all faces", called, y, readable))
        print("  " + report("faces the detector finds", called, y, readable & found))
    for folder in ("photos", "labelled"):
        faces = open_set(reader, finder, DATA / folder / "photos" if folder == "labelled" else DATA / folder)
        called = (logits(model, faces["X"]) > model["cut"]) & faces["readable"]
        print(
            f"data/{folder}: {len(called)} faces found, {faces['readable'].sum()} with eyes to read; "
            f"read as closed {called.sum()} ({called.sum() / max(1, faces['readable'].sum()):.1%})"
        )
        if folder == "labelled":
            for name, part in (("news photos", faces["news"]), ("film stills", ~faces["news"])):
                told = faces["readable"] & part
                print(
                    f"  {name}: {part.sum()} faces found, {told.sum()} with eyes to read; "
                    f"read as closed {called[part].sum()} ({called[part].sum() / max(1, told.sum()):.1%})"
                )
        if folder == "labelled" and args.show_closed:
            from PIL import Image

            tiles = list(faces["patches"][called])
            tiles += [np.zeros_like(tiles[0])] * (-len(tiles) % 6)
            grid = np.vstack([np.hstack(tiles[i : i + 6]) for i in range(0, len(tiles), 6)])
            Image.fromarray(grid).resize((grid.shape[1] * 4, grid.shape[0] * 4), Image.NEAREST).save(args.show_closed)
    if args.fit and args.write:
        out = {k: (v.tolist() if isinstance(v, np.ndarray) else float(v)) for k, v in model.items()}
        out["version"] = VERSION
        out["fitted_on"] = "../shared/data/eyes, all 1,792 faces (bench/eyes_accuracy.py --fit --write)"
        MODEL_FILE.write_text(json.dumps(out, separators=(",", ":")) + "\n")
        print(f"wrote {MODEL_FILE}")


if __name__ == "__main__":
    main()
