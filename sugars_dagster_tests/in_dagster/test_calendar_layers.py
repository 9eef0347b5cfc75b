"""The trading calendar's layers (landed, snapshot, operator's file, bars) and what every
consumer makes of them: a closed day is a quiet no-op (no failed run, no alert, no row)."""

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

from sugars_dagster.defs.alerts import Alerter
from sugars_dagster.defs.assets.trading_calendar import mainland_trading_calendar
from sugars_dagster.defs.catchup_policy import CatchupPolicy
from sugars_dagster.defs.market_calendar import MarketCalendar
from sugars_dagster.defs.resources import calendar_from_env
from sugars_dagster.defs.sensors.freshness import expected_newest_day
from sugars_dagster.errors import ConfigError, SourceDataError, SourceFetchError
from sugars_dagster.market.calendar.trading import (
    DayStatus,
    calendar_from,
    check_trading_days,
    lost_past_sessions,
    read_closed_days_file,
    snapshot_calendar,
)
from sugars_dagster.market.series import Series
from sugars_dagster.sources.akshare_calendar import SINA_CALENDAR_PROVIDER, SINA_CALENDAR_SOURCE
from sugars_dagster.sources.akshare_source import AkshareSource
from sugars_dagster.sources.demo_source import DEMO_CALENDAR_PROVIDER, DemoSource, made_up_holidays
from sugars_dagster.warehouse.export import Retention
from sugars_dagster.warehouse.resource import Warehouse
from sugars_dagster.warehouse.tables import raw_trading_calendar
from sugars_dagster_tests.support.alert_inbox import alert_inbox
from sugars_dagster_tests.support.definitions import product_definitions
from sugars_dagster_tests.support.runs import failure_text, run_graph
from sugars_dagster_tests.support.sina_calendar import EPOCH, serving_body, serving_calendar

defs = product_definitions()

pytestmark = pytest.mark.clock  # depends on 'now': runs at several clocks in CI

D = dt.date
CALENDAR_ASSET = "mainland_trading_calendar"
CALENDAR_CHECK = "calendar_source_reached"
CATCHUP_SENSOR = defs.resolve_sensor_def("market_daily_catchup_sensor")
FRESHNESS_SENSOR = defs.resolve_sensor_def("market_daily_freshness_sensor")
HTML_ERROR_PAGE = (
    '<!DOCTYPE html><html><head><meta charset="utf-8"><title>页面没有找到</title></head>'
    "<body><p>页面没有找到 5秒钟之后将会带您进入新浪首页!</p></body></html>"
)


def weekdays(first: dt.date, last: dt.date) -> list[dt.date]:
    days = (first + dt.timedelta(days=offset) for offset in range((last - first).days + 1))
    return [day for day in days if day.weekday() < 5]


def snapshot_sessions(first: dt.date, last: dt.date) -> list[dt.date]:
    return snapshot_calendar().sessions_between(first, last)


SPRING_FESTIVAL_2027 = weekdays(D(2027, 2, 8), D(2027, 2, 12))
# A made-up 2027 as Sina would list it once announced: New Year, a Spring Festival week, the
# National Day week; every other weekday trades. Unlike the demo's own made-up holidays it keeps
# Labour Day open, so agreeing bars prove the demo follows its holidays file.
CLOSED_2027 = [D(2027, 1, 1), *SPRING_FESTIVAL_2027, *weekdays(D(2027, 10, 1), D(2027, 10, 7))]
SESSIONS_2027 = [day for day in weekdays(D(2027, 1, 1), D(2027, 12, 31)) if day not in CLOSED_2027]


def sina_file_dates() -> list[dt.date]:
    """Sina's whole list: every XSHG session from the exchange's opening (without 1992-05-04,
    which Sina lacks and akshare appends), then the made-up 2027."""
    history = [day for day in snapshot_sessions(EPOCH, D(2026, 12, 31)) if day != D(1992, 5, 4)]
    return history + SESSIONS_2027


