"""How many photos with closed eyes `emotag top happy -n 20 --eyes-open` lets through, drawn as issue 16's held-out
set will be: 600 faces of ../shared/data/eyes, half with closed eyes, drawn again and again.

    emotag tag --dry-run --json --jobs 2 COPY_OF_EYES_PHOTOS > readings.jsonl     # read every face once
    python bench/eyes_open_top.py readings.jsonl [--draws 300]

Each rule ranks the faces kept by `--eyes-open` (no face read as closed): by the smile alone (before 2026-12-03),
with a stricter closed cut, and by the smile times the chance that the eyes are open (`Pick.open_eyes_chance`),
with untold eyes of the smiling face counted as open or at even odds (shipped: `picker.best_first` itself).
A file whose name starts with `closed_` has closed eyes (the folder's naming).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from emotag.picker import Pick, best_first  # noqa: E402
from emotag.results import ReadFace  # noqa: E402


def read(path: Path) -> tuple[list[Pick], list[Pick]]:
    """Each photo with faces as `top` would see it, split by its eyes: closed, open."""
    closed, opened = [], []
    for line in path.read_text().splitlines():
        photo = json.loads(line)
        if not photo.get("faces"):
            continue
        faces = [ReadFace(face["box"], face["scores"], face["eyes"], face["eyes_closed"]) for face in photo["faces"]]
        pick = Pick(Path(photo["path"]), max(face.scores["happy"] for face in faces), faces)
        (closed if pick.path.name.startswith("closed_") else opened).append(pick)
    return closed, opened


def by_score(picks: list[Pick], weight=lambda pick: 1.0) -> list[Pick]:
    return sorted(picks, key=lambda pick: -pick.score * weight(pick))


RULES = {
    "the smile alone (before)": lambda picks: by_score([p for p in picks if p.eyes_open]),
    "stricter cut 0.15": lambda picks: by_score(
        [p for p in picks if not any(f.eyes_closed is not None and f.eyes_closed >= 0.15 for f in p.faces)]
    ),
    "times the chance, untold eyes as open": lambda picks: by_score(
        [p for p in picks if p.eyes_open], lambda p: p.open_eyes_chance("happy", untold=1.0)
    ),
    "times the chance, untold at even odds (shipped)": lambda picks: best_first(picks, "happy", eyes_open=True),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("readings", type=Path, help="`emotag tag --dry-run --json` over a copy of the eyes photos")
    parser.add_argument("--draws", type=int, default=300)
    parser.add_argument("--top", type=int, default=20)
    args = parser.parse_args()
    closed, opened = read(args.readings)
    shut = {pick.path for pick in closed}
    print(f"{len(closed)} photos with closed eyes, {len(opened)} open; {args.draws} draws of 300 + 300")
    for name, rule in RULES.items():
        rng = np.random.default_rng(0)
        through = []
        for _ in range(args.draws):
            drawn = [closed[i] for i in rng.choice(len(closed), 300, replace=False)]
            drawn += [opened[i] for i in rng.choice(len(opened), 300, replace=False)]
            through.append(sum(pick.path in shut for pick in rule(drawn)[: args.top]))
        through = np.array(through)
        none = (through == 0).mean()
        print(f"{name:48s} closed in the top {args.top}: mean {through.mean():.2f}, none in {none:.0%}")


if __name__ == "__main__":
    main()
