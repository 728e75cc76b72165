"""emotag end to end on real photos labelled by people: faces found, the expression read, what a search finds.

    python bench/real_photos.py [FOLDER] [--json figures.json] [--fit] [--save-thresholds] [--readings F]

FOLDER (default `../shared/data/labelled`) holds a `labels.csv` with `file,emotion` and, optionally, `person`.
Each photo goes through emotag's own pipeline (decode, find faces, read expressions: `picker.read_faces`, as
`emotag top` and `emotag show` read an untagged photo) and the tags are decided by `tags.photo_emotions`, the
rule `emotag tag` writes by. Printed, and written as JSON with `--json`, for all photos and for the news photos
(350x350, Labeled Faces in the Wild) and the film stills apart:
- faces found: the share of photos with at least one readable face;
- 7-class accuracy of the largest face (of the photos with a face, and of all photos), and its confusions;
- for each emotion, the precision and recall of its tag (a photo without a face counts as untagged);
- the top-10 precision of `emotag top EMOTION` (the ten photos with the strongest face for it).

`--fit` chooses each emotion's threshold on one half of the people (split by person, news and film apart) and
reports the other half with them. By default only the news photos fit them (`--fit-groups`): the film stills are runs
of consecutive frames of a few scenes (73 of one actor), read far worse than any photo, and no threshold makes their
tags right; an emotion with under 10 photos to fit on keeps 0.5. The rule: the lowest threshold from which the tag is
right at least `--precision` of the time (0.85) on the first half; where no threshold gets there, the one with the
best F0.5 (precision weighed twice as much as recall). `--save-thresholds` writes the thresholds chosen into the model
card of the model measured (`EMOTAG_MODEL_DIR` or `models/`).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
import zlib
from dataclasses import asdict
from pathlib import Path

import numpy as np
from PIL import Image

from emotag.emotions import EMOTIONS
from emotag.expressions import MODEL_CARD_FILE, model_folder, model_thresholds
from emotag.picker import read_faces
from emotag.pipeline import Settings, Tagger
from emotag.tags import DEFAULT_MIN_CONFIDENCE, FaceReading, decision_thresholds, photo_emotions

DEFAULT_FOLDER = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "labelled"
NEWS_SIZE = (350, 350)
GRID = np.round(np.arange(0.20, 0.96, 0.01), 2)
MIN_TAGGED = 5
"""A threshold is judged only where it tags at least this many photos of the fitting half."""
MIN_LABELLED = 10
"""An emotion with fewer photos than this in the fitting half keeps the default threshold: no evidence."""


def load_labels(folder: Path) -> list[dict]:
    """The rows of `labels.csv`, each with its group: news (350x350 LFW photos) or film (stills of any size)."""
    with open(folder / "labels.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        if row["emotion"] not in EMOTIONS:
            raise SystemExit(f"{folder / 'labels.csv'}: unknown emotion {row['emotion']!r} for {row['file']}")
        row.setdefault("person", row["file"])
        with Image.open(folder / row["file"]) as image:
            row["group"] = "news" if image.size == NEWS_SIZE else "film"
    return rows


def read_all(folder: Path, rows: list[dict]) -> tuple[list[dict], float]:
    """Every photo's readable faces with their seven scores, read by emotag's pipeline; and the seconds taken."""
    tagger = Tagger(Settings())
    started = time.perf_counter()
    try:
        looked = list(read_faces(tagger, [folder / row["file"] for row in rows], use_tags=False))
    finally:
        tagger.close()
    seconds = time.perf_counter() - started
    photos = []
    for row, result in zip(rows, looked):
        photos.append({**row, "faces": [asdict(face) for face in result.faces], "error": result.error})
    return photos, seconds


def largest(photo: dict) -> dict | None:
    return max(photo["faces"], key=lambda face: face["box"][2] * face["box"][3], default=None)


def tagged(photo: dict, thresholds: dict[str, float]) -> list[str]:
    readings = [FaceReading.from_scores([face["scores"][e] for e in EMOTIONS]) for face in photo["faces"]]
    return photo_emotions(readings, thresholds)


def figures(photos: list[dict], thresholds: dict[str, float]) -> dict:
    """Every figure for these photos under these thresholds, as plain data."""
    n = len(photos)
    with_face = [p for p in photos if p["faces"]]
    confusion = np.zeros((len(EMOTIONS), len(EMOTIONS)), dtype=int)
    for photo in with_face:
        scores = largest(photo)["scores"]
        confusion[EMOTIONS.index(photo["emotion"]), EMOTIONS.index(max(scores, key=scores.get))] += 1
    right = int(np.trace(confusion))
    tags = [set(tagged(p, thresholds)) for p in photos]
    per_emotion = {}
    for emotion in EMOTIONS:
        said = [p for p, t in zip(photos, tags) if emotion in t]
        true = [p for p in photos if p["emotion"] == emotion]
        hits = sum(p["emotion"] == emotion for p in said)
        ranked = sorted(with_face, key=lambda p: (-max(f["scores"][emotion] for f in p["faces"]), p["file"]))[:10]
        per_emotion[emotion] = {
            "photos": len(true),
            "tagged": len(said),
            "precision": hits / len(said) if said else None,
            "recall": hits / len(true) if true else None,
            "top10_precision": sum(p["emotion"] == emotion for p in ranked) / len(ranked) if ranked else None,
            "threshold": thresholds[emotion],
        }
    return {
        "photos": n,
        "faces_found": len(with_face) / n if n else 0.0,
        "accuracy_7_found": right / len(with_face) if with_face else 0.0,
        "accuracy_7_all": right / n if n else 0.0,
        "confusion": confusion.tolist(),
        "per_emotion": per_emotion,
    }


def split_by_person(photos: list[dict]) -> tuple[list[dict], list[dict]]:
    """Two halves with no person in both: people ordered by a stable hash, dealt alternately, news and film apart."""
    halves: tuple[list[dict], list[dict]] = ([], [])
    for group in ("news", "film"):
        people = sorted({p["person"] for p in photos if p["group"] == group}, key=lambda x: zlib.crc32(x.encode()))
        side = {person: k % 2 for k, person in enumerate(people)}
        for photo in photos:
            if photo["group"] == group:
                halves[side[photo["person"]]].append(photo)
    return halves


def fit_thresholds(photos: list[dict], precision: float) -> dict[str, float]:
    """Each emotion's lowest threshold from which its tag is right at least `precision` of the time here."""
    chosen = {}
    for emotion in EMOTIONS:
        rows = []
        true = sum(p["emotion"] == emotion for p in photos)
        if true < MIN_LABELLED:
            chosen[emotion] = DEFAULT_MIN_CONFIDENCE
            continue
        for threshold in GRID:
            only = {e: (threshold if e == emotion else 2.0) for e in EMOTIONS}
            said = [p for p in photos if emotion in tagged(p, only)]
            if len(said) >= MIN_TAGGED and true:
                hits = sum(p["emotion"] == emotion for p in said)
                rows.append((float(threshold), hits / len(said), hits / true))
        if not rows:
            chosen[emotion] = DEFAULT_MIN_CONFIDENCE
            continue
        # The lowest threshold from which every higher one holds the precision: one lucky point does not count.
        holding = [t for k, (t, *_) in enumerate(rows) if all(p >= precision for _, p, _ in rows[k:])]
        # Out of reach: the best balance that weighs precision twice as much as recall (F0.5), lowest first.
        chosen[emotion] = holding[0] if holding else max(rows, key=lambda row: (f_half(row[1], row[2]), -row[0]))[0]
    return chosen