class DemoBarsSinaCalendar(DemoSource):
    """The demo's four series, with the trading calendar from Sina through akshare's own parser."""

    @property
    def calendar_provider(self) -> str:
        return SINA_CALENDAR_PROVIDER

    @property
    def calendar_source(self) -> str:
        return SINA_CALENDAR_SOURCE

    def fetch_trading_days(self, today: dt.date, log: dg.DagsterLogManager | None = None) -> list[dt.date]:
        return AkshareSource(attempts=1, timeout_seconds=30, backoff_base_seconds=0).fetch_trading_days(today, log)


class DemoCalendarUnreachable(DemoSource):
    def fetch_trading_days(self, today: dt.date, log: dg.DagsterLogManager | None = None) -> list[dt.date]:
        raise SourceFetchError(self.calendar_source, "no answer within 60 s")


class DemoCalendarFrom2015(DemoSource):
    """Answers with a calendar that passes the checks but no longer lists 2000-2014."""

    def fetch_trading_days(self, today: dt.date, log: dg.DagsterLogManager | None = None) -> list[dt.date]:
        return [day for day in super().fetch_trading_days(today, log) if day >= D(2015, 1, 1)]


def days_file(path: Path, days: list[dt.date]) -> str:
    path.write_text("# exchanges closed\n" + "".join(f"{day}\n" for day in days), encoding="utf-8")
    return str(path)


def stored_calendar(warehouse: Warehouse) -> list[tuple]:
    """Every landed row as stored, so that a rewrite shows in loaded_at and run_id."""
    table = raw_trading_calendar
    with warehouse.engine().connect() as conn:
        return conn.execute(sa.select(table).order_by(table.c.provider, table.c.trade_date)).all()


def calendar_check(result: dg.ExecuteInProcessResult):
    [evaluation] = [item for item in result.get_asset_check_evaluations() if item.check_name == CALENDAR_CHECK]
    return evaluation


def calendar_metadata(result: dg.ExecuteInProcessResult) -> dict:
    [event] = [
        event for event in result.get_asset_materialization_events() if event.asset_key == dg.AssetKey(CALENDAR_ASSET)
    ]
    return {key: value.value for key, value in event.materialization.metadata.items()}


def catchup_tick(instance, warehouse: Warehouse, source: DemoSource, calendar: MarketCalendar, lookback_days: int):
    context = dg.build_sensor_context(
        instance=instance,
        resources={
            "catchup": CatchupPolicy(lookback_days=lookback_days),
            "warehouse": warehouse,
            "source": source,
            "retention": Retention(days=0),
            "calendar": calendar,
        },
    )
    return CATCHUP_SENSOR.evaluate_tick(context)


def requested_ranges(result) -> list[tuple[str, str]]:
    return [
        (request.tags["dagster/asset_partition_range_start"], request.tags["dagster/asset_partition_range_end"])
        for request in result.run_requests or []
    ]


def freshness_tick(instance, warehouse: Warehouse, source: DemoSource, calendar: MarketCalendar, alerter: Alerter):
    context = dg.build_sensor_context(
        instance=instance,
        resources={"warehouse": warehouse, "alerter": alerter, "source": source, "calendar": calendar},
    )
    return FRESHNESS_SENSOR.evaluate_tick(context)


# --- checking what a calendar source lists -----------------------------------------------------

REAL_SESSIONS = snapshot_sessions(D(2005, 1, 1), D(2026, 12, 31))
SOURCE = "calendar under test"


def test_real_sessions_2005_to_2026_pass_the_checks() -> None:
    assert check_trading_days(REAL_SESSIONS, SOURCE, D(2026, 6, 1)) == REAL_SESSIONS
    # A list starting mid-year (a source with a shorter history) is not a truncated year.
    from_july = [day for day in REAL_SESSIONS if day >= D(2005, 7, 1)]
    assert check_trading_days(from_july, SOURCE, D(2026, 6, 1)) == from_july


