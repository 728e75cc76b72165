"""The watcher's status file: what `emotag watch --status` reads of each watcher, written whole on each change.

One JSON file per watcher process, named by its pid, in the folder beside the ledger. A watcher that ended
without stopping (killed, a power cut) leaves its file; the next watcher removes those of dead processes.
"""

from __future__ import annotations

import json
import logging
import os
from datetime import datetime
from pathlib import Path

from emotag.ledger import default_location

log = logging.getLogger("emotag")


def status_folder() -> Path:
    return default_location().parent / "watch"


def now_text() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


def is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def write_status(path: Path, status: dict) -> None:
    """Write the status file whole (a temporary file renamed over it), so a reader never sees half of it."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(status, indent=1), encoding="utf-8")
    temporary.replace(path)


def read_statuses(folder: Path | None = None) -> list[dict]:
    """Every watcher's last status, with `running` set from whether its process is alive."""
    folder = folder or status_folder()
    statuses = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            status = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        status["running"] = status.get("state") != "stopped" and is_running(int(status.get("pid", 0)))
        statuses.append(status)
    return statuses


class StatusFile:
    """This watcher's status file: told the whole status on each change, it writes it (a failure is a warning:
    the watch goes on without it)."""

    def __init__(self, folder: Path | None = None):
        self.path = (folder or status_folder()) / f"{os.getpid()}.json"

    def forget_dead_watchers(self) -> None:
        """Make the folder, and remove the files of watchers whose process is gone."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for status in read_statuses(self.path.parent):
            if not status["running"]:
                (self.path.parent / f"{status['pid']}.json").unlink(missing_ok=True)

    def save(self, status: dict) -> None:
        try:
            write_status(self.path, status)
        except OSError as error:
            log.warning("cannot write the status file %s: %s", self.path, error)
