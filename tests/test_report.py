"""Issue 17, "seeing what was done" and "`top` albums": `emotag report`, `top`'s progress, and albums that a
second run replaces without touching the user's files and that `top` does not rank again."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import shutil
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

from tests.helpers import HAPPY_PHOTO, NEUTRAL_PHOTO, NO_FACE_PHOTOS, json_lines, run_emotag


@pytest.mark.slow
def test_report_counts_photos_per_tag_per_folder_from_the_photos(album):
    trip = album / "trip"
    trip.mkdir()
    for name in (HAPPY_PHOTO, NEUTRAL_PHOTO):
        shutil.copy(album / name, trip / name)
    (trip / "empty.jpg").write_bytes(b"")
    run_emotag("tag", str(trip), str(album / HAPPY_PHOTO))  # exits 1 for empty.jpg; the rest is tagged
    # the user takes Neutral away with ExifTool, as a photo manager does: it is no longer counted
    subprocess.run(
        ["exiftool", "-q", "-overwrite_original", "-XMP-dc:Subject-=Neutral",
         "-XMP-lr:HierarchicalSubject-=Emotion|Neutral", "-XMP-digiKam:TagsList-=Emotion/Neutral",
         "-IPTC:Keywords-=Neutral", str(trip / NEUTRAL_PHOTO)],
        check=True,
    )  # fmt: skip

    result = run_emotag("report", "--json", str(album))
    assert result.returncode == 1, result.stderr  # empty.jpg
    lines = json_lines(result.stdout)
    by_folder = {line["folder"]: line for line in lines}
    assert by_folder[str(album)] == {
        "folder": str(album), "photos": 4, "read": 1, "tagged": 1, "unread": 3, "errors": 0, "tags": {"Happy": 1},
    }  # fmt: skip
    assert by_folder[str(trip)] == {
        "folder": str(trip), "photos": 3, "read": 2, "tagged": 1, "unread": 0, "errors": 1, "tags": {"Happy": 1},
    }  # fmt: skip
    total = lines[-1]
    assert total["folder"] is None and total["folders"] == 2
    counts = (total["photos"], total["read"], total["tagged"], total["errors"], total["tags"])
    assert counts == (7, 3, 2, 1, {"Happy": 2})
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(errors) == 1 and "empty.jpg" in errors[0] and "Traceback" not in result.stderr

    words = run_emotag("report", str(trip)).stdout.splitlines()
    assert words[0] == f"{trip}: 3 photos, 2 read by emotag, 1 tagged (Happy 1), 1 error"
    assert words[-1] == "all (1 folder): 3 photos, 2 read by emotag, 1 tagged (Happy 1), 1 error"


@pytest.mark.slow
def test_report_needs_no_model(album, tmp_path):
    run_emotag("tag", str(album / HAPPY_PHOTO), check=True)
    result = run_emotag("report", str(album), env={"EMOTAG_MODEL_DIR": str(tmp_path)}, check=True)
    assert "1 tagged (Happy 1)" in result.stdout


def on_a_terminal(*args: str) -> tuple[int, str]:
    """Run emotag with its stderr on a pseudo-terminal, as in a person's shell; what the terminal showed."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))  # a terminal 120 wide
    process = subprocess.Popen([sys.executable, "-m", "emotag.cli", *args], stdout=subprocess.DEVNULL, stderr=follower)
    os.close(follower)
    shown = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the terminal closed: emotag ended
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    return process.wait(timeout=300), shown.decode("utf-8", "replace")


@pytest.mark.slow
def test_top_shows_progress_while_it_reads_untagged_photos(album):
    status, shown = on_a_terminal("top", "happy", str(album), "-n", "2")
    assert status == 0
    assert "reading faces" in shown and re.search(r"\b[1-4]/4 \[", shown) and "photo/s" in shown, shown


def top_into(album_folder: Path, *sources: Path, count: int = 2, link: bool = True) -> subprocess.CompletedProcess:
    option = "--link-to" if link else "--copy-to"
    return run_emotag("top", "happy", *map(str, sources), "-n", str(count), option, str(album_folder), "--json")


@pytest.mark.slow
def test_a_second_top_replaces_what_emotag_put_in_the_album_and_nothing_else(album, tmp_path):
    best = tmp_path / "best"
    best.mkdir()
    mine = best / "001_my-own.jpg"  # a file of the user's, named as emotag names its own
    shutil.copy(album / NO_FACE_PHOTOS[0], mine)
    (best / "notes.txt").write_text("my notes")
    first = top_into(best, album, count=2)
    assert first.returncode == 0, first.stderr
    assert sorted(p.name for p in best.iterdir() if p.is_symlink()) == [f"001_{HAPPY_PHOTO}", f"002_{NEUTRAL_PHOTO}"]

    # a second run, now only one photo, into the same folder: emotag's two links go, the one new link comes
    second = top_into(best, album / NEUTRAL_PHOTO, count=1)
    assert second.returncode == 0, second.stderr
    links = sorted(p.name for p in best.iterdir() if p.is_symlink())
    assert links == [f"001_{NEUTRAL_PHOTO}"]
    assert (best / links[0]).resolve() == (album / NEUTRAL_PHOTO).resolve()
    assert mine.is_file() and not mine.is_symlink() and (best / "notes.txt").read_text() == "my notes"

    # copies too; one the user changed since (here: retagged with a keyword) is theirs and stays
    copies = tmp_path / "copies"
    top_into(copies, album, count=2, link=False)
    changed = copies / f"002_{NEUTRAL_PHOTO}"
    subprocess.run(["exiftool", "-q", "-overwrite_original", "-XMP-dc:Subject+=Keep", str(changed)], check=True)
    again = top_into(copies, album / HAPPY_PHOTO, count=1, link=False)
    assert again.returncode == 0, again.stderr
    assert sorted(p.name for p in copies.iterdir() if not p.name.startswith(".")) == [
        f"001_{HAPPY_PHOTO}",
        f"002_{NEUTRAL_PHOTO}",
    ]
    assert changed.is_file()


@pytest.mark.slow
def test_an_album_inside_the_searched_folder_is_not_ranked_again(album):
    inside = album / "happiest"
    made = top_into(inside, album, count=2, link=False)
    assert made.returncode == 0, made.stderr
    assert len([p for p in inside.iterdir() if p.suffix == ".jpg"]) == 2
    again = run_emotag("top", "happy", str(album), "-n", "10", "--json", check=True)
    ranked = [Path(r["path"]) for r in json_lines(again.stdout)]
    assert sorted(p.name for p in ranked) == sorted([HAPPY_PHOTO, NEUTRAL_PHOTO]), ranked
    assert all(p.parent == album for p in ranked), ranked