def test_days_before_2000_are_dropped_not_judged() -> None:
    # akshare appends 1992-05-04 to Sina's list and sorts: it comes first.
    assert check_trading_days([D(1992, 5, 4), *REAL_SESSIONS], SOURCE, D(2026, 6, 1)) == REAL_SESSIONS
    with pytest.raises(SourceDataError, match="returned no trading days from 2000-01-01 on"):
        check_trading_days([D(1992, 5, 4), D(1999, 12, 30)], SOURCE, D(2026, 6, 1))


def _with(days: list[dt.date], *, insert: Sequence[dt.date] = (), remove: Sequence[dt.date] = ()) -> list[dt.date]:
    return sorted([day for day in days if day not in remove] + list(insert))


def _swapped(days: list[dt.date], day: dt.date) -> list[dt.date]:
    index = days.index(day)
    return days[:index] + [days[index + 1], days[index]] + days[index + 2 :]


@pytest.mark.parametrize(
    ("days", "today", "message", "offending"),
    [
        pytest.param(
            _swapped(REAL_SESSIONS, D(2025, 3, 3)),
            D(2026, 6, 1),
            "dates are not strictly increasing (out of order or repeated): 2025-03-03 after 2025-03-04",
            ["2025-03-03 after 2025-03-04"],
            id="out of order",
        ),
        pytest.param(
            _with(REAL_SESSIONS, insert=[D(2025, 3, 3)]),
            D(2026, 6, 1),
            "dates are not strictly increasing (out of order or repeated): 2025-03-03 after 2025-03-03",
            ["2025-03-03 after 2025-03-03"],
            id="duplicate",
        ),
        pytest.param(
            _with(REAL_SESSIONS, insert=[D(2025, 3, 8)]),
            D(2026, 6, 1),
            "lists weekend days as trading days: 2025-03-08",
            ["2025-03-08"],
            id="a Saturday",
        ),
        pytest.param(
            _with(REAL_SESSIONS, remove=snapshot_sessions(D(2024, 1, 1), D(2024, 12, 31))[100:]),
            D(2026, 6, 1),
            "implausible number of trading days per year (expected 225-256): 2024: 100 days",
            ["2024: 100 days"],
            id="a truncated year",
        ),
        pytest.param(
            REAL_SESSIONS + SESSIONS_2027,
            D(2025, 6, 1),
            "lists trading days after 2026-12-31, beyond any announced year: 2027-01-04, 2027-01-05",
            [str(day) for day in SESSIONS_2027],
            id="beyond next year",
        ),
    ],
)
def test_a_broken_calendar_is_refused_naming_problem_and_days(
    days: list[dt.date], today: dt.date, message: str, offending: list[str]
) -> None:
    with pytest.raises(SourceDataError) as caught:
        check_trading_days(days, SOURCE, today)
    assert caught.value.source == SOURCE
    assert caught.value.field == "trade_date"
    assert message in str(caught.value)
    assert caught.value.offending == offending


# --- the layers: landed, snapshot, operator's file, bars -------------------------------------


def test_lost_past_sessions_are_the_stored_past_days_no_longer_listed() -> None:
    stored = [D(1999, 12, 30), *snapshot_sessions(D(2025, 1, 1), D(2026, 12, 31))]
    received = [day for day in stored if day not in (D(1999, 12, 30), D(2025, 3, 3), D(2026, 12, 30))]
    # A future day may still change (a closure announced late); a pre-2000 day is not checked.
    assert lost_past_sessions(stored, received, today=D(2026, 6, 1)) == [D(2025, 3, 3)]
    assert lost_past_sessions(stored, [*received, D(2025, 3, 3), D(2027, 1, 4)], today=D(2026, 6, 1)) == []


