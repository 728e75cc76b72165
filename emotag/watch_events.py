"""What wakes the watcher: the file system's events (through watchdog), finished work and signals.

The main thread sleeps in `select` on a wake-up socket that all of them write to, so an idle watcher wakes for
nothing. The events only say *which* paths to look at: the handler notes candidate photos in `Arrivals` and never
reads a photo or touches the ledger.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import socket
from collections.abc import Callable
from pathlib import Path

from emotag.arrivals import Arrivals, is_candidate
from emotag.exclusions import Exclusions

POLL_SECONDS = 2.0
"""How often `--polling` lists the folders."""


class Waker:
    """A socket pair the main thread sleeps on; any thread, or a signal, wakes it by writing a byte."""

    def __init__(self):
        self._read, self._write = socket.socketpair()
        self._read.setblocking(False)
        self._write.setblocking(False)

    def fileno(self) -> int:
        return self._write.fileno()

    def wake(self) -> None:
        with contextlib.suppress(OSError):  # a full buffer: a wake-up is already pending
            self._write.send(b"!")

    def sleep(self, timeout: float | None) -> None:
        select.select([self._read], [], [], timeout)
        with contextlib.suppress(OSError):
            while self._read.recv(4096):
                pass

    def close(self) -> None:
        self._read.close()
        self._write.close()


def _observer_events():
    from watchdog.events import (
        DirCreatedEvent,
        DirDeletedEvent,
        DirMovedEvent,
        FileClosedEvent,
        FileCreatedEvent,
        FileDeletedEvent,
        FileModifiedEvent,
        FileMovedEvent,
    )

    return [
        FileCreatedEvent,
        FileModifiedEvent,
        FileClosedEvent,
        FileMovedEvent,
        FileDeletedEvent,
        DirCreatedEvent,
        DirDeletedEvent,
        DirMovedEvent,
    ]


def make_handler(
    roots: list[Path], arrivals: Arrivals, waker: Waker, gone: set[Path], exclusions: Exclusions | None = None
):
    """A watchdog handler that notes candidate photos; it never reads a photo or touches the ledger.

    A watched folder that is deleted or unmounted goes into `gone`."""
    from watchdog.events import FileSystemEventHandler

    class ArrivalsHandler(FileSystemEventHandler):
        def on_any_event(self, event) -> None:
            if event.is_directory:
                # a folder's files come as their own events (watchdog walks a folder moved in)
                if event.event_type == "deleted" and Path(os.fsdecode(event.src_path)) in roots:
                    gone.add(Path(os.fsdecode(event.src_path)))
                    waker.wake()
                return
            if event.event_type == "deleted":
                arrivals.forget(Path(os.fsdecode(event.src_path)))
                return
            if event.event_type == "moved":
                arrivals.forget(Path(os.fsdecode(event.src_path)))
                path = Path(os.fsdecode(event.dest_path))
            else:
                path = Path(os.fsdecode(event.src_path))
            if is_candidate(path, roots, exclusions) and arrivals.note(path):
                waker.wake()

    return ArrivalsHandler()


def observe(roots: list[Path], handler, polling: bool):
    """Start watchdog's observer over `roots`: the kernel's events, or `--polling`'s listings."""
    if polling:
        from watchdog.observers.polling import PollingObserverVFS

        # lstat: a linked folder is listed as a link, not walked (a link back up the tree would never end)
        observer = PollingObserverVFS(stat=os.lstat, listdir=os.scandir, polling_interval=POLL_SECONDS)
    else:
        from watchdog.observers import Observer

        observer = Observer()
    for root in roots:
        observer.schedule(handler, str(root), recursive=True, event_filter=_observer_events())
    observer.daemon = True
    observer.start()
    return observer


class OverflowAlarm(logging.Handler):
    """watchdog only logs when the kernel drops events (a very large import): take that as a call to rescan."""

    def __init__(self, alarm: Callable[[], None]):
        super().__init__(logging.WARNING)
        self.alarm = alarm

    def emit(self, record: logging.LogRecord) -> None:
        if "overflow" in record.getMessage().lower():
            self.alarm()
