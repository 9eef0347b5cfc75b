"""The Sina trading calendar, fed recorded-shape files through akshare's own decoder."""

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest
import responses

import sugars_dagster
from sugars_dagster.errors import SourceDataError, SourceFetchError
from sugars_dagster.sources.akshare_calendar import SINA_CALENDAR_SOURCE, fetch_sina_trade_dates
from sugars_dagster.sources.calls import RetrySettings
from sugars_dagster_tests.support.sina_calendar import (
    CALENDAR_URL,
    EPOCH,
    encode_trade_dates,
    klc_td_sh_body,
    run_lengths,
    serving_body,
    serving_calendar,
)

FAST = RetrySettings(attempts=1, timeout_seconds=30, backoff_base_seconds=0)
# A session Sina's file lacks; akshare appends it to whatever the file holds.
APPENDED_BY_AKSHARE = dt.date(1992, 5, 4)


def _weekdays(first: dt.date, last: dt.date) -> list[dt.date]:
    days = (first + dt.timedelta(days=offset) for offset in range((last - first).days + 1))
    return [day for day in days if day.weekday() < 5]


def _xshg_sessions(first: dt.date, last: dt.date) -> list[dt.date]:
    """XSHG sessions from the shipped snapshot: its weekdays not listed as closed."""
    snapshot = json.loads((Path(sugars_dagster.__file__).with_name("data") / "xshg_calendar.json").read_text())
    closed = {dt.date.fromisoformat(day) for day in snapshot["closed_weekdays"]}
    first = max(first, dt.date.fromisoformat(snapshot["first_session"]))
    last = min(last, dt.date.fromisoformat(snapshot["coverage_end"]))
    return [day for day in _weekdays(first, last) if day not in closed]


def _made_up_2027() -> tuple[list[dt.date], list[dt.date]]:
    """A plausible 2027: New Year, a Spring Festival week, Qingming, Labour Day, National Day."""
    closed = [
        dt.date(2027, 1, 1),
        *_weekdays(dt.date(2027, 2, 5), dt.date(2027, 2, 11)),
        dt.date(2027, 4, 5),
        *_weekdays(dt.date(2027, 5, 3), dt.date(2027, 5, 5)),
        *_weekdays(dt.date(2027, 10, 1), dt.date(2027, 10, 7)),
    ]
    sessions = [day for day in _weekdays(dt.date(2027, 1, 1), dt.date(2027, 12, 31)) if day not in closed]
    return sessions, closed


class _Log:
    def __init__(self) -> None:
        self.warnings: list[str] = []

    def warning(self, message: str) -> None:
        self.warnings.append(message)


def test_twenty_years_of_real_sessions_arrive() -> None:
    sessions = _xshg_sessions(dt.date(2005, 1, 1), dt.date(2024, 12, 31))
    with serving_calendar(sessions):
        dates = fetch_sina_trade_dates(FAST)
    assert len(sessions) > 4_800
    assert dates == [APPENDED_BY_AKSHARE, *sessions]


def test_the_full_history_as_sina_serves_it_is_the_xshg_calendar() -> None:
    """Sina's list starts at the exchange's opening (1990-12-19) and lacks 1992-05-04."""
    history = _xshg_sessions(EPOCH, dt.date(2026, 12, 31))
    served = [day for day in history if day != APPENDED_BY_AKSHARE]
    with serving_calendar(served):
        dates = fetch_sina_trade_dates(FAST)
    assert dates == history
    assert all(isinstance(day, dt.date) and not isinstance(day, dt.datetime) for day in dates)


def test_a_made_up_2027_with_a_spring_festival_week_arrives() -> None:
    sessions, closed = _made_up_2027()
    with serving_calendar(sessions):
        dates = fetch_sina_trade_dates(FAST)
    assert dates == [APPENDED_BY_AKSHARE, *sessions]
    assert not set(closed) & set(dates)
    # The sessions either side of the festival week are both there.
    assert {dt.date(2027, 2, 4), dt.date(2027, 2, 12)} <= set(dates)


def test_each_year_of_the_real_calendar_arrives_on_its_own() -> None:
    years = range(EPOCH.year + 1, 2027)
    for year in years:
        sessions = _xshg_sessions(dt.date(year, 1, 1), dt.date(year, 12, 31))
        with serving_calendar(sessions):
            dates = fetch_sina_trade_dates(FAST)
        # akshare appends 1992-05-04 unconditionally: in 1992 it is then there twice.
        assert dates == sorted([*sessions, APPENDED_BY_AKSHARE]), year


@pytest.mark.parametrize(
    "sessions",
    [
        pytest.param([dt.date(2027, 3, 3)], id="one session"),
        # One run of about 780 weekdays: a 12-bit token, wider than any real calendar needs.
        pytest.param(_weekdays(dt.date(2030, 1, 1), dt.date(2032, 12, 31)), id="no holidays for three years"),
        pytest.param(_weekdays(dt.date(2027, 1, 4), dt.date(2027, 6, 30))[::2], id="every other weekday"),
        pytest.param([dt.date(1990, 12, 19), dt.date(2031, 12, 31)], id="two sessions forty years apart"),
    ],
)
def test_unusual_calendars_arrive_unchanged(sessions: list[dt.date]) -> None:
    with serving_calendar(sessions):
        dates = fetch_sina_trade_dates(FAST)
    assert [day for day in dates if day != APPENDED_BY_AKSHARE] == sessions


def test_closed_weekdays_become_their_own_runs() -> None:
    # Mon-Wed open, Thu-Fri closed, Mon open: a run of 3, two closed weekdays, a run of 1.
    sessions = [dt.date(2027, 3, 1), dt.date(2027, 3, 2), dt.date(2027, 3, 3), dt.date(2027, 3, 8)]
    assert run_lengths(sessions) == [3, 0, 1]