LANDED_2026_2027 = snapshot_sessions(D(2026, 1, 1), D(2026, 12, 31)) + [
    day for day in weekdays(D(2027, 1, 1), D(2027, 12, 31)) if day not in made_up_holidays(2027)
]


def test_a_landed_2027_extends_the_calendar_and_the_snapshot_answers_before_it() -> None:
    calendar = calendar_from(LANDED_2026_2027, landed_from=SINA_CALENDAR_SOURCE)
    assert calendar.known_through == D(2027, 12, 31)
    assert calendar.known_from == snapshot_calendar().known_from
    assert {calendar.day_status(day) for day in made_up_holidays(2027)} == {DayStatus.CLOSED}
    assert calendar.day_status(D(2027, 2, 15)) is DayStatus.TRADING
    assert calendar.sessions_between(D(2027, 1, 1), D(2027, 12, 31)) == [
        day for day in LANDED_2026_2027 if day.year == 2027
    ]
    # 2025 was not landed: the snapshot's sessions, National Day week included.
    assert calendar.sessions_between(D(2025, 1, 1), D(2025, 12, 31)) == snapshot_sessions(
        D(2025, 1, 1), D(2025, 12, 31)
    )
    assert len(calendar.sessions_between(D(2025, 1, 1), D(2025, 12, 31))) == 243
    assert not calendar.is_session(D(2025, 10, 8)) and calendar.is_session(D(2025, 10, 9))
    assert SINA_CALENDAR_SOURCE in calendar.described and "shipped snapshot" in calendar.described


def test_where_the_landed_years_reach_they_win_over_the_snapshot() -> None:
    # Sina closing a day the snapshot has as a session (an unscheduled closure).
    closure = D(2026, 6, 1)
    assert snapshot_calendar().is_session(closure)
    calendar = calendar_from([day for day in LANDED_2026_2027 if day != closure])
    assert calendar.day_status(closure) is DayStatus.CLOSED


def test_an_operator_closed_day_is_closed_whatever_the_others_say() -> None:
    listed = D(2027, 3, 3)  # a session of the landed 2027
    past_everything = D(2028, 1, 5)
    calendar = calendar_from(
        LANDED_2026_2027,
        operator_closed=frozenset({listed, past_everything}),
        closed_days_file="/srv/sugars/closed-days.txt",
    )
    assert listed in LANDED_2026_2027
    assert calendar.day_status(listed) is DayStatus.CLOSED
    assert not calendar.is_session(listed)
    assert listed not in calendar.sessions_between(D(2027, 3, 1), D(2027, 3, 5))
    # Past the calendar, even a bar does not reopen it.
    assert calendar.day_status(past_everything, {past_everything}) is DayStatus.CLOSED
    assert "2 closed day(s) from /srv/sugars/closed-days.txt" in calendar.described


def test_past_everything_known_the_bars_decide_and_the_advice_names_the_file() -> None:
    day, later = D(2028, 1, 4), D(2028, 1, 6)
    with_file = calendar_from(LANDED_2026_2027, closed_days_file="/srv/sugars/closed-days.txt")
    assert not with_file.is_known(day)
    assert with_file.day_status(day, {day, later}) is DayStatus.TRADING
    assert with_file.day_status(day, {later}) is DayStatus.CLOSED_BY_SOURCE
    assert with_file.day_status(day, {D(2028, 1, 3)}) is DayStatus.UNKNOWN  # only earlier bars
    assert with_file.day_status(day) is DayStatus.UNKNOWN
    assert with_file.day_status(D(2028, 1, 8), set()) is DayStatus.CLOSED  # Saturday
    advice = with_file.unknown_day_advice(day)
    assert "known through 2027-12-31" in advice
    assert advice.endswith("add it to the closed-days file /srv/sugars/closed-days.txt")
    without_file = calendar_from(LANDED_2026_2027)
    assert "set SUGARS_CLOSED_DAYS_FILE to its path" in without_file.unknown_day_advice(day)


# --- the operator's closed-days file ---------------------------------------------------------


