"""Remember which photos are done, so a second run over an archive takes minutes and a stopped run resumes.

One small SQLite file in the user's data folder: per photo its size, modification time, the model version that
read it and the outcome. A photo whose size or time changed since is read again. A missing or corrupt ledger is
rebuilt empty: the photos' own metadata still says which are tagged, so nothing is lost but time.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from pathlib import Path
from typing import NamedTuple

from emotag.errors import EmotagError

log = logging.getLogger("emotag")

SCHEMA = """
CREATE TABLE IF NOT EXISTS photos (
    path TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    model_version TEXT NOT NULL,
    status TEXT NOT NULL,
    done_at REAL NOT NULL,
    settings TEXT NOT NULL DEFAULT '',
    tags TEXT NOT NULL DEFAULT ''
)
"""
LEFT_UNTAGGED = """
CREATE TABLE IF NOT EXISTS left_untagged (
    path TEXT PRIMARY KEY,
    untagged_at REAL NOT NULL
)
"""
"""Photos `emotag untag` took emotag's tags off: the user's decision, so folder runs and watchers leave them alone
(by path, whatever later edits do to their size and time) until `emotag tag --force` names them."""


class Done(NamedTuple):
    """How a photo was left: its status and the tags it carries."""

    status: str
    tags: list[str]


def default_location() -> Path:
    override = os.environ.get("EMOTAG_DATA_DIR")
    if override:
        return Path(override) / "ledger.sqlite"
    from platformdirs import user_data_dir

    return Path(user_data_dir("emotag")) / "ledger.sqlite"


class LedgerError(EmotagError):
    """The ledger cannot be kept where it should be; the message says where, why, and what to do."""


class Ledger:
    """Which photos are done, for which model version."""

    def __init__(self, location: Path | None = None):
        self.location = location or default_location()
        try:
            self.location.parent.mkdir(parents=True, exist_ok=True)
            self._db = self._open_or_start_anew()
        except (OSError, sqlite3.Error) as error:
            raise LedgerError(
                f"cannot keep the record of tagged photos in {self.location.parent} ({error}); "
                "set EMOTAG_DATA_DIR to a folder you can write to"
            ) from None

    def _open_or_start_anew(self) -> sqlite3.Connection:
        """A corrupt or outdated ledger is replaced (its photos are looked at again); in a folder emotag may not
        write, there is nothing to replace it with."""
        try:
            return self._open()
        except sqlite3.DatabaseError as error:
            if not os.access(self.location.parent, os.W_OK):
                raise
            log.warning("%s: ledger unreadable (%s); starting a new one", self.location, error)
            self.location.unlink(missing_ok=True)
            return self._open()

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.location, timeout=30)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")  # a power cut may cost the last records (time), never the file
        db.execute(SCHEMA)
        db.execute(LEFT_UNTAGGED)
        db.execute("SELECT settings, tags FROM photos LIMIT 1").fetchall()  # corrupt or outdated files fail here
        return db

    def is_done(self, path: Path, model_version: str, settings: str | None = None) -> Done | None:
        """How this very file (same size and time) was left by this model version (and these tag settings)."""
        try:
            stat = path.stat()
        except OSError:
            return None
        row = self._db.execute(
            "SELECT status, tags, settings FROM photos WHERE path=? AND size=? AND mtime_ns=? AND model_version=?",
            (_key(path), stat.st_size, stat.st_mtime_ns, model_version),
        ).fetchone()
        if not row or (settings is not None and row[2] != settings):
            return None
        return Done(row[0], [tag for tag in row[1].split("\n") if tag])

    def record(self, path: Path, model_version: str, status: str, settings: str = "", tags=()) -> None:
        """Remember how a photo was left; a photo tagged again (`--force`) is no longer left untagged."""
        try:
            stat = path.stat()
        except OSError:
            return
        self._db.execute("DELETE FROM left_untagged WHERE path=?", (_key(path),))
        self._db.execute(
            "INSERT OR REPLACE INTO photos VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (_key(path), stat.st_size, stat.st_mtime_ns, model_version, status, time.time(), settings, "\n".join(tags)),
        )
        self._db.commit()

    def forget(self, path: Path) -> None:
        self._db.execute("DELETE FROM photos WHERE path=?", (_key(path),))
        self._db.commit()

    def leave_untagged(self, path: Path) -> None:
        """The user took emotag's tags off this photo: forget it as done, and leave it alone from now on."""
        key = _key(path)
        self._db.execute("DELETE FROM photos WHERE path=?", (key,))
        self._db.execute("INSERT OR REPLACE INTO left_untagged VALUES (?, ?)", (key, time.time()))
        self._db.commit()

    def is_left_untagged(self, path: Path) -> bool:
        return self._db.execute("SELECT 1 FROM left_untagged WHERE path=?", (_key(path),)).fetchone() is not None

    def close(self) -> None:
        self._db.close()


def _key(path: Path) -> str:
    """The photo's absolute path as text SQLite can store: bytes of a name that is not UTF-8 as \\xNN escapes."""
    return os.fsencode(os.path.abspath(path)).decode("utf-8", "backslashreplace")


class NullLedger:
    """A ledger that remembers nothing: for a Dask worker, which leaves the ledger to its client (SQLite over a
    network share is unsafe). It has `Ledger`'s methods, so that no caller needs a branch for "no ledger"."""

    def is_done(self, path: Path, model_version: str, settings: str | None = None) -> Done | None:
        return None

    def record(self, path: Path, model_version: str, status: str, settings: str = "", tags=()) -> None:
        pass

    def forget(self, path: Path) -> None:
        pass

    def leave_untagged(self, path: Path) -> None:
        pass

    def is_left_untagged(self, path: Path) -> bool:
        return False

    def close(self) -> None:
        pass
