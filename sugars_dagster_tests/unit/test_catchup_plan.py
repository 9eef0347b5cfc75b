"""The catch-up plan as pure functions: which runs a tick asks for, how retries are paced, and
what a cursor may hold. Property-based where the inputs are unbounded (attempt counts, cursors)."""

import datetime as dt
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sugars_dagster.market.catchup_plan import (
    MAX_ATTEMPTS,
    Backoff,
    CatchupState,
    catchup_window,
    plan_catchup,
    retry_delay,
)

pytestmark = pytest.mark.clock  # depends on 'now': runs at several clocks in CI

D = dt.date
UTC = dt.UTC
NOW = dt.datetime(2025, 12, 5, 4, 0, tzinfo=UTC)
BASE, CEILING = dt.timedelta(minutes=15), dt.timedelta(hours=24)
WEEK = [D(2025, 12, day) for day in (1, 2, 3, 4, 5)]


def plan(expected=WEEK, loaded=(), in_flight=(), state=None, now=NOW, max_runs=5, closed=()):
    return plan_catchup(
        now=now,
        expected=list(expected),
        loaded=set(loaded),
        in_flight=set(in_flight),
        state=state or CatchupState(),
        max_runs=max_runs,
        retry_base=BASE,
        retry_ceiling=CEILING,
        unfilled_closed=set(closed),
    )


# --- retry pacing ---------------------------------------------------------------------------


def test_the_delay_doubles_from_the_base_up_to_the_ceiling() -> None:
    assert [retry_delay(n, BASE, CEILING) for n in (1, 2, 3, 4)] == [BASE, 2 * BASE, 4 * BASE, 8 * BASE]
    assert retry_delay(8, BASE, CEILING) == CEILING  # 15 min x 128 = 32 h, capped at 24 h


def test_the_37th_try_of_a_stuck_day_does_not_overflow() -> None:
    # The delay used to be doubled before it was capped: 15 min x 2**36 overflows timedelta.
    assert retry_delay(37, BASE, CEILING) == CEILING
    assert retry_delay(MAX_ATTEMPTS, BASE, CEILING) == CEILING


@given(
    attempts=st.integers(min_value=-5, max_value=10**9),
    base_minutes=st.integers(min_value=1, max_value=1440),
    ceiling_hours=st.integers(min_value=1, max_value=168),
)
def test_no_attempt_count_or_setting_makes_the_delay_overflow(
    attempts: int, base_minutes: int, ceiling_hours: int
) -> None:
    base, ceiling = dt.timedelta(minutes=base_minutes), dt.timedelta(hours=ceiling_hours)
    delay = retry_delay(attempts, base, ceiling)
    assert min(base, ceiling) <= delay <= ceiling


# --- which runs --------------------------------------------------------------------------------


def test_a_gap_never_tried_is_one_run() -> None:
    result = plan()
    assert result.ranges == [(D(2025, 12, 1), D(2025, 12, 5))]
    assert result.attempts == {(D(2025, 12, 1), D(2025, 12, 5)): 1}
    assert all(entry.attempts == 1 for entry in result.state.backoff.values())


def test_after_a_gap_fails_its_days_come_back_one_run_each_at_the_next_try() -> None:
    # The outage 12-01 .. 12-05 where 12-03 never gets a bar: the range run failed on it.
    first = plan()
    retry_at = NOW + BASE
    assert plan(state=first.state, now=retry_at - dt.timedelta(seconds=1)).ranges == []
    second = plan(state=first.state, now=retry_at)
    assert second.ranges == [(day, day) for day in reversed(WEEK)]
    assert set(second.attempts.values()) == {2}
    # The four loadable days load; only 12-03 goes on, on its own, at growing intervals.
    third = plan(loaded=set(WEEK) - {D(2025, 12, 3)}, state=second.state, now=retry_at + 2 * BASE)
    assert third.ranges == [(D(2025, 12, 3), D(2025, 12, 3))]
    assert third.attempts == {(D(2025, 12, 3), D(2025, 12, 3)): 3}


def test_new_days_next_to_a_failing_day_still_load_together() -> None:
    failing = CatchupState({D(2025, 12, 3): Backoff(4, NOW - dt.timedelta(minutes=1))})
    result = plan(state=failing)
    assert result.ranges == [
        (D(2025, 12, 4), D(2025, 12, 5)),
        (D(2025, 12, 3), D(2025, 12, 3)),
        (D(2025, 12, 1), D(2025, 12, 2)),
    ]


def test_a_day_backing_off_holds_back_no_other() -> None:
    waiting = CatchupState({D(2025, 12, 3): Backoff(2, NOW + dt.timedelta(hours=1))})
    result = plan(state=waiting)
    assert result.ranges == [(D(2025, 12, 4), D(2025, 12, 5)), (D(2025, 12, 1), D(2025, 12, 2))]
    assert list(result.waiting) == [D(2025, 12, 3)]


