"""A plain-text progress line on a stream (``\\r`` redraws, no dependency)."""

from __future__ import annotations

import sys
import time
from typing import TextIO

_WIDTH = 24


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}"


class ProgressLine:
    """Redraws one line: a bar when the goal is known, the count, the rate, the time.

    The goal is an event count, a duration, or neither (a spinner-less open count).
    Redraws are throttled to ``interval`` seconds so drawing never costs throughput.
    """

    def __init__(
        self,
        *,
        total: int | None = None,
        duration: float | None = None,
        stream: TextIO | None = None,
        interval: float = 0.2,
        label: str = "events",
    ) -> None:
        """Prepare a line; nothing is drawn until :meth:`update`."""
        self.total = total
        self.duration = duration
        self.stream = stream if stream is not None else sys.stderr
        self.interval = interval
        self.label = label
        self._start = time.monotonic()
        self._last_draw = 0.0
        self._width = 0

    def update(self, done: int, *, force: bool = False) -> None:
        """Show ``done`` events so far (throttled unless ``force``)."""
        now = time.monotonic()
        if not force and now - self._last_draw < self.interval:
            return
        self._last_draw = now
        elapsed = now - self._start
        rate = done / elapsed if elapsed > 0 else 0.0
        fraction: float | None = None
        if self.total:
            fraction = done / self.total
        elif self.duration:
            fraction = elapsed / self.duration
        parts = []
        if fraction is not None:
            filled = int(min(1.0, fraction) * _WIDTH)
            parts.append(f"[{'#' * filled}{'.' * (_WIDTH - filled)}] {min(1.0, fraction):4.0%}")
        count = f"{done:,}/{self.total:,}" if self.total else f"{done:,}"
        parts.append(f"{count} {self.label}")
        parts.append(f"{rate:,.0f}/s")
        parts.append(_clock(elapsed))
        line = "  ".join(parts)
        # Pad over the previous, possibly longer, line.
        self.stream.write("\r" + line.ljust(self._width))
        self.stream.flush()
        self._width = len(line)

    def close(self, done: int) -> None:
        """Draw the final state and end the line."""
        self.update(done, force=True)
        self.stream.write("\n")
        self.stream.flush()
