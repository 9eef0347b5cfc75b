"""Which missing market days to load next, and when a day that keeps failing is tried again.

Pure functions: the catch-up sensor gathers what it sees (expected trading days, days loaded,
days in flight, its cursor) and asks `plan_catchup` what to request.
"""

import datetime as dt
import json
from dataclasses import dataclass, field


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
    def from_cursor(cls, cursor: str | None) -> "CatchupState":
        if not cursor:
            return cls()
        entries = json.loads(cursor).get("backoff", {})
        return cls(
            {
                dt.date.fromisoformat(day): Backoff(entry["attempts"], dt.datetime.fromisoformat(entry["next_try"]))
                for day, entry in entries.items()
            }
        )


@dataclass(frozen=True)
class CatchupPlan:
    ranges: list[tuple[dt.date, dt.date]]  # to request now, newest first, one run each
    attempts: dict[tuple[dt.date, dt.date], int]  # the attempt number each range is
    missing: list[dt.date]
    in_flight: list[dt.date]  # missing but already queued, running or due from the schedule
    waiting: dict[dt.date, Backoff]  # missing but backing off
    deferred: list[dt.date]  # ready, but beyond this tick's run limit
    state: CatchupState


def retry_delay(attempts: int, base: dt.timedelta, ceiling: dt.timedelta) -> dt.timedelta:
    """Wait before the next try of a day requested `attempts` times: base, 2x, 4x ... ceiling."""
    return min(ceiling, base * 2 ** (attempts - 1))


def _contiguous(ready: set[dt.date], expected: list[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """Runs of consecutive expected days that are all ready; any other expected day breaks a run.
    Non-trading days inside a range are harmless: they load as no-ops."""
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
) -> CatchupPlan:
    expected = sorted(expected)
    missing = [day for day in expected if day not in loaded]
    still_missing = set(missing)
    # Forget days that are loaded now or have left the window.
    backoff = {day: entry for day, entry in state.backoff.items() if day in still_missing}
    flying = [day for day in missing if day in in_flight]
    waiting = {day: backoff[day] for day in missing if day not in in_flight and day in backoff and now < backoff[day].next_try}
    ready = {day for day in missing if day not in in_flight and day not in waiting}

    ranges = sorted(_contiguous(ready, expected), reverse=True)  # the newest gap matters most
    requested, deferred = ranges[:max_runs], ranges[max_runs:]
    attempts: dict[tuple[dt.date, dt.date], int] = {}
    for first, last in requested:
        days = [day for day in ready if first <= day <= last]
        attempt = 1 + max((backoff[day].attempts for day in days if day in backoff), default=0)
        attempts[(first, last)] = attempt
        for day in days:
            tries = backoff[day].attempts + 1 if day in backoff else 1
            backoff[day] = Backoff(tries, now + retry_delay(tries, retry_base, retry_ceiling))
    return CatchupPlan(
        ranges=requested,
        attempts=attempts,
        missing=missing,
        in_flight=flying,
        waiting=waiting,
        deferred=sorted(day for first, last in deferred for day in ready if first <= day <= last),
        state=CatchupState(backoff),
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
    first = history_start if lookback_days == 0 else local_now.date() - dt.timedelta(days=lookback_days)
    return max(first, history_start), last
