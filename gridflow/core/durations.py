"""Duration strings in configuration: ``"30m"``, ``"4h"``, ``"1h30m"``, ``"2d"``, ``"0d"``.

Syntax: one or more ``<integer><unit>`` parts, units ``d`` (days), ``h`` (hours), ``m``
(minutes), ``s`` (seconds), largest unit first, each unit at most once, no spaces, no
sign, no fractions. ``"90m"`` and ``"1h30m"`` are the same duration.

A duration is only an amount; whether it counts working hours, working days or the wall
clock is the SLA policy's ``clock``, never a suffix on the number. So there is no
``"wd"`` unit: ``resolve: 3d`` under ``clock: working_days`` *is* three working days.
A caller narrows the units a clock accepts with ``units`` (a working-days policy takes
only ``d``; a working-hours policy refuses ``d`` because "a day of working time" is
ambiguous between 24 hours and one working day).
"""

from __future__ import annotations

import re
from datetime import timedelta

__all__ = ["DurationError", "format_duration", "parse_duration"]

_UNITS: dict[str, int] = {"d": 86400, "h": 3600, "m": 60, "s": 1}
_PART = re.compile(r"([0-9]+)([a-z]+)")
_EXAMPLES = '"30m", "4h", "1h30m", "2d"'


class DurationError(ValueError):
    """A duration string is malformed or uses a unit its context does not allow."""


def parse_duration(text: object, *, units: str = "dhms") -> timedelta:
    """Parse a duration string into a ``timedelta``.

    ``units`` lists the unit letters allowed here (default: all of ``dhms``).
    Raises ``DurationError`` with a message meant for the person editing the file.
    """
    if isinstance(text, bool) or not isinstance(text, str):
        # A bare YAML number (``resolve: 4``) has no unit: refuse rather than guess.
        raise DurationError(
            f"duration must be a string with a unit such as {_EXAMPLES}, got {text!r}"
        )
    if not text:
        raise DurationError(f"empty duration; write e.g. {_EXAMPLES}")
    seconds = 0
    pos = 0
    previous_rank = -1
    order = list(_UNITS)
    for part in _PART.finditer(text):
        if part.start() != pos:
            break
        number, unit = part.groups()
        if unit not in _UNITS:
            raise DurationError(
                f"bad duration {text!r}: unknown unit {unit!r} (use d, h, m or s; "
                "the policy's clock decides whether they are working or wall time)"
            )
        rank = order.index(unit)
        if rank <= previous_rank:
            raise DurationError(
                f"bad duration {text!r}: units must go from largest to smallest, each once"
            )
        if unit not in units:
            allowed = ", ".join(u for u in order if u in units)
            raise DurationError(f"duration {text!r} uses unit {unit!r}; allowed here: {allowed}")
        previous_rank = rank
        seconds += int(number) * _UNITS[unit]
        pos = part.end()
    if pos != len(text) or pos == 0:
        raise DurationError(f"bad duration {text!r}; write e.g. {_EXAMPLES}")
    return timedelta(seconds=seconds)


def format_duration(value: timedelta) -> str:
    """The canonical string for a whole-second, non-negative duration (``"1h30m"``, ``"0s"``).

    ``parse_duration(format_duration(d)) == d`` for every such ``d``.
    """
    total = value.total_seconds()
    if total < 0 or total != int(total):
        raise DurationError(f"cannot format {value!r}: only whole, non-negative seconds")
    remaining = int(total)
    parts: list[str] = []
    for unit, size in _UNITS.items():
        count, remaining = divmod(remaining, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"