def test_days_in_flight_and_loaded_are_not_requested() -> None:
    result = plan(loaded={D(2025, 12, 1)}, in_flight={D(2025, 12, 5)})
    assert result.ranges == [(D(2025, 12, 2), D(2025, 12, 4))]
    assert result.in_flight == [D(2025, 12, 5)]


def test_runs_beyond_the_limit_wait_for_the_next_tick() -> None:
    tried = CatchupState({day: Backoff(1, NOW) for day in WEEK})
    result = plan(state=tried, max_runs=2)
    assert result.ranges == [(D(2025, 12, 5), D(2025, 12, 5)), (D(2025, 12, 4), D(2025, 12, 4))]
    assert result.deferred == [D(2025, 12, 1), D(2025, 12, 2), D(2025, 12, 3)]
    assert result.state.backoff[D(2025, 12, 1)].attempts == 1  # not counted as tried


def test_a_loaded_day_is_forgotten() -> None:
    tried = CatchupState({D(2025, 12, 3): Backoff(3, NOW)})
    assert plan(loaded=set(WEEK), state=tried).state.backoff == {}


def test_the_attempt_counter_stops_counting() -> None:
    stuck = CatchupState({D(2025, 12, 3): Backoff(MAX_ATTEMPTS, NOW)})
    result = plan(expected=[D(2025, 12, 3)], state=stuck)
    assert result.state.backoff[D(2025, 12, 3)].attempts == MAX_ATTEMPTS
    assert result.attempts == {(D(2025, 12, 3), D(2025, 12, 3)): MAX_ATTEMPTS}


# --- closed days that Dagster does not show as materialized -----------------------------------

# Two trading weeks and the weekend between them: Mon 12-01 .. Fri 12-05, Sat 12-06, Sun 12-07,
# Mon 12-08 .. Fri 12-12.
TWO_WEEKS = WEEK + [D(2025, 12, day) for day in (8, 9, 10, 11, 12)]
WEEKEND = {D(2025, 12, 6), D(2025, 12, 7)}


def test_a_missing_friday_and_the_weekend_after_it_are_one_run() -> None:
    result = plan(TWO_WEEKS, loaded=set(TWO_WEEKS) - {D(2025, 12, 5)}, closed=WEEKEND)
    assert result.ranges == [(D(2025, 12, 5), D(2025, 12, 7))]
    assert result.missing == [D(2025, 12, 5)] and result.closed == sorted(WEEKEND)


def test_a_gap_across_a_weekend_stays_one_run() -> None:
    result = plan(TWO_WEEKS, loaded=set(WEEK[:3]), closed=WEEKEND)
    assert result.ranges == [(D(2025, 12, 4), D(2025, 12, 12))]


def test_a_weekend_alone_between_loaded_weeks_is_one_no_op_run() -> None:
    result = plan(TWO_WEEKS, loaded=TWO_WEEKS, closed=WEEKEND)
    assert result.missing == [] and result.ranges == [(D(2025, 12, 6), D(2025, 12, 7))]


def test_materialized_closed_days_ask_for_nothing() -> None:
    result = plan(TWO_WEEKS, loaded=TWO_WEEKS, closed=())
    assert result.ranges == [] and result.closed == []


def test_closed_days_in_flight_are_not_requested_again() -> None:
    result = plan(TWO_WEEKS, loaded=TWO_WEEKS, in_flight=WEEKEND, closed=WEEKEND)
    assert result.ranges == [] and result.closed == sorted(WEEKEND)


def test_a_failed_weekend_backs_off_and_comes_back_under_a_new_run_key() -> None:
    first = plan(TWO_WEEKS, loaded=TWO_WEEKS, closed=WEEKEND)
    assert first.attempts == {(D(2025, 12, 6), D(2025, 12, 7)): 1}
    waiting = plan(TWO_WEEKS, loaded=TWO_WEEKS, closed=WEEKEND, state=first.state, now=NOW + BASE / 2)
    assert waiting.ranges == [] and set(waiting.waiting) == WEEKEND
    again = plan(TWO_WEEKS, loaded=TWO_WEEKS, closed=WEEKEND, state=first.state, now=NOW + BASE)
    # Closed days are no-ops: after a failure they stay together, in attempt 2.
    assert again.attempts == {(D(2025, 12, 6), D(2025, 12, 7)): 2}


def test_after_a_gap_fails_its_closed_days_stay_with_their_neighbours() -> None:
    first = plan(TWO_WEEKS, loaded=set(WEEK[:4]) | set(TWO_WEEKS[6:]), closed=WEEKEND)
    assert first.ranges == [(D(2025, 12, 5), D(2025, 12, 8))]
    again = plan(
        TWO_WEEKS, loaded=set(WEEK[:4]) | set(TWO_WEEKS[6:]), closed=WEEKEND, state=first.state, now=NOW + BASE
    )
    # The trading days that failed go alone; the weekend goes as one run.
    assert again.ranges == [
        (D(2025, 12, 8), D(2025, 12, 8)),
        (D(2025, 12, 6), D(2025, 12, 7)),
        (D(2025, 12, 5), D(2025, 12, 5)),
    ]