def test_the_closed_days_file_skips_comments_and_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "closed-days.txt"
    path.write_text(
        "# closures announced after Sina listed the year\n\n2027-01-07\n   \n2027-03-03  # typhoon\n2027-01-07\n",
        encoding="utf-8",
    )
    assert read_closed_days_file(str(path)) == {D(2027, 1, 7), D(2027, 3, 3)}


@pytest.mark.parametrize("bad", ["2027-1-7", "7/1/2027", "2027-02-30", "2027-01-07 2027-01-08"])
def test_a_bad_line_is_refused_naming_file_and_line(tmp_path: Path, bad: str) -> None:
    path = tmp_path / "closed-days.txt"
    path.write_text(f"# closures\n2027-01-06\n\n{bad}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        read_closed_days_file(str(path))
    assert f"file {path}, line 4: {bad!r} is not a date written YYYY-MM-DD" in str(caught.value)
    # The same refusal stops the code location from loading.
    with pytest.raises(ConfigError, match="line 4"):
        calendar_from_env({"SUGARS_CLOSED_DAYS_FILE": str(path)})


def test_a_missing_file_is_refused_at_load_naming_the_variable(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "closed-days.txt"
    with pytest.raises(ConfigError) as caught:
        calendar_from_env({"SUGARS_CLOSED_DAYS_FILE": str(missing)})
    assert f"SUGARS_CLOSED_DAYS_FILE={str(missing)!r} cannot be read" in str(caught.value)
    assert calendar_from_env({}).closed_days_file == ""


def test_the_file_is_made_absolute_and_an_edit_counts_at_the_next_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sqlite_warehouse: Warehouse
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("closed-days.txt").write_text("2027-01-07\n", encoding="utf-8")
    calendar = calendar_from_env({"SUGARS_CLOSED_DAYS_FILE": "closed-days.txt"})
    assert calendar.closed_days_file == str(tmp_path / "closed-days.txt")
    assert calendar.load(sqlite_warehouse, DemoSource()).operator_closed == {D(2027, 1, 7)}
    # Every process reads the same file: another working directory does not change it.
    monkeypatch.chdir("/")
    (tmp_path / "closed-days.txt").write_text("2027-01-07\n2027-01-08\n", encoding="utf-8")
    assert calendar.load(sqlite_warehouse, DemoSource()).operator_closed == {D(2027, 1, 7), D(2027, 1, 8)}


# --- the asset that lands the calendar -------------------------------------------------------


def test_the_demo_calendar_lands_and_a_second_run_changes_nothing(instance, sqlite_warehouse, move_clock) -> None:
    move_clock(dt.datetime(2026, 12, 1, 10, 0))  # December: the coming year is listed
    expected = DemoSource().fetch_trading_days(D(2026, 12, 1))
    first = run_graph(DemoSource(), sqlite_warehouse, instance, assets=[mainland_trading_calendar])
    assert first.success, failure_text(first)
    assert sqlite_warehouse.read_trading_days(DEMO_CALENDAR_PROVIDER) == expected
    metadata = calendar_metadata(first)
    assert (metadata["dagster/row_count"], metadata["days_added"], metadata["days_removed"]) == (
        len(expected),
        len(expected),
        0,
    )
    assert metadata["known_through"] == "2027-12-31"
    assert calendar_check(first).passed
    landed = stored_calendar(sqlite_warehouse)
    assert len(landed) == len(expected)

    second = run_graph(DemoSource(), sqlite_warehouse, instance, assets=[mainland_trading_calendar])
    assert second.success, failure_text(second)
    metadata = calendar_metadata(second)
    assert (metadata["days_added"], metadata["days_removed"], metadata["days_unchanged"]) == (0, 0, len(expected))
    assert stored_calendar(sqlite_warehouse) == landed  # not even rewritten: same loaded_at and run_id


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        pytest.param(DemoCalendarUnreachable(), "no answer within 60 s", id="source error"),
        pytest.param(
            DemoCalendarFrom2015(),
            f"no longer lists {len(snapshot_sessions(D(2000, 1, 1), D(2014, 12, 31)))} past trading day(s) it "
            "listed before (2000-01-04, 2000-01-05, 2000-01-06, 2000-01-07, 2000-01-10 ...); a truncated answer",
            id="truncated answer",
        ),
    ],
)
def test_a_failed_calendar_fetch_warns_and_keeps_what_is_stored(
    instance, sqlite_warehouse, move_clock, source: DemoSource, reason: str
) -> None:
    earlier = move_clock(dt.datetime(2026, 11, 30, 2, 0))
    sqlite_warehouse.land_trading_days(
        DEMO_CALENDAR_PROVIDER, DemoSource().fetch_trading_days(D(2026, 11, 30)), "earlier-run", earlier
    )
    move_clock(dt.datetime(2026, 12, 1, 10, 0))
    before = stored_calendar(sqlite_warehouse)

    result = run_graph(source, sqlite_warehouse, instance, assets=[mainland_trading_calendar])
    assert result.success, failure_text(result)
    check = calendar_check(result)
    assert not check.passed
    assert check.severity == dg.AssetCheckSeverity.WARN
    assert reason in check.description
    assert "in use: demo-synthetic trading calendar 2000-01-04 .. 2026-12-31" in check.description
    assert stored_calendar(sqlite_warehouse) == before