def f_half(precision: float, recall: float) -> float:
    return 1.25 * precision * recall / (0.25 * precision + recall) if precision + recall else 0.0


def print_figures(title: str, result: dict) -> None:
    print(f"== {title}: {result['photos']} photos")
    print(
        f"faces found {result['faces_found']:.1%}; largest face, 7 classes: {result['accuracy_7_found']:.1%}"
        f" of photos with a face, {result['accuracy_7_all']:.1%} of all"
    )
    print("emotion    photos  threshold  tagged  precision  recall  top-10")
    for emotion, row in result["per_emotion"].items():

        def cell(value, width):
            return f"{'-':>{width}}" if value is None else f"{value:>{width}.2f}"

        print(
            f"{emotion:<10} {row['photos']:6d} {row['threshold']:10.2f} {row['tagged']:7d}"
            f" {cell(row['precision'], 10)} {cell(row['recall'], 7)} {cell(row['top10_precision'], 7)}"
        )
    print("confusion of the largest face (rows: labelled, columns: read, " + " ".join(e[:3] for e in EMOTIONS) + ")")
    for emotion, row in zip(EMOTIONS, result["confusion"]):
        print(f"{emotion[:3]:<4} " + " ".join(f"{v:4d}" for v in row))


def report(photos: list[dict], thresholds: dict[str, float], label: str) -> dict:
    out = {}
    for name, part in (("all", photos), *((g, [p for p in photos if p["group"] == g]) for g in ("news", "film"))):
        out[name] = figures(part, thresholds)
        print_figures(f"{label}, {name}", out[name])
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", nargs="?", type=Path, default=DEFAULT_FOLDER)
    parser.add_argument("--json", type=Path, help="write every figure here")
    parser.add_argument("--fit", action="store_true", help="choose thresholds on half the people, report the rest")
    parser.add_argument(
        "--fit-groups", nargs="+", default=["news"], choices=["news", "film"], help="photos the thresholds fit"
    )
    parser.add_argument("--precision", type=float, default=0.85, help="the precision each tag should reach")
    parser.add_argument("--save-thresholds", action="store_true", help="write the fitted thresholds into the card")
    parser.add_argument("--readings", type=Path, help="keep the faces read here, and reuse them when it exists")
    parser.add_argument("--min-confidence", type=float, help="one threshold for all (default: the model card's)")
    args = parser.parse_args(argv)
    if not (args.folder / "labels.csv").is_file():
        parser.error(f"{args.folder}: no labels.csv here")

    if args.readings and args.readings.is_file():
        saved = json.loads(args.readings.read_text())
        photos, seconds = saved["photos"], saved["seconds"]
    else:
        photos, seconds = read_all(args.folder, load_labels(args.folder))
        if args.readings:
            args.readings.write_text(json.dumps({"photos": photos, "seconds": seconds}))
    errors = [p for p in photos if p["error"]]
    for photo in errors:
        print(f"{photo['file']}: {photo['error']}", file=sys.stderr)
    print(f"read {len(photos)} photos in {seconds:.1f} s ({len(errors)} errors)")
    shipped = decision_thresholds(args.min_confidence, {}, model_thresholds())
    result: dict = {"model_dir": str(model_folder()), "seconds": seconds, "shipped": report(photos, shipped, "shipped")}
    if args.fit:
        fitting, held = split_by_person(photos)
        fit_on = [p for p in fitting if p["group"] in args.fit_groups]
        chosen = fit_thresholds(fit_on, args.precision)
        print(f"thresholds chosen on {len(fit_on)} photos ({', '.join(args.fit_groups)}, half the people): {chosen}")
        result["fitted_thresholds"] = chosen
        result["fitting_half"] = report(fitting, chosen, "fitting half, fitted thresholds")
        result["held_half"] = report(held, chosen, "other half, fitted thresholds")
        if args.save_thresholds:
            card_path = model_folder() / MODEL_CARD_FILE
            card = json.loads(card_path.read_text())
            card["thresholds"] = chosen
            card_path.write_text(json.dumps(card, indent=2) + "\n")
            print(f"wrote the thresholds into {card_path}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
