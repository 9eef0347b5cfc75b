import datetime as dt
import json

import pytest

from sugars_dagster.market.calendar import trading as trading_calendar
from sugars_dagster.market.calendar.trading import DayStatus

pytestmark = pytest.mark.clock  # depends on 'now': runs at several clocks in CI

D = dt.date


def test_coverage_ends_where_the_holiday_data_ends() -> None:
    assert trading_calendar.snapshot_calendar().known_through == D(2026, 12, 31)
    assert trading_calendar.snapshot_calendar().is_known(D(2026, 12, 31))
    assert not trading_calendar.snapshot_calendar().is_known(D(2027, 1, 4))


@pytest.mark.parametrize(
    ("day", "trading"),
    [
        (D(2025, 9, 28), False),  # Sunday made a working day, exchanges closed
        (D(2025, 9, 30), True),
        *[(D(2025, 10, day), False) for day in range(1, 9)],  # National Day week
        (D(2025, 10, 9), True),
        (D(2025, 10, 11), False),  # Saturday made a working day, exchanges closed
        *[(D(2026, 2, day), False) for day in (16, 17, 18, 19, 20, 23)],  # Spring Festival 2026
        (D(2024, 2, 9), False),  # a workday with the exchanges closed
        (D(2025, 12, 4), True),
        (D(2025, 12, 6), False),
        (D(2006, 1, 6), True),  # SR's first day
    ],
)
def test_sessions_match_the_exchange_calendar(day: dt.date, trading: bool) -> None:
    assert trading_calendar.snapshot_calendar().is_session(day) is trading
    assert (trading_calendar.snapshot_calendar().day_status(day, set()) is DayStatus.TRADING) is trading


def test_past_coverage_the_bars_decide() -> None:
    monday, tuesday, wednesday = D(2027, 1, 4), D(2027, 1, 5), D(2027, 1, 6)
    assert trading_calendar.snapshot_calendar().day_status(monday, {monday}) is DayStatus.TRADING
    assert trading_calendar.snapshot_calendar().day_status(tuesday, {monday, wednesday}) is DayStatus.CLOSED_BY_SOURCE
    assert trading_calendar.snapshot_calendar().day_status(tuesday, {monday}) is DayStatus.UNKNOWN
    assert trading_calendar.snapshot_calendar().day_status(D(2027, 1, 2), set()) is DayStatus.CLOSED  # Saturday


def test_sessions_between_counts_a_known_year() -> None:
    sessions = trading_calendar.snapshot_calendar().sessions_between(D(2025, 1, 1), D(2025, 12, 31))
    assert len(sessions) == 243
    assert sessions[0] == D(2025, 1, 2)


def test_the_snapshot_equals_the_installed_exchange_calendars() -> None:
    # If this fails after upgrading exchange_calendars: python -m sugars_dagster.market.calendar.trading
    fresh = trading_calendar.snapshot_from_exchange_calendars()
    stored = json.loads(trading_calendar.SNAPSHOT.read_text())
    assert {key: stored[key] for key in ("first_session", "coverage_end", "closed_weekdays")} == {
        key: fresh[key] for key in ("first_session", "coverage_end", "closed_weekdays")
    }


def test_runs_do_not_need_pandas() -> None:
    import subprocess
    import sys

    script = (
        "import sys, datetime as dt\n"
        "from sugars_dagster.market.calendar import trading as trading_calendar\n"
        "assert trading_calendar.snapshot_calendar().is_session(dt.date(2025, 12, 4))\n"
        "print('pandas' in sys.modules, 'exchange_calendars' in sys.modules)\n"
    )
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert completed.stdout.split() == ["False", "False"]