# --- a 2027 holiday Sina lists: a quiet no-op everywhere --------------------------------------


def test_a_holiday_of_the_landed_2027_is_a_quiet_no_op_everywhere(
    instance, sqlite_warehouse, move_clock, tmp_path: Path
) -> None:
    # The demo's bars follow the same closed days as Sina's calendar, as the exchange's would.
    source = DemoBarsSinaCalendar(holidays_file=days_file(tmp_path / "demo-holidays.txt", CLOSED_2027))
    calendar = MarketCalendar()
    before_festival = weekdays(D(2027, 2, 1), D(2027, 2, 5))

    # Monday after the festival, 09:30: the holiday week is over, Monday's bar is not yet final.
    morning_after = move_clock(dt.datetime(2027, 2, 15, 9, 30))
    with serving_calendar(sina_file_dates()):
        result = run_graph(
            source, sqlite_warehouse, instance, partition_range=("2027-02-01", "2027-02-14"), calendar=calendar
        )
    assert result.success, failure_text(result)
    assert calendar_check(result).passed
    assert sqlite_warehouse.read_trading_days(SINA_CALENDAR_PROVIDER)[-1] == D(2027, 12, 31)
    assert sqlite_warehouse.market_daily_dates(D(2027, 2, 1), D(2027, 2, 14)) == set(before_festival)
    assert (
        sqlite_warehouse.read_import_margin(D(2027, 2, 1), D(2027, 2, 14))["record_date"].to_list() == before_festival
    )

    with alert_inbox() as inbox:
        alerter = Alerter(urls=inbox.url)
        # The first morning after the festival wants the Friday before it, which is loaded.
        assert expected_newest_day(morning_after, calendar.load(sqlite_warehouse, source)) == D(2027, 2, 5)
        fresh = freshness_tick(instance, sqlite_warehouse, source, calendar, alerter)
        assert fresh.skip_message == "fresh: newest loaded trading day is 2027-02-05"
        move_clock(dt.datetime(2027, 2, 10, 9, 30))
        holiday = freshness_tick(instance, sqlite_warehouse, source, calendar, alerter)
        assert holiday.skip_message.startswith("nothing due at 2027-02-10 09:30")
    assert inbox.messages == []

    move_clock(dt.datetime(2027, 2, 16, 10, 0))
    with serving_calendar(sina_file_dates()):
        result = run_graph(
            source, sqlite_warehouse, instance, partition_range=("2027-02-08", "2027-02-15"), calendar=calendar
        )
    assert result.success, failure_text(result)
    assert sqlite_warehouse.market_daily_dates(D(2027, 2, 1), D(2027, 2, 15)) == {*before_festival, D(2027, 2, 15)}
    margins = sqlite_warehouse.read_import_margin(D(2027, 2, 1), D(2027, 2, 15))["record_date"].to_list()
    assert margins == [*before_festival, D(2027, 2, 15)]

    # Fifteen days back from 02-16: 02-01 .. 02-15, the festival week inside.
    tick = catchup_tick(instance, sqlite_warehouse, source, calendar, lookback_days=15)
    assert tick.run_requests == []
    assert tick.skip_message == "all 6 trading days since 2027-02-01 are loaded"