def test_a_closed_day_that_loaded_is_forgotten() -> None:
    first = plan(TWO_WEEKS, loaded=TWO_WEEKS, closed=WEEKEND)
    later = plan(TWO_WEEKS, loaded=TWO_WEEKS, closed=(), state=first.state, now=NOW + BASE)
    assert later.state.backoff == {} and later.ranges == []


# --- the cursor ---------------------------------------------------------------------------------


def test_a_cursor_round_trips() -> None:
    state = CatchupState({D(2025, 12, 3): Backoff(3, NOW + BASE)})
    restored, warnings = CatchupState.from_cursor(state.to_cursor(), NOW, CEILING)
    assert restored == state and warnings == []


@pytest.mark.parametrize(
    "cursor",
    [
        "not json",
        "[]",
        '{"backoff": []}',
        '{"something": "else"}',
        '"2025-12-03"',
        "null",
    ],
)
def test_an_unreadable_cursor_is_reset_with_a_warning(cursor: str) -> None:
    state, warnings = CatchupState.from_cursor(cursor, NOW, CEILING)
    assert state == CatchupState()
    assert len(warnings) == 1 and warnings[0].startswith("unreadable catch-up cursor reset")


def test_bad_entries_are_dropped_and_named_the_rest_kept() -> None:
    cursor = json.dumps(
        {
            "backoff": {
                "2025-12-01": {"attempts": 2, "next_try": "2025-12-05T04:30:00+00:00"},
                "2025-13-01": {"attempts": 2, "next_try": "2025-12-05T04:30:00+00:00"},
                "2025-12-02": {"attempts": -1, "next_try": "2025-12-05T04:30:00+00:00"},
                "2025-12-03": {"attempts": 2, "next_try": "2025-12-05T04:30:00"},  # no zone
                "2025-12-04": {"attempts": "2", "next_try": "2025-12-05T04:30:00+00:00"},
                "2025-12-05": {"tries": 2},
            }
        }
    )
    state, warnings = CatchupState.from_cursor(cursor, NOW, CEILING)
    assert list(state.backoff) == [D(2025, 12, 1)]
    assert len(warnings) == 5
    assert any("'2025-13-01'" in warning for warning in warnings)


def test_a_retry_time_past_the_ceiling_is_brought_back() -> None:
    # A hand edit (or a lowered ceiling) must not hold a day out of the catch-up for years.
    cursor = json.dumps({"backoff": {"2025-12-03": {"attempts": 3, "next_try": "9999-12-31T00:00:00+00:00"}}})
    state, _ = CatchupState.from_cursor(cursor, NOW, CEILING)
    assert state.backoff[D(2025, 12, 3)].next_try == NOW + CEILING


cursor_entries = st.dictionaries(
    st.one_of(st.dates().map(dt.date.isoformat), st.text(max_size=12)),
    st.one_of(
        st.fixed_dictionaries(
            {
                "attempts": st.one_of(st.integers(), st.text(max_size=4), st.none(), st.booleans(), st.floats()),
                "next_try": st.one_of(
                    st.datetimes(timezones=st.sampled_from([UTC, None])).map(dt.datetime.isoformat),
                    st.text(max_size=20),
                    st.integers(),
                ),
            }
        ),
        st.text(max_size=5),
        st.integers(),
        st.none(),
    ),
    max_size=8,
)


@given(
    raw=st.one_of(st.text(max_size=80), cursor_entries.map(lambda entries: json.dumps({"backoff": entries}))),
    now=st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2200, 1, 1), timezones=st.just(UTC)),
)
def test_no_cursor_makes_planning_raise(raw: str, now: dt.datetime) -> None:
    state, _ = CatchupState.from_cursor(raw, now, CEILING)
    for entry in state.backoff.values():
        assert 1 <= entry.attempts <= MAX_ATTEMPTS and entry.next_try <= now + CEILING
    result = plan(expected=WEEK, state=state, now=now)
    CatchupState.from_cursor(result.state.to_cursor(), now, CEILING)  # what it writes, it can read


@given(
    now=st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2200, 1, 1), timezones=st.just(UTC)),
    lookback=st.integers(min_value=0, max_value=7305),
    grace=st.integers(min_value=0, max_value=1200),
    schedule=st.times(),
)
def test_the_window_never_starts_before_history_nor_ends_in_the_future(now, lookback, grace, schedule) -> None:
    from zoneinfo import ZoneInfo

    shanghai = ZoneInfo("Asia/Shanghai")
    first, last = catchup_window(
        now,
        lookback_days=lookback,
        grace=dt.timedelta(minutes=grace),
        schedule_time=schedule,
        timezone=shanghai,
        history_start=D(2006, 1, 6),
    )
    assert first >= D(2006, 1, 6)
    assert last < now.astimezone(shanghai).date()
