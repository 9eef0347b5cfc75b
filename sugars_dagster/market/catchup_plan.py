"""Which missing market days to load next, and when a day that keeps failing is tried again.

Pure functions: the catch-up sensor gathers what it sees (expected trading days, days loaded,
days in flight, its cursor) and asks `plan_catchup` what to request.

Everything here is bounded, because the sensor runs unattended for years: a delay is capped
before it grows, an attempt counter stops counting, and a cursor that cannot be read (an older
format, a hand edit) is reset with a warning instead of failing every tick.
"""

import datetime as dt
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

# Past this many tries a day's count stops growing; the delay reached the ceiling long before.
MAX_ATTEMPTS = 10_000


@dataclass(frozen=True)
class Backoff:
    """A missing day the sensor has requested `attempts` times; not again before `next_try`."""

    attempts: int
    next_try: dt.datetime


@dataclass(frozen=True)
class CatchupState:
    """What the sensor remembers between ticks (its cursor)."""

    backoff: dict[dt.date, Backoff] = field(default_factory=dict)

    def to_cursor(self) -> str:
        return json.dumps(
            {
                "backoff": {
                    day.isoformat(): {"attempts": entry.attempts, "next_try": entry.next_try.isoformat()}
                    for day, entry in sorted(self.backoff.items())
                }
            }
        )

    @classmethod
    def from_cursor(
        cls, cursor: str | None, now: dt.datetime, ceiling: dt.timedelta
    ) -> tuple["CatchupState", list[str]]:
        """The state a cursor holds, and a warning for each part of it that had to be dropped.

        A retry time further away than `ceiling` (a hand edit, a changed setting) is brought
        back to `now + ceiling`, so no cursor can hold a day out of the catch-up for longer.
        """
        if not cursor:
            return cls(), []
        try:
            entries = json.loads(cursor)["backoff"]
            if not isinstance(entries, dict):
                raise TypeError(f"'backoff' is a {type(entries).__name__}, not an object")
        except (ValueError, KeyError, TypeError) as error:
            return cls(), [f"unreadable catch-up cursor reset ({type(error).__name__}: {error}): {cursor[:200]!r}"]
        latest = _add(now, ceiling)
        backoff: dict[dt.date, Backoff] = {}
        warnings: list[str] = []
        for day, entry in entries.items():
            try:
                parsed_day, parsed = _entry(day, entry)
            except (ValueError, KeyError, TypeError, OverflowError) as error:
                warnings.append(f"catch-up cursor entry {day!r} dropped ({type(error).__name__}: {error})")
                continue
            backoff[parsed_day] = Backoff(parsed.attempts, min(parsed.next_try, latest))
        return cls(backoff), warnings


def _entry(day: Any, entry: Any) -> tuple[dt.date, Backoff]:
    parsed_day = dt.date.fromisoformat(day)
    attempts = entry["attempts"]
    if isinstance(attempts, bool) or not isinstance(attempts, int) or not 1 <= attempts <= MAX_ATTEMPTS:
        raise ValueError(f"attempts {attempts!r} is not a whole number from 1 to {MAX_ATTEMPTS}")
    next_try = dt.datetime.fromisoformat(entry["next_try"])
    if next_try.tzinfo is None:
        raise ValueError(f"next_try {entry['next_try']!r} has no time zone")
    return parsed_day, Backoff(attempts, next_try.astimezone(dt.UTC))


def _add(moment: dt.datetime, delta: dt.timedelta) -> dt.datetime:
    """`moment + delta`, saturating at the largest datetime instead of overflowing."""
    try:
        return moment + delta
    except OverflowError:
        return dt.datetime.max.replace(tzinfo=dt.UTC)


@dataclass(frozen=True)
class CatchupPlan:
    ranges: list[tuple[dt.date, dt.date]]  # to request now, newest first, one run each
    attempts: dict[tuple[dt.date, dt.date], int]  # the attempt number each range is
    missing: list[dt.date]
    in_flight: list[dt.date]  # missing but already queued, running or due from the schedule
    waiting: dict[dt.date, Backoff]  # missing but backing off
    deferred: list[dt.date]  # ready, but beyond this tick's run limit
    state: CatchupState
    # Closed days (weekends, holidays) of the window Dagster does not show as materialized: they
    # load as no-ops, in the same runs as the trading days next to them, so that the partitions
    # view agrees with "all N trading days are loaded".
    closed: list[dt.date] = field(default_factory=list)


def retry_delay(attempts: int, base: dt.timedelta, ceiling: dt.timedelta) -> dt.timedelta:
    """Wait before the next try of a day requested `attempts` times: base, 2x, 4x ... ceiling.

    The doubling stops once it reaches the ceiling, so no attempt count can overflow it.
    """
    if base >= ceiling:
        return ceiling
    doublings_to_ceiling = math.ceil(math.log2(ceiling / base))
    return min(ceiling, base * 2 ** min(max(attempts - 1, 0), doublings_to_ceiling))