# --- the calendar source unreachable past the snapshot: the operator's file and the bars ------


def test_past_the_snapshot_a_day_in_the_operators_file_is_a_quiet_no_op(
    instance, sqlite_warehouse, move_clock, tmp_path: Path
) -> None:
    new_year = D(2027, 1, 1)
    source = DemoBarsSinaCalendar(holidays_file=days_file(tmp_path / "demo-holidays.txt", [new_year]))
    calendar = MarketCalendar(closed_days_file=days_file(tmp_path / "closed-days.txt", [new_year]))
    without_file = MarketCalendar()

    with alert_inbox() as inbox:
        alerter = Alerter(urls=inbox.url)
        move_clock(dt.datetime(2027, 1, 1, 9, 30))
        assert freshness_tick(instance, sqlite_warehouse, source, calendar, alerter).skip_message.startswith(
            "nothing due at 2027-01-01 09:30"
        )

        # Saturday: no bar after New Year's Day exists yet, so only the file can tell it closed.
        move_clock(dt.datetime(2027, 1, 2, 10, 0))
        with serving_body(HTML_ERROR_PAGE):
            result = run_graph(
                source, sqlite_warehouse, instance, partition_range=("2026-12-30", "2027-01-01"), calendar=calendar
            )
        assert result.success, failure_text(result)
        check = calendar_check(result)
        assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
        assert SINA_CALENDAR_SOURCE in check.description and "shipped snapshot" in check.description
        assert sqlite_warehouse.market_daily_dates(D(2026, 12, 30), D(2027, 1, 1)) == {D(2026, 12, 30), D(2026, 12, 31)}

        tick = catchup_tick(instance, sqlite_warehouse, source, calendar, lookback_days=3)
        assert tick.run_requests == []
        assert tick.skip_message == "all 2 trading days since 2026-12-30 are loaded"
        # Without the file the same day is one nothing can decide yet, and would be requested.
        assert requested_ranges(catchup_tick(instance, sqlite_warehouse, source, without_file, lookback_days=3)) == [
            ("2027-01-01", "2027-01-01")
        ]

        # Monday morning wants the Thursday before New Year's Day, which is loaded.
        move_clock(dt.datetime(2027, 1, 4, 9, 30))
        fresh = freshness_tick(instance, sqlite_warehouse, source, calendar, alerter)
        assert fresh.skip_message == "fresh: newest loaded trading day is 2026-12-31"
    assert inbox.messages == []