HTML_ERROR_PAGE = (
    '<!DOCTYPE html><html><head><meta charset="utf-8"><title>页面没有找到</title></head>'
    "<body><p>页面没有找到 5秒钟之后将会带您进入新浪首页!</p><script>var t=5;</script></body></html>"
)


@pytest.mark.parametrize(
    ("body", "status"),
    [
        pytest.param(HTML_ERROR_PAGE, 200, id="HTML error page"),
        pytest.param("", 200, id="empty body"),
        pytest.param("<html><body><h1>502 Bad Gateway</h1></body></html>", 502, id="HTTP 502"),
    ],
)
def test_an_unreadable_answer_is_a_fetch_error_naming_the_source(body: str, status: int) -> None:
    with serving_body(body, status=status) as mock:
        with pytest.raises(SourceFetchError) as caught:
            fetch_sina_trade_dates(FAST)
        assert len(mock.calls) == 1
    assert caught.value.source == SINA_CALENDAR_SOURCE
    assert str(caught.value).startswith(SINA_CALENDAR_SOURCE)
    assert "gave up after 1 attempt(s)" in str(caught.value)


def test_a_failed_attempt_is_logged_and_retried() -> None:
    sessions, _ = _made_up_2027()
    log = _Log()
    with serving_body("", status=502) as mock:
        # Registered answers to one address are given in turn: a 502, then the file.
        mock.add(responses.GET, CALENDAR_URL, body=klc_td_sh_body(sessions))
        dates = fetch_sina_trade_dates(RetrySettings(attempts=2, timeout_seconds=30, backoff_base_seconds=0), log)
    assert dates == [APPENDED_BY_AKSHARE, *sessions]
    assert len(log.warnings) == 1
    assert SINA_CALENDAR_SOURCE in log.warnings[0] and "attempt 1/2" in log.warnings[0]


def _serve_frame(monkeypatch: pytest.MonkeyPatch, frame: object) -> None:
    """Replace the akshare call itself: these tests are about our reading of its frame."""
    import akshare

    monkeypatch.setattr(akshare, "tool_trade_date_hist_sina", lambda: frame)


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        pytest.param(pd.DataFrame({"date": [dt.date(2025, 1, 2)]}), "no 'trade_date' column", id="wrong column"),
        pytest.param(pd.DataFrame({"trade_date": []}), "returned no rows", id="no rows"),
        pytest.param(pd.DataFrame({"trade_date": [dt.date(2025, 1, 2), None]}), "row 1: None is missing", id="None"),
        pytest.param(
            pd.DataFrame({"trade_date": [dt.date(2025, 1, 2), float("nan")]}), "row 1: nan is missing", id="NaN"
        ),
        pytest.param(
            pd.DataFrame({"trade_date": ["2025-01-02", "2025-01-03"]}),
            "2 of 2 value(s) are not calendar dates: row 0: '2025-01-02' is not a date (str)",
            id="strings",
        ),
        pytest.param(
            pd.DataFrame({"trade_date": pd.to_datetime(["2025-01-02", "2025-01-03"]).tz_localize("UTC")}),
            "has a time zone",
            id="zoned timestamps",
        ),
        pytest.param(
            pd.DataFrame({"trade_date": pd.to_datetime(["2025-01-02 00:00", "2025-01-03 15:00"])}),
            "row 1: Timestamp('2025-01-03 15:00:00') has a time of day",
            id="timestamp with a time",
        ),
        pytest.param([dt.date(2025, 1, 2)], "returned list, expected a DataFrame", id="not a frame"),
    ],
)
def test_a_frame_that_is_not_dates_is_a_data_error(
    monkeypatch: pytest.MonkeyPatch, frame: object, message: str
) -> None:
    _serve_frame(monkeypatch, frame)
    with pytest.raises(SourceDataError) as caught:
        fetch_sina_trade_dates(FAST)
    assert caught.value.source == SINA_CALENDAR_SOURCE
    assert caught.value.field == "trade_date"
    assert message in str(caught.value)


def test_every_offending_value_is_listed_where_the_message_shows_a_few(monkeypatch: pytest.MonkeyPatch) -> None:
    _serve_frame(monkeypatch, pd.DataFrame({"trade_date": ["n/a"] * 5 + [dt.date(2025, 1, 2)]}))
    with pytest.raises(SourceDataError) as caught:
        fetch_sina_trade_dates(FAST)
    assert "and 2 more" in str(caught.value)
    assert caught.value.offending == [f"row {index}: 'n/a' is not a date (str)" for index in range(5)]


def test_naive_midnight_timestamps_become_dates_in_the_order_returned(monkeypatch: pytest.MonkeyPatch) -> None:
    # Out of order on purpose: judging the order is the calendar check's job, not this reader's.
    _serve_frame(monkeypatch, pd.DataFrame({"trade_date": pd.to_datetime(["2025-01-03", "2025-01-02"])}))
    dates = fetch_sina_trade_dates(FAST)
    assert dates == [dt.date(2025, 1, 3), dt.date(2025, 1, 2)]
    assert all(type(day) is dt.date for day in dates)


def test_a_truncated_file_decodes_to_a_wrong_calendar_without_an_error() -> None:
    """The decoder does not notice a cut-off file: it makes up the weekdays after the cut (all
    open or all closed, depending on where the cut falls), so only the calendar check can catch it."""
    sessions, _ = _made_up_2027()
    encoded = encode_trade_dates(sessions)
    with serving_body(f'var datelist="{encoded[: len(encoded) // 2]}";var KLC_TD_SH=datelist;'):
        dates = fetch_sina_trade_dates(FAST)
    assert dates != [APPENDED_BY_AKSHARE, *sessions]
    assert dates[1] == sessions[0]
