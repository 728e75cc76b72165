"""How many photos with closed eyes `emotag top happy -n 20 --eyes-open` lets through, drawn as issue 16's held-out
set will be: 600 faces of ../shared/data/eyes, half with closed eyes, drawn again and again.

    emotag tag --dry-run --json --jobs 2 COPY_OF_EYES_PHOTOS > readings.jsonl     # read every face once
    python bench/eyes_open_top.py readings.jsonl [--draws 300]

Each rule ranks the faces kept by `--eyes-open` (no face read as closed): by the smile alone (before 2026-12-03),
with a stricter closed cut, and by the smile times the chance that the eyes are open (`Pick.open_eyes_chance`,
shipped), with untold eyes of the smiling face at even odds (shipped) or counted as open. A file whose name starts
with `closed_` has closed eyes (the folder's naming).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def read(path: Path) -> tuple[list, list]:
    closed, opened = [], []
    for line in path.read_text().splitlines():
        photo = json.loads(line)
        if not photo.get("faces"):
            continue
        lead = max(photo["faces"], key=lambda face: face["scores"]["happy"])
        entry = (lead["scores"]["happy"], [face["eyes_closed"] for face in photo["faces"]], lead["eyes_closed"])
        (closed if Path(photo["path"]).name.startswith("closed_") else opened).append(entry)
    return closed, opened


def key(entry, rule: str, untold: float) -> float | None:
    """The rank key of a photo under `rule`, or None where `--eyes-open` leaves it out."""
    happy, scores, lead = entry
    known = [s for s in scores if s is not None]
    cut = 0.15 if rule == "stricter cut 0.15" else 0.5
    if any(s >= cut for s in known):
        return None
    if rule != "times the chance":
        return happy
    chance = float(np.prod([1 - s for s in known])) * (untold if lead is None else 1.0)
    return happy * chance


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("readings", type=Path, help="`emotag tag --dry-run --json` over a copy of the eyes photos")
    parser.add_argument("--draws", type=int, default=300)
    parser.add_argument("--top", type=int, default=20)
    args = parser.parse_args()
    closed, opened = read(args.readings)
    print(f"{len(closed)} photos with closed eyes, {len(opened)} open; {args.draws} draws of 300 + 300")
    rules = [("the smile alone", 1.0), ("stricter cut 0.15", 1.0), ("times the chance", 1.0), ("times the chance", 0.5)]
    for rule, untold in rules:
        rng = np.random.default_rng(0)
        through = []
        for _ in range(args.draws):
            drawn = [(closed[i], True) for i in rng.choice(len(closed), 300, replace=False)]
            drawn += [(opened[i], False) for i in rng.choice(len(opened), 300, replace=False)]
            kept = [(key(entry, rule, untold), shut) for entry, shut in drawn]
            kept = sorted((k for k in kept if k[0] is not None), key=lambda k: -k[0])[: args.top]
            through.append(sum(shut for _, shut in kept))
        through = np.array(through)
        name = f"{rule}, untold eyes at {untold}" if rule == "times the chance" else rule
        none = (through == 0).mean()
        print(f"{name:40s} closed in the top {args.top}: mean {through.mean():.2f}, none in {none:.0%}")


if __name__ == "__main__":
    main()