def test_past_the_snapshot_an_unlisted_closed_day_fails_until_a_later_bar_exists(
    instance, sqlite_warehouse, move_clock, tmp_path: Path
) -> None:
    closure = D(2027, 1, 7)  # Thursday: the exchanges closed, the operator did not list it
    source = DemoBarsSinaCalendar(holidays_file=days_file(tmp_path / "demo-holidays.txt", [D(2027, 1, 1), closure]))
    closed_days_file = days_file(tmp_path / "closed-days.txt", [D(2027, 1, 1)])
    calendar = MarketCalendar(closed_days_file=closed_days_file)

    move_clock(dt.datetime(2027, 1, 7, 10, 0))
    with serving_body("<html><body><h1>502 Bad Gateway</h1></body></html>", status=502):
        result = run_graph(
            source, sqlite_warehouse, instance, partition_range=("2027-01-04", "2027-01-06"), calendar=calendar
        )
    assert result.success, failure_text(result)

    # Friday 10:00: Thursday has no bar and Friday's is not final yet.
    move_clock(dt.datetime(2027, 1, 8, 10, 0))
    with serving_body("<html><body><h1>502 Bad Gateway</h1></body></html>", status=502):
        result = run_graph(source, sqlite_warehouse, instance, partition="2027-01-07", calendar=calendar)
    assert not result.success
    assert [event.step_key for event in result.get_step_failure_events()] == ["market_daily"]
    failure = failure_text(result)
    assert "no bar for 2027-01-07 yet" in failure
    assert f"if the exchanges were closed on 2027-01-07, add it to the closed-days file {closed_days_file}" in failure

    with alert_inbox() as inbox:
        stale = freshness_tick(instance, sqlite_warehouse, source, calendar, Alerter(urls=inbox.url))
    [alert] = inbox.messages
    assert "newest loaded trading day is 2027-01-06, expected 2027-01-07" in alert["message"]
    assert f"add it to the closed-days file {closed_days_file}" in alert["message"]
    assert stale.skip_message.endswith("alert sent")

    # Friday's bar, once final, tells Thursday was a holiday: the same partition loads as a no-op.
    move_clock(dt.datetime(2027, 1, 8, 16, 0))
    with serving_body("<html><body><h1>502 Bad Gateway</h1></body></html>", status=502):
        result = run_graph(source, sqlite_warehouse, instance, partition="2027-01-07", calendar=calendar)
    assert result.success, failure_text(result)
    assert sqlite_warehouse.market_daily_dates(D(2027, 1, 4), D(2027, 1, 8)) == set(
        weekdays(D(2027, 1, 4), D(2027, 1, 6))
    )
    tick = catchup_tick(instance, sqlite_warehouse, source, calendar, lookback_days=4)
    assert tick.skip_message == "all 3 trading days since 2027-01-04 are loaded"


# --- the demo's own calendar -----------------------------------------------------------------


def test_the_demos_made_up_2027_has_weekday_holidays_and_a_spring_festival_week() -> None:
    holidays = made_up_holidays(2027)
    assert all(day.weekday() < 5 and day.year == 2027 for day in holidays)
    assert set(SPRING_FESTIVAL_2027) <= holidays
    assert D(2027, 1, 1) in holidays and set(weekdays(D(2027, 10, 1), D(2027, 10, 7))) <= holidays


def test_the_demo_lists_the_coming_year_from_december() -> None:
    december = DemoSource().fetch_trading_days(D(2026, 12, 1))
    november = DemoSource().fetch_trading_days(D(2026, 11, 30))
    assert december[-1] == D(2027, 12, 31)
    assert november[-1] == D(2026, 12, 31)
    assert december[: len(november)] == november
    assert check_trading_days(december, "demo", D(2026, 12, 1)) == december
    assert check_trading_days(november, "demo", D(2026, 11, 30)) == november
    # A decade of made-up years stays within what the checks call plausible.
    far = DemoSource().fetch_trading_days(D(2035, 12, 1))
    assert check_trading_days(far, "demo", D(2035, 12, 1)) == far


def test_the_demos_sugar_and_fixing_trade_exactly_on_its_2027_sessions() -> None:
    sessions = [day for day in DemoSource().fetch_trading_days(D(2026, 12, 1)) if day.year == 2027]
    assert not set(made_up_holidays(2027)) & set(sessions)
    for series in (Series.ZCE_SUGAR, Series.USD_CNY):
        frame = DemoSource().fetch(series, D(2027, 1, 1), D(2027, 12, 31)).frame
        assert frame["trade_date"].to_list() == sessions, series
