"""SLA policies (督办时限) and the deadline arithmetic of their stages.

A case runs one stage at a time: ``accept`` (受理, from dispatch), ``resolve`` (处置, from
acceptance) and optionally ``verify`` (核查, from the resolution report). Each stage's
deadline is counted on the policy's clock:

* ``working_hours``: only time inside the calendar's working periods on workdays counts
  (``WorkCalendar.add_working_time``);
* ``working_days``: close of business of the N-th workday after the receiving day
  (``WorkCalendar.add_working_days``; ``0d`` is the receiving day itself, 当日办结);
* ``wall``: plain elapsed time, 24/7 (emergencies).

Escalation (督办): when a stage's deadline passes, the centre of the tier above supervises
the case and the centre that missed keeps handling it, with a deadline for the *same*
stage counted from the moment of escalation on the policy's ``supervise`` time (the full
stage again only for a policy without one); see ``gridflow.core.supervision``. A miss with
the city supervising is an ``sla_breach``.

``scale`` (``GRIDFLOW_SLA_SCALE``) compresses the whole interval after it is computed:
``start + (deadline - start) * scale``, so nights, weekends and holidays shrink with it and
a drill at ``0.001`` still shows the calendar's shape. Results are in the tzinfo of
``start``.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from gridflow.core.bounded_cache import remember
from gridflow.core.durations import DurationError, parse_duration
from gridflow.core.load_errors import ConfigLoadError
from gridflow.core.workcalendar import WorkCalendar
from gridflow.core.yaml_lines import YamlMapping, check_keys, did_you_mean, load_yaml

__all__ = [
    "CLOCKS",
    "STAGES",
    "Clock",
    "ExtensionVerdict",
    "SlaPolicy",
    "Stage",
    "extension_verdict",
    "load_policies",
    "stage_deadline",
    "stage_timestamps",
    "stage_warning",
    "warning_time",
]

Clock = Literal["working_hours", "working_days", "wall"]
Stage = Literal["accept", "resolve", "verify"]
CLOCKS: tuple[Clock, ...] = ("working_hours", "working_days", "wall")
STAGES: tuple[Stage, ...] = ("accept", "resolve", "verify")
_ZERO = timedelta(0)
_US = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class SlaPolicy:
    """A named set of stage time limits on one clock.

    Under ``working_days`` the durations are whole days (``timedelta(days=n)`` means n
    working days); under the other clocks they are amounts of working or wall time.
    ``max_extension`` is on the same clock. ``verify`` ``None``: verification is untimed.
    """

    name: str
    clock: Clock
    accept: timedelta
    resolve: timedelta
    verify: timedelta | None
    warn_at: float
    max_extensions: int
    max_extension: timedelta
    #: Name of the calendar.yaml calendar its working time is counted on ("office" by
    #: default; e.g. "every_day" for 环卫, who work weekends and holidays).
    calendar: str = "office"
    #: the tighter policy a ``high`` case runs under instead (``None``: this one).
    high: str | None = None
    #: 督办: the time a centre that missed a deadline (and the tier above that now
    #: supervises it) gets to finish the stage; ``None``: the full stage again.
    supervise: timedelta | None = None
    #: a resolved case may close only once the supervising side has verified it.
    close_requires_verify: bool = True
    #: 回访: a 不满意 answer reopens the case (back to the handler for rework).
    reopen_unsatisfied: bool = True

    def stage_amount(self, stage: Stage) -> timedelta | None:
        """The time limit of ``stage`` (``None`` for an untimed verify)."""
        if stage == "accept":
            return self.accept
        if stage == "resolve":
            return self.resolve
        if stage == "verify":
            return self.verify
        raise ValueError(f"unknown SLA stage {stage!r}")

    def supervised(self) -> SlaPolicy | None:
        """The policy a missed stage runs under once the tier above supervises it (督办):
        every stage the ``supervise`` time; ``None`` without one (the full stage again)."""
        if self.supervise is None:
            return None
        return replace(self, accept=self.supervise, resolve=self.supervise, verify=self.supervise)


def _advance(calendar: WorkCalendar, clock: Clock, start: datetime, amount: timedelta) -> datetime:
    if clock == "working_hours":
        return calendar.add_working_time(start, amount)
    if clock == "working_days":
        return calendar.add_working_days(start, amount.days)
    return start + amount


def _scaled(start: datetime, end: datetime, scale: float) -> datetime:
    if scale == 1.0:
        return end
    if scale <= 0:
        raise ValueError("scale must be positive")
    # Subtract in UTC: aware datetimes sharing a tzinfo subtract as wall times.
    span = end.astimezone(UTC) - start.astimezone(UTC)
    return start + span * scale


def stage_deadline(
    calendar: WorkCalendar,
    policy: SlaPolicy,
    stage: Stage,
    start: datetime,
    scale: float = 1.0,
) -> datetime:
    """When ``stage`` of a case under ``policy``, started at ``start``, runs out.

    ``start`` must be aware; the result is in its tzinfo. Raises ``ValueError`` for a
    stage the policy does not time (``verify`` without a limit) or a naive ``start``.
    """
    if start.tzinfo is None or start.utcoffset() is None:
        raise ValueError("start must be an aware datetime")
    amount = policy.stage_amount(stage)
    if amount is None:
        raise ValueError(f"policy {policy.name!r} has no {stage} time limit")
    return _scaled(start, _advance(calendar, policy.clock, start, amount), scale)


def warning_time(start: datetime, deadline: datetime, warn_at: float) -> datetime:
    """The moment ``warn_at`` (0-1) of the wall-clock interval ``start``-``deadline`` has passed.

    Cheap and calendar-free; for working-time policies it may fall in a night or a
    weekend. ``stage_warning`` places the warning on the policy's own clock instead.
    """
    span = deadline.astimezone(UTC) - start.astimezone(UTC)
    return start + span * warn_at


def stage_warning(
    calendar: WorkCalendar,
    policy: SlaPolicy,
    stage: Stage,
    start: datetime,
    scale: float = 1.0,
) -> datetime:
    """When to send the ``sla_warning`` for ``stage``: ``warn_at`` of its time on its clock.

    For working-time policies this is ``warn_at`` of the *working* time between ``start``
    and the unscaled deadline (so a 4-working-hour stage warns after 3h12m of working
    time, during working hours); for ``wall`` it equals ``warning_time``. ``scale``
    compresses the interval as in ``stage_deadline``.
    """
    return stage_times(calendar, policy, stage, start, scale)[1]


def stage_times(
    calendar: WorkCalendar,
    policy: SlaPolicy,
    stage: Stage,
    start: datetime,
    scale: float = 1.0,
) -> tuple[datetime, datetime]:
    """``(stage_deadline(...), stage_warning(...))`` with the calendar walked once.

    Opening a case and every stage change need both; the working-time walk is the
    expensive part of each, so the hot path asks for them together.
    """
    if start.tzinfo is None or start.utcoffset() is None:
        raise ValueError("start must be an aware datetime")
    amount = policy.stage_amount(stage)
    if amount is None:
        raise ValueError(f"policy {policy.name!r} has no {stage} time limit")
    deadline = _advance(calendar, policy.clock, start, amount)
    if policy.clock == "wall":
        warn = warning_time(start, deadline, policy.warn_at)
    else:
        # Measure from the first working instant so the fraction applies to working time.
        worked = calendar.working_time_between(start, deadline)
        warn = calendar.add_working_time(start, worked * policy.warn_at)
        if warn <= start:
            warn = warning_time(start, deadline, policy.warn_at)
    return _scaled(start, deadline, scale), _scaled(start, warn, scale)


def stage_timestamps(
    calendar: WorkCalendar,
    policy: SlaPolicy,
    stage: Stage,
    start: datetime,
    scale: float = 1.0,
) -> tuple[float, float]:
    """``stage_times`` as epoch seconds: ``(deadline.timestamp(), warning.timestamp())``.

    The engine's form. For a UTC ``start`` on days that keep one UTC offset (every day
    of a zone without daylight saving time) it walks the calendar in integer
    microseconds, which gives the same instants as the datetime arithmetic of
    ``stage_times`` at a fraction of the cost; otherwise it asks ``stage_times``.
    """
    found = _stage_micros(calendar, policy, stage, start, scale)
    if found is None:
        deadline, warn = stage_times(calendar, policy, stage, start, scale)
        return deadline.timestamp(), warn.timestamp()
    return found[0] / 1_000_000, found[1] / 1_000_000


def _stage_micros(
    calendar: WorkCalendar,
    policy: SlaPolicy,
    stage: Stage,
    start: datetime,
    scale: float,
) -> tuple[int, int] | None:
    """``stage_times`` as epoch µs, step for step, or ``None`` where it does not apply."""
    if start.tzinfo is not UTC or scale <= 0:
        return None
    amount = policy.stage_amount(stage)
    if amount is None or amount < _ZERO:
        return None
    local = start.astimezone(calendar.tzinfo)
    day = local.date()
    micros = ((local.hour * 60 + local.minute) * 60 + local.second) * 1_000_000
    micros += local.microsecond
    midnight = calendar.midnight_micros(day)
    if midnight is None:
        return None
    start_us = midnight + micros
    if policy.clock == "wall":
        deadline_us = start_us + amount // _US
        warn_us = start_us + _times(deadline_us - start_us, policy.warn_at)
    else:
        if policy.clock == "working_hours":
            if amount:
                end_day, end_micros = calendar.add_working_micros(day, micros, amount // _US)
            else:
                end_day, end_micros = day, micros
        else:
            end_day, end_micros = calendar.add_working_days_at(day, micros, amount.days)
        end_midnight = calendar.midnight_micros(end_day)
        if end_midnight is None:
            return None
        deadline_us = end_midnight + end_micros
        worked = 0
        if deadline_us > start_us:
            worked = calendar.working_micros_between(day, micros, end_day, end_micros)
        warn_amount = _times(worked, policy.warn_at)
        warn_us = start_us
        if warn_amount:
            warn_day, warn_micros = calendar.add_working_micros(day, micros, warn_amount)
            warn_midnight = calendar.midnight_micros(warn_day)
            if warn_midnight is None:
                return None
            warn_us = warn_midnight + warn_micros
        if warn_us <= start_us:
            warn_us = start_us + _times(deadline_us - start_us, policy.warn_at)
    if scale != 1.0:
        deadline_us = start_us + _times(deadline_us - start_us, scale)
        warn_us = start_us + _times(warn_us - start_us, scale)
    return deadline_us, warn_us


def _times(micros: int, factor: float) -> int:
    """``(timedelta(microseconds=micros) * factor) // _US`` in integers.

    timedelta * float multiplies the microseconds by the float's exact ratio and rounds
    half to even; doing the same here skips building two timedeltas per call.
    """
    ratio = _RATIOS.get(factor)
    if ratio is None:
        ratio = remember(_RATIOS, 256, factor, factor.as_integer_ratio())
    quotient, remainder = divmod(micros * ratio[0], ratio[1])
    twice = 2 * remainder
    if twice > ratio[1] or (twice == ratio[1] and quotient & 1):
        quotient += 1
    return quotient


#: float -> its exact ratio (warning fractions and scales: a handful of values).
_RATIOS: dict[float, tuple[int, int]] = {}


@dataclass(frozen=True, slots=True)
class ExtensionVerdict:
    """The answer to a 延期 request: granted with a new deadline, or refused with a reason."""

    granted: bool
    deadline: datetime
    reason: str


def extension_verdict(
    calendar: WorkCalendar,
    policy: SlaPolicy,
    current_deadline: datetime,
    requested_until: datetime,
    extensions_so_far: int,
    scale: float = 1.0,
) -> ExtensionVerdict:
    """Grant or refuse a request to move ``current_deadline`` to ``requested_until``.

    Refused when the policy's ``max_extensions`` are used up, when ``requested_until`` is
    not later than the current deadline, or when it goes beyond ``max_extension`` counted
    on the policy's clock from the current deadline (scaled like deadlines). A refusal
    keeps ``current_deadline``.
    """
    if extensions_so_far >= policy.max_extensions:
        return ExtensionVerdict(
            False,
            current_deadline,
            f"policy {policy.name} allows {policy.max_extensions} extension(s), "
            f"{extensions_so_far} used",
        )
    if requested_until <= current_deadline:
        return ExtensionVerdict(False, current_deadline, "until is not later than the deadline")
    limit = _scaled(
        current_deadline,
        _advance(calendar, policy.clock, current_deadline, policy.max_extension),
        scale,
    )
    if requested_until > limit:
        return ExtensionVerdict(
            False,
            current_deadline,
            f"until is later than the longest extension allowed ({limit.isoformat()})",
        )
    return ExtensionVerdict(True, requested_until, "granted")


_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
# Units a duration may use on each clock: a "day" of working hours is ambiguous (24 h or
# one working day?), and working days are whole days by definition.
_CLOCK_UNITS: dict[str, str] = {"working_hours": "hms", "working_days": "d", "wall": "dhms"}
_CLOCK_NAMES: dict[str, Clock] = {clock: clock for clock in CLOCKS}
_POLICY_FIELDS = ("clock", "accept", "resolve")
_POLICY_OPTIONAL = (
    "verify",
    "warn_at",
    "extensions",
    "high",
    "supervise",
    "close_requires_verify",
    "reopen_unsatisfied",
    "calendar",
)
_EXTENSION_FIELDS = ("max_count", "max_length")


def load_policies(
    path: str | Path, calendars: Collection[str] | None = None
) -> dict[str, SlaPolicy]:
    """Load ``policies.yaml`` (``policies: {name: {clock, accept, resolve, ...}}``).

    Raises ``ConfigLoadError`` (file, line, message) for unknown fields, an unknown clock,
    bad or zero durations (``0d`` is allowed on ``working_days``: same day), a ``warn_at``
    outside (0, 1), bad extension limits, and, given ``calendars`` (the names
    calendar.yaml defines), a ``calendar`` not among them.
    """
    doc = load_yaml(path)
    if not isinstance(doc, YamlMapping):
        raise ConfigLoadError(path, None, "policies file must be a mapping with 'policies:'")
    check_keys(doc, path, "policies file", required=("policies",))
    table = doc["policies"]
    if not isinstance(table, YamlMapping) or not table:
        raise ConfigLoadError(
            path, doc.value_line("policies"), "policies must be a non-empty mapping"
        )
    policies: dict[str, SlaPolicy] = {}
    for name, body in table.items():
        if not _NAME.match(name):
            raise ConfigLoadError(
                path, table.key_line(name), f"policy name {name!r} must match [a-z][a-z0-9_]*"
            )
        if not isinstance(body, YamlMapping):
            raise ConfigLoadError(
                path, table.value_line(name), f"policy {name!r} must be a mapping"
            )
        policies[name] = _policy(name, body, path)
        calendar = policies[name].calendar
        if calendars is not None and calendar not in calendars:
            raise ConfigLoadError(
                path,
                body.value_line("calendar"),
                f"policy {name!r}, calendar: {calendar!r} is not defined in calendar.yaml"
                f"{did_you_mean(calendar, tuple(calendars))}; defined: {', '.join(calendars)}",
            )
    for name, body in table.items():
        tighter = policies[name].high
        if tighter is not None and (tighter not in policies or tighter == name):
            raise ConfigLoadError(
                path,
                body.value_line("high") if isinstance(body, YamlMapping) else None,
                f"policy {name!r}, high: {tighter!r} must name another policy of this file"
                f"{did_you_mean(tighter, policies)}",
            )
    return policies


def _policy(name: str, body: YamlMapping, path: str | Path) -> SlaPolicy:
    what = f"policy {name!r}"
    check_keys(body, path, what, required=_POLICY_FIELDS, optional=_POLICY_OPTIONAL)
    clock = _CLOCK_NAMES.get(str(body["clock"]))
    if clock is None:
        hint = did_you_mean(str(body["clock"]), CLOCKS)
        raise ConfigLoadError(
            path,
            body.value_line("clock"),
            f"unknown clock {body['clock']!r} in {what}{hint}; valid: {', '.join(CLOCKS)}",
        )
    units = _CLOCK_UNITS[clock]
    # Only a working-days stage may be zero: "0d" is 当日办结, the receiving day itself.
    allow_zero = clock == "working_days"

    def duration(mapping: YamlMapping, key: str, zero_ok: bool) -> timedelta:
        try:
            value = parse_duration(mapping[key], units=units)
        except DurationError as exc:
            raise ConfigLoadError(path, mapping.value_line(key), f"{what}, {key}: {exc}") from None
        if not value and not zero_ok:
            raise ConfigLoadError(path, mapping.value_line(key), f"{what}, {key}: must be > 0")
        return value

    accept = duration(body, "accept", allow_zero)
    resolve = duration(body, "resolve", allow_zero)
    verify = duration(body, "verify", allow_zero) if "verify" in body else None
    warn_at = body.get("warn_at", 0.8)
    if isinstance(warn_at, bool) or not isinstance(warn_at, int | float) or not 0 < warn_at < 1:
        raise ConfigLoadError(
            path,
            body.value_line("warn_at"),
            f"{what}, warn_at: must be a fraction between 0 and 1 (e.g. 0.8), got {warn_at!r}",
        )
    max_count, max_length = 0, timedelta(0)
    if "extensions" in body:
        ext = body["extensions"]
        if not isinstance(ext, YamlMapping):
            raise ConfigLoadError(
                path, body.value_line("extensions"), f"{what}, extensions: must be a mapping"
            )
        check_keys(
            ext, path, f"{what} extensions", required=("max_count",), optional=("max_length",)
        )
        count = ext["max_count"]
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ConfigLoadError(
                path, ext.value_line("max_count"), f"{what}, max_count: must be an integer >= 0"
            )
        max_count = count
        if max_count and "max_length" not in ext:
            raise ConfigLoadError(path, ext.line, f"{what}: extensions need max_length")
        if "max_length" in ext:
            max_length = duration(ext, "max_length", False)
    high = body.get("high")
    if high is not None and (not isinstance(high, str) or not _NAME.match(high)):
        raise ConfigLoadError(
            path, body.value_line("high"), f"{what}, high: must name a policy, got {high!r}"
        )
    flags: dict[str, bool] = {}
    for key in ("close_requires_verify", "reopen_unsatisfied"):
        value = body.get(key, True)
        if not isinstance(value, bool):
            raise ConfigLoadError(
                path, body.value_line(key), f"{what}, {key}: must be true or false"
            )
        flags[key] = value
    return SlaPolicy(
        name=name,
        clock=clock,
        accept=accept,
        resolve=resolve,
        verify=verify,
        warn_at=float(warn_at),
        max_extensions=max_count,
        max_extension=max_length,
        calendar=str(body.get("calendar", "office")),
        high=high,
        supervise=duration(body, "supervise", allow_zero) if "supervise" in body else None,
        close_requires_verify=flags["close_requires_verify"],
        reopen_unsatisfied=flags["reopen_unsatisfied"],
    )
