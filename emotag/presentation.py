"""Every word emotag says to a person, and where it says it: the result lines, the summaries, the error lines and
the watcher's messages. The core never prints; the command line calls these, and hands the watcher a `WatchLog`.

One line per result or problem, so that other programs (the Lua plug-ins, scripts) can parse them; `--json` output
is the `PhotoResult`s themselves.
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from datetime import datetime
from pathlib import Path

from emotag.results import PhotoResult, Status
from emotag.words import counted


def shown(path) -> str:
    """A path for a one-line message: line breaks and other control characters escaped."""
    text = str(path)
    return text if text.isprintable() else text.encode("unicode_escape").decode("ascii")


def as_stored(text: str, path) -> bytes:
    """A line that ends with a file name, the name's bytes as the file system stores them: a terminal shows it as
    stored, and a name that is not UTF-8 cannot stop the output."""
    return text.encode("utf-8") + os.fsencode(path)


def error_line(path, message: str) -> str:
    """A photo's problem, on stderr: `emotag: PATH: why`."""
    return f"emotag: {shown(path)}: {message}"


# -- tag -----------------------------------------------------------------------------------------------------------


def would_change(result: PhotoResult) -> str:
    """What `tag --dry-run` would do to a photo's tags."""
    said = [f"would add {', '.join(result.added)}"] if result.added else []
    said += [f"would remove {', '.join(result.removed)}"] if result.removed else []
    return f"{shown(result.path)}: {'; '.join(said)}"


def tag_summary(counts: Counter, changes: Counter, faces: int, seconds: float, dry_run: bool) -> str:
    """The line `tag` ends with: what happened to how many photos, and the tags gained and lost."""
    looked = sum(counts.values())
    return (
        f"{counted(looked, 'photo')}, {counted(faces, 'face')}: {counts[Status.TAGGED]} tagged, {_only_some(counts)}"
        f"{counts[Status.NO_FACES]} no faces, {counts[Status.SKIPPED]} skipped (faces too small), "
        f"{counts[Status.UNCHANGED]} unchanged, {counted(counts[Status.ERROR], 'error')}, "
        f"{_tag_changes(changes, dry_run)}, {seconds:.1f} s" + (" (dry run: nothing written)" if dry_run else "")
    )


def stopped_early(signal_name: str, listed: int, looked: int) -> str:
    """What the summary adds when a stop signal ended the run."""
    left = f"{counted(listed - looked, 'photo')} not looked at" if listed else "before listing all photos"
    return f"; stopped by {signal_name}, {left}: the same command does what is left"


def _only_some(counts: Counter) -> str:
    """The counts of what happens only now and then: photos whose tags changed, photos the user untagged."""
    said = [f"{counts[Status.UPDATED]} updated"] if counts[Status.UPDATED] else []
    left = counts[Status.LEFT_UNTAGGED]
    said += [f"{left} left untagged (emotag untag)"] if left else []
    return "".join(f"{part}, " for part in said)


def _tag_changes(counts: Counter, dry_run: bool) -> str:
    """How many of emotag's tags photos gained and lost: a run that only takes tags away says so."""
    if dry_run:
        return f"{counted(counts['added'], 'tag')} would be added, {counts['removed']} would go"
    return f"{counted(counts['added'], 'tag')} added, {counts['removed']} removed"


# -- untag, top, show ----------------------------------------------------------------------------------------------


def untag_line(path, dry_run: bool) -> bytes:
    return as_stored("untagged " if not dry_run else "would untag ", path)


def untag_summary(photos: int, counts: Counter, dry_run: bool) -> str:
    return (
        f"{counted(photos, 'photo')}: {counts['untagged']} untagged, {counts['not_tagged']} not tagged by emotag, "
        f"{counted(counts['error'], 'error')}" + (" (dry run: nothing written)" if dry_run else "")
    )


def ranked_line(score: float, path: Path, shots: int) -> bytes:
    """One of `top`'s photos: its score, its name as stored, and how many shots of a burst it is the best of."""
    best_of = f"  (best of {shots} shots)" if shots > 1 else ""
    return as_stored(f"{score:.3f}  ", path) + best_of.encode("utf-8")


def no_album(folder: Path, why: str) -> str:
    return f"{shown(folder)}: cannot make the album there ({why})"


def sheet_written(path: Path) -> str:
    return f"contact sheet: {shown(path)}"


def no_sheet(why: str) -> str:
    return f"cannot write the contact sheet ({why})"


def not_a_folder(path: Path) -> str:
    return f"{shown(path)}: no such folder" if not path.exists() else f"{shown(path)}: not a folder"


def cannot_write_there(folder: Path, why: str) -> str:
    return f"{shown(folder)}: cannot write there ({why})"


def config_heading(path: Path, found: bool) -> str:
    """`emotag config`'s first line: which file, and whether it is there."""
    return f"# {path} ({'found' if found else 'not found: these are the defaults'})"


LOOKED_AT = {
    "no_faces": "emotag tag found no faces (nothing to write)",
    "skipped": "emotag tag found only faces too small to read (nothing to write)",
}


