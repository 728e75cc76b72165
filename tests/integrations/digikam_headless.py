"""Run the real digiKam (Debian's 7.9) headless under Xvfb and read the tags it took into its database.

digiKam has no scripting door, so it is driven through its files: a digikamrc that skips the first-run
assistant, a first start that creates the SQLite database, the photo folder added to it as a collection
(a row in AlbumRoots, as digiKam's collection settings would add a network share), and a second start whose
startup scan reads every photo's metadata. Each start is ended once the database shows the awaited state.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

STARTUP_SCAN_SECONDS = 120
SETTLE_SECONDS = 3  # the scanner writes a photo's row before its tags

DIGIKAMRC = """[Album Settings]
Scan At Start=true

[General Settings]
Version=7.9.0
Show Splash=false
"""

NETWORK_SHARE = 3  # AlbumRoot::Type: a path that is there, with no volume to identify


def read_collection(folder: Path, home: Path) -> dict[str, set[str]]:
    """Each photo's tags (as 'Emotion/Happy') once digiKam has scanned `folder` as its only collection."""
    (home / "config").mkdir(parents=True, exist_ok=True)
    (home / "db").mkdir(exist_ok=True)
    (home / "config" / "digikamrc").write_text(DIGIKAMRC, encoding="utf-8")
    database = home / "db" / "digikam4.db"

    _run_until(home, lambda: _query(database, "SELECT count(*) FROM AlbumRoots") is not None, "create its database")
    with sqlite3.connect(database) as db:
        db.execute(
            "INSERT INTO AlbumRoots (label, status, type, identifier, specificPath) VALUES (?, 0, ?, ?, '/')",
            ("photos", NETWORK_SHARE, f"networkshareid:?mountpath={folder}"),
        )
    photos = sum(1 for path in folder.iterdir() if path.suffix.lower() in (".jpg", ".jpeg"))
    _run_until(home, lambda: (_query(database, "SELECT count(*) FROM Images") or 0) >= photos, "scan the photos")
    return _tags_by_photo(database)


def _query(database: Path, sql: str) -> int | None:
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=1) as db:
            return db.execute(sql).fetchone()[0]
    except sqlite3.Error:
        return None


def _tags_by_photo(database: Path) -> dict[str, set[str]]:
    with sqlite3.connect(database) as db:
        names = {tag_id: (parent, name) for tag_id, parent, name in db.execute("SELECT id, pid, name FROM Tags")}
        rows = db.execute(
            "SELECT Images.name, ImageTags.tagid FROM Images LEFT JOIN ImageTags ON ImageTags.imageid = Images.id"
        ).fetchall()

    def path(tag_id: int) -> str:
        parent, name = names[tag_id]
        return f"{path(parent)}/{name}" if parent else name

    tags: dict[str, set[str]] = {}
    for photo, tag_id in rows:
        tags.setdefault(photo, set())
        if tag_id is not None:
            tags[photo].add(path(tag_id))
    return tags


def _run_until(home: Path, ready: Callable[[], bool], what: str) -> None:
    """Start digiKam; end it (all of it: Xvfb and QtWebEngine too) once `ready()` holds, or fail."""
    environment = {
        **os.environ,
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_CACHE_HOME": str(home / "cache"),
        "QTWEBENGINE_DISABLE_SANDBOX": "1",  # its sandbox refuses to run as root, as CI does
        "LIBGL_ALWAYS_SOFTWARE": "1",
    }
    command = ["xvfb-run", "-a", "digikam", "--database-directory", str(home / "db")]
    log_file = home / "digikam.log"
    started = time.monotonic()
    with (
        open(log_file, "a") as log,
        subprocess.Popen(
            command, env=environment, cwd=home, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        ) as process,
    ):
        try:
            while not ready():
                if process.poll() is not None:
                    raise AssertionError(f"digiKam stopped before it could {what}:\n{log_file.read_text()[-3000:]}")
                if time.monotonic() - started > STARTUP_SCAN_SECONDS:
                    raise AssertionError(f"digiKam did not {what} in {STARTUP_SCAN_SECONDS} s")
                time.sleep(0.5)
            time.sleep(SETTLE_SECONDS)
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
