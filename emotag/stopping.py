"""Stopping a run: SIGTERM and SIGINT while `emotag tag` runs finish the photos in hand; a second stops at once."""

from __future__ import annotations

import signal


class Stop:
    """A request to stop, made by a signal handler: no photo is started after it, those in hand are finished.

    A plain flag, not an Event: a signal handler runs in the main thread, between any two of its steps."""

    def __init__(self) -> None:
        self.requested = False

    def __bool__(self) -> bool:
        return self.requested


NEVER = Stop()


class StopNow(BaseException):
    """A second stop signal: the run stops at once (a BaseException, like KeyboardInterrupt, so that no "one
    photo's failure" handler takes it for a photo's error)."""


class StopSignals:
    """SIGTERM and SIGINT (Ctrl-C) while `tag` runs: the first finishes the photos in hand, then the summary says
    what was done; a second stops the workers at once. The exit status is then 128 + the signal's number."""

    def __init__(self) -> None:
        self.stop = Stop()
        self.number: int | None = None

    def __enter__(self) -> StopSignals:
        self._before = {number: signal.signal(number, self._on_signal) for number in (signal.SIGTERM, signal.SIGINT)}
        return self

    def __exit__(self, *exc) -> None:
        for number, handler in self._before.items():
            signal.signal(number, handler)

    def _on_signal(self, number, frame) -> None:
        if self.stop:
            raise StopNow()
        self.stop.requested = True
        self.number = number

    @property
    def name(self) -> str:
        return "Ctrl-C" if self.number == signal.SIGINT else signal.Signals(self.number).name
