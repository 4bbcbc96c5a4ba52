"""SIGTERM as a request: the loop saves at the end of the current step and returns."""

from __future__ import annotations

import signal
import threading
from types import FrameType, TracebackType


class StopRequest:
    """While entered, SIGTERM sets `requested` instead of killing the process (main thread only)."""

    def __init__(self) -> None:
        self.requested = False
        self.reason = "sigterm"
        self._previous: object = None
        self._installed = False

    def _handle(self, signal_number: int, frame: FrameType | None) -> None:
        self.request("sigterm")

    def request(self, reason: str) -> None:
        """Stop after the current step (checkpoint saved), recording why."""
        if not self.requested:
            self.requested, self.reason = True, reason

    def __enter__(self) -> StopRequest:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGTERM, self._handle)
            self._installed = True
        return self

    def __exit__(
        self,
        error_type: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._installed:
            signal.signal(signal.SIGTERM, self._previous)  # type: ignore[arg-type]
            self._installed = False