def described_photo(d: dict) -> str:
    """`show`'s block for one photo: where its faces come from, each face, its tags."""
    if d["tagged"]:
        source = f"from emotag's tags (model {d['model_version']})"
    elif d.get("status") in LOOKED_AT:
        source = f"read now; {LOOKED_AT[d['status']]}"
    else:
        source = "read now (not tagged yet)"
    lines = [f"{shown(d['path'])}: {counted(len(d['faces']), 'face')}, {source}"]
    for i, face in enumerate(d["faces"], 1):
        left, top_, width, height = face["box"]
        if face.get("scores"):
            ranked = sorted(face["scores"].items(), key=lambda kv: -kv[1])
            scores = ", ".join(f"{e} {s:.2f}" for e, s in ranked[:3])
            eyes = {"open": ", eyes open", "closed": ", eyes closed"}.get(face.get("eyes") or "", ", eyes not told")
            lines.append(f"  face {i} at {left},{top_} size {width}x{height}: {face['emotion']} ({scores}){eyes}")
        else:
            lines.append(f"  face {i} at {left},{top_} size {width}x{height}: too small to read")
    tags = d["tags"] + ([d["eyes_tag"]] if d.get("eyes_tag") else [])
    lines.append(f"  tags: {', '.join(tags) or 'none'}")
    return "\n".join(lines)


# -- watch ---------------------------------------------------------------------------------------------------------


def summary(counts: dict) -> str:
    """What a watcher did since it started."""
    return (
        f"{counts.get('tagged', 0)} tagged, {counts.get('updated', 0)} updated, {counts.get('no_faces', 0)} no faces, "
        f"{counts.get('skipped', 0)} skipped, {counts.get('unchanged', 0)} unchanged, "
        f"{counted(counts.get('error', 0), 'error')}"
    )


def describe_status(status: dict) -> str:
    """A watcher's status for a person."""
    done = status.get("done", {})
    if status["running"]:
        head = f"watcher {status['pid']}: running since {status['started']} ({status['state']})"
    elif status.get("state") == "stopped":
        head = f"watcher {status['pid']}: stopped at {status['updated']}"
    else:
        head = f"watcher {status['pid']}: not running; it ended without stopping (last seen {status['updated']})"
    lines = [
        head,
        f"  folders: {', '.join(status.get('folders', []))} ({status.get('observer', '?')})",
        f"  since start: {summary(done)}",
        f"  queued: {status.get('queued', 0)}",
    ]
    if status.get("last"):
        last = status["last"]
        lines.append(f"  last: {last['status']} {last['path']} at {last['at']}")
    return "\n".join(lines)


NO_WATCHER = "no watcher has run yet"


def describe_result(result: PhotoResult, dry_run: bool) -> str:
    """One line per photo, for the operator's log (a line break in a name is shown escaped)."""
    path = shown(result.path)
    if result.status == Status.TAGGED:
        verb = "would tag" if dry_run else "tagged"
        tags = result.tags + ([result.eyes_tag] if result.eyes_tag else [])
        return f"{verb} {path}: {', '.join(tags) or 'no emotion above the threshold'}"
    if result.status == Status.NO_FACES:
        return f"no faces {path}"
    if result.status == Status.SKIPPED:
        return f"skipped {path}: faces too small to read"
    if result.status == Status.UPDATED:
        verb = "would update" if dry_run else "updated"
        return f"{verb} {path}: {', '.join(result.tags) or 'no emotion tag'} ({changes(result)})"
    if result.status == Status.UNCHANGED:
        return f"unchanged {path}: already tagged by this model"
    if result.status == Status.LEFT_UNTAGGED:
        return f"left untagged {path}: its tags were taken off with emotag untag"
    return f"error {path}: {result.error}"


def changes(result: PhotoResult) -> str:
    """The tags a photo gained and lost, for a person: "added Sad; removed Happy"."""
    said = [f"added {', '.join(result.added)}"] if result.added else []
    said += [f"removed {', '.join(result.removed)}"] if result.removed else []
    return "; ".join(said) or "tags as before"


class WatchLog:
    """What the watcher tells: a line per photo and per event on stderr (time-stamped, unless journald stamps
    them), and with `--json` each result as a JSON line on stdout. The CLI hands it to the `Watcher`."""

    def __init__(self, dry_run: bool = False, as_json: bool = False):
        self.dry_run = dry_run
        self.as_json = as_json
        self._stamp = "JOURNAL_STREAM" not in os.environ  # journald stamps lines itself

    def say(self, message: str) -> None:
        stamp = f"{datetime.now():%Y-%m-%d %H:%M:%S} " if self._stamp else ""
        print(f"{stamp}emotag: {message}", file=sys.stderr, flush=True)

    def result(self, result: PhotoResult) -> None:
        self.say(describe_result(result, self.dry_run))
        if self.as_json:
            print(json.dumps(result.to_json()), flush=True)

    def watching(self, roots: list[Path], poll_seconds: float | None, caught_up: int) -> None:
        kind = f"polling every {poll_seconds:g} s" if poll_seconds else "file system events"
        self.say(f"watching {', '.join(map(str, roots))} ({kind}); {counted(caught_up, 'photo')} to catch up")

    def rescanned(self, queued: int) -> None:
        self.say(f"events were lost; looked through the folders again: {counted(queued, 'photo')} queued")

    def gone(self, root: Path) -> None:
        self.say(f"{root} is gone (deleted or unmounted); no longer watched")

    def pool(self, jobs: int) -> None:
        self.say(f"a long backlog: starting {jobs} worker processes")

    def stopped(self, counts: dict, left: int) -> None:
        self.say(f"stopped: {summary(counts)}; {left} left for the next start")