def _contiguous(ready: set[dt.date], expected: list[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """Runs of consecutive `expected` days that are all ready; any other expected day breaks a run.
    Days not in `expected` (closed days already materialized) are bridged: they load as no-ops."""
    ranges: list[tuple[dt.date, dt.date]] = []
    start: dt.date | None = None
    previous: dt.date | None = None
    for day in expected:
        if day in ready:
            start = start or day
            previous = day
        elif start is not None:
            ranges.append((start, previous))  # type: ignore[arg-type]
            start = None
    if start is not None:
        ranges.append((start, previous))  # type: ignore[arg-type]
    return ranges


def runs_for(
    ready: set[dt.date],
    expected: list[dt.date],
    backoff: dict[dt.date, Backoff],
    closed: Iterable[dt.date] = (),
) -> list[tuple[dt.date, dt.date]]:
    """The runs that load the ready days, newest first.

    Days never tried go in one run per gap. A trading day that has failed before goes alone: when
    a gap's run fails, its days come back one run each, so the days that can load do at the next
    try, and the one that cannot holds back no other. Closed days load as no-ops and cannot be
    the day that fails, so even after a failure they stay grouped with their neighbours.
    """
    no_ops = set(closed)
    fresh = {day for day in ready if day not in backoff or day in no_ops}
    retried = [(day, day) for day in ready if day in backoff and day not in no_ops]
    return sorted(_contiguous(fresh, expected) + retried, reverse=True)


def plan_catchup(
    *,
    now: dt.datetime,
    expected: list[dt.date],
    loaded: set[dt.date],
    in_flight: set[dt.date],
    state: CatchupState,
    max_runs: int,
    retry_base: dt.timedelta,
    retry_ceiling: dt.timedelta,
    unfilled_closed: Iterable[dt.date] = (),
) -> CatchupPlan:
    """What to request now. `unfilled_closed` are the window's closed days that Dagster does not
    show as materialized: they are filled like missing days, joining the runs of the trading days
    next to them (a missing Friday and the weekend after it are one run)."""
    expected = sorted(expected)
    missing = [day for day in expected if day not in loaded]
    closed = sorted(set(unfilled_closed) - set(expected))
    to_fill = set(missing) | set(closed)
    # Forget days that are loaded now or have left the window.
    backoff = {day: entry for day, entry in state.backoff.items() if day in to_fill}
    flying = [day for day in missing if day in in_flight]
    waiting = {
        day: backoff[day] for day in to_fill if day not in in_flight and day in backoff and now < backoff[day].next_try
    }
    ready = {day for day in to_fill if day not in in_flight and day not in waiting}

    ranges = runs_for(ready, sorted(set(expected) | set(closed)), backoff, closed)  # the newest gap matters most
    requested, deferred = ranges[:max_runs], ranges[max_runs:]
    attempts: dict[tuple[dt.date, dt.date], int] = {}
    for first, last in requested:
        days = [day for day in ready if first <= day <= last]
        attempt = min(MAX_ATTEMPTS, 1 + max((backoff[day].attempts for day in days if day in backoff), default=0))
        attempts[(first, last)] = attempt
        for day in days:
            tries = min(MAX_ATTEMPTS, backoff[day].attempts + 1) if day in backoff else 1
            backoff[day] = Backoff(tries, _add(now, retry_delay(tries, retry_base, retry_ceiling)))
    return CatchupPlan(
        ranges=requested,
        attempts=attempts,
        missing=missing,
        in_flight=flying,
        waiting=waiting,
        deferred=sorted(day for first, last in deferred for day in ready if first <= day <= last),
        state=CatchupState(backoff),
        closed=closed,
    )


def catchup_window(
    now: dt.datetime,
    *,
    lookback_days: int,
    grace: dt.timedelta,
    schedule_time: dt.time,
    timezone: dt.tzinfo,
    history_start: dt.date,
) -> tuple[dt.date, dt.date]:
    """The market days the sensor checks: the last `lookback_days` (0: all history) up to the
    newest day the nightly schedule has had time to load (it counts once `grace` has passed
    after the schedule's tick)."""
    local_now = now.astimezone(timezone)
    last = local_now.date() - dt.timedelta(days=1)
    if local_now < dt.datetime.combine(local_now.date(), schedule_time, timezone) + grace:
        last -= dt.timedelta(days=1)
    if lookback_days == 0 or lookback_days >= (local_now.date() - history_start).days:
        first = history_start
    else:
        first = local_now.date() - dt.timedelta(days=lookback_days)
    return max(first, history_start), last
