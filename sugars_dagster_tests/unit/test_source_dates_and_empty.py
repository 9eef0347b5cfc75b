"""Dates are read as the market's day, and an empty answer is named instead of retried."""

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import dagster as dg
import pandas as pd
import polars as pl
import pytest
import responses

from sugars_dagster.defs.assets.step_policy import no_retry_for_lasting_errors
from sugars_dagster.errors import SourceDataError, SourceError, SourceFetchError
from sugars_dagster.market.series import Series
from sugars_dagster.sources import validation
from sugars_dagster.sources.akshare_source import AKSHARE_CALLS, AkshareCall
from sugars_dagster.sources.calls import RetrySettings, call_with_retries
from sugars_dagster.sources.demo_source import synthetic_frame
from sugars_dagster.sources.validation import PLAUSIBLE_RANGES, validate_frame
from sugars_dagster_tests.support import payloads
from sugars_dagster_tests.support.recorded_world import RecordedWorld, fast_akshare

FIRST, LAST = dt.date(2025, 11, 3), dt.date(2025, 12, 5)
WORLD = RecordedWorld(FIRST, LAST)
SINA_SR, EASTMONEY_SR = AKSHARE_CALLS[Series.ZCE_SUGAR]
SINA_ICE, EASTMONEY_ICE = AKSHARE_CALLS[Series.ICE_NO11]
[SAFE] = AKSHARE_CALLS[Series.USD_CNY]
[SINA_BDI] = AKSHARE_CALLS[Series.BDI]

# Eastmoney answering with an error, so that Sina's answer is the one judged.
EASTMONEY_DOWN = json.dumps({"rc": 102, "data": None})


def sr_body(stamp: Callable[[dt.date], str]) -> str:
    rows = WORLD.rows(Series.ZCE_SUGAR)
    return payloads.sr_jsonp([{**row, "date": stamp(row["trade_date"]), "hold": row["open_interest"]} for row in rows])


def ice_body(stamp: Callable[[dt.date], str]) -> str:
    return payloads.ice_jsonp([{**row, "date": stamp(row["trade_date"])} for row in WORLD.rows(Series.ICE_NO11)])


def the_sina_failure(error: SourceError, source: str) -> SourceDataError:
    [failure] = [failure for failure in error.contract_failures() if failure.source == source]
    return failure


def test_every_series_has_its_market_zone() -> None:
    zones = validation.MARKET_ZONES
    assert set(zones) == set(PLAUSIBLE_RANGES) == set(Series)
    assert {series: zone.key for series, zone in zones.items()} == {
        Series.ZCE_SUGAR: "Asia/Shanghai",
        Series.USD_CNY: "Asia/Shanghai",
        Series.BDI: "Europe/London",
        Series.ICE_NO11: "America/New_York",
    }


# --- Dates through akshare's own parsing -------------------------------------------------------


@pytest.mark.parametrize(
    "stamp",
    [
        # Shanghai midnight written in UTC: 16:00 of the previous day.
        lambda day: f"{day - dt.timedelta(days=1)}T16:00:00Z",
        lambda day: f"{day - dt.timedelta(days=1)}T16:00:00+00:00",
        lambda day: f"{day}T00:00:00+08:00",
        # Naive midnight keeps its date.
        lambda day: f"{day} 00:00:00",
    ],
    ids=["utc-z", "utc-offset", "shanghai-offset", "naive-midnight"],
)
def test_sina_sr_stamped_with_a_zone_lands_on_shanghai_days(stamp: Callable[[dt.date], str]) -> None:
    # Sina's SR `date` passes through akshare as the string Sina sent.
    with WORLD.serving(sr=sr_body(stamp), eastmoney_sr=EASTMONEY_DOWN):
        fetched = fast_akshare().fetch(Series.ZCE_SUGAR, FIRST, LAST)
    assert fetched.provider == SINA_SR.provider
    expected = synthetic_frame(Series.ZCE_SUGAR, FIRST, LAST)
    days = fetched.frame["trade_date"].to_list()
    assert days == expected["trade_date"].to_list()
    assert not [day for day in days if day.weekday() == 6]  # no bar on a Sunday
    closes = dict(zip(days, fetched.frame["close"].to_list(), strict=True))
    expected_closes = dict(zip(expected["trade_date"].to_list(), expected["close"].to_list(), strict=True))
    assert closes[dt.date(2025, 12, 3)] == expected_closes[dt.date(2025, 12, 3)]


def test_sina_ice_stamped_in_utc_lands_on_new_york_days() -> None:
    # Sina's ICE `date` is parsed by pandas.read_json: "...Z" arrives as a UTC Timestamp. The end of
    # a New York trading day (23:59:59 EST) is 04:59:59 UTC of the next calendar day.
    body = ice_body(lambda day: f"{day + dt.timedelta(days=1)}T04:59:59Z")
    with WORLD.serving(ice=body, eastmoney_ice=EASTMONEY_DOWN):
        fetched = fast_akshare().fetch(Series.ICE_NO11, FIRST, LAST)
    assert fetched.provider == SINA_ICE.provider
    expected = synthetic_frame(Series.ICE_NO11, FIRST, LAST)
    assert fetched.frame["trade_date"].to_list() == expected["trade_date"].to_list()
    assert fetched.frame["close"].to_list() == pytest.approx(expected["close"].to_list())


@pytest.mark.parametrize(
    ("series", "serving", "source"),
    [
        # A string through akshare's SR parser...
        (Series.ZCE_SUGAR, {"sr": sr_body(lambda day: f"{day} 16:00:00"), "eastmoney_sr": EASTMONEY_DOWN}, SINA_SR),
        # ...and a naive pandas Timestamp through the ICE one.
        (Series.ICE_NO11, {"ice": ice_body(lambda day: f"{day} 16:00:00"), "eastmoney_ice": EASTMONEY_DOWN}, SINA_ICE),
    ],
    ids=["sr-string", "ice-timestamp"],
)
def test_a_naive_time_of_day_is_refused_not_shifted(
    series: Series, serving: dict[str, str], source: AkshareCall
) -> None:
    with WORLD.serving(**serving), pytest.raises(SourceError) as error:
        fast_akshare().fetch(series, FIRST, LAST)
    failure = the_sina_failure(error.value, source.contract.source)
    assert failure.field == "date"
    assert str(failure).startswith(f"{source.contract.source}, field 'date': ")
    assert "time of day but no time zone" in str(failure)
    assert "2025-11-03 16:00:00" in str(failure)


# --- Dates handed to validate_frame directly ---------------------------------------------------
# akshare's BDI parser (spot_goods) reads dates with format="%Y-%m-%d", errors="coerce" and drops
# the rows it cannot read, and SAFE's (currency_boc_safe) applies `.dt.date` to whatever offset the
# string carried: for these two sources a zone-aware value cannot arrive through akshare, so the
# conversion is tested on the frame validate_frame receives.


@pytest.mark.parametrize(
    ("stamp", "day"),
    [
        (pd.Timestamp("2025-07-02T06:00:00+08:00"), dt.date(2025, 7, 1)),  # 23:00 in London (BST)
        (pd.Timestamp("2025-07-01T23:30:00Z"), dt.date(2025, 7, 2)),  # 00:30 in London (BST)
        ("2025-12-02T13:00:00+00:00", dt.date(2025, 12, 2)),
        (dt.datetime(2025, 12, 2, 0, 0), dt.date(2025, 12, 2)),  # naive midnight
    ],
    ids=["shanghai-timestamp", "utc-timestamp", "iso-string", "naive-midnight"],
)
def test_bdi_dates_are_london_days(stamp: object, day: dt.date) -> None:
    frame = pd.DataFrame({"日期": [stamp], "指数": [2100.0]})
    result = validate_frame(frame, SINA_BDI.contract, dt.date(2025, 1, 1), dt.date(2025, 12, 31))
    assert result["trade_date"].to_list() == [day]


def test_safe_dates_are_shanghai_days_also_from_a_polars_frame() -> None:
    stamps = [dt.datetime(2025, 12, 1, 16, tzinfo=dt.UTC), dt.datetime(2025, 12, 2, 16, tzinfo=dt.UTC)]
    for frame in (
        pd.DataFrame({"日期": pd.to_datetime(stamps), "美元": [710.76, 711.02]}),
        pl.DataFrame({"日期": stamps, "美元": [710.76, 711.02]}),
    ):
        result = validate_frame(frame, SAFE.contract, dt.date(2025, 12, 1), dt.date(2025, 12, 31))
        assert result["trade_date"].to_list() == [dt.date(2025, 12, 2), dt.date(2025, 12, 3)]
        assert result["usd_cny"].to_list() == [7.1076, 7.1102]


@pytest.mark.parametrize(
    "stamp",
    [pd.Timestamp("2025-12-02 13:00"), dt.datetime(2025, 12, 2, 0, 0, 1), "2025-12-02T13:00:00"],
    ids=["timestamp", "datetime", "string"],
)
def test_bdi_naive_time_of_day_is_refused(stamp: object) -> None:
    frame = pd.DataFrame({"日期": [dt.date(2025, 12, 3), stamp], "指数": [2100.0, 2050.0]})
    with pytest.raises(SourceDataError) as error:
        validate_frame(frame, SINA_BDI.contract, dt.date(2025, 12, 1), dt.date(2025, 12, 31))
    assert error.value.source == SINA_BDI.contract.source
    assert error.value.field == "日期"
    assert "time of day but no time zone" in str(error.value)
    assert error.value.offending == [repr(stamp)]


# --- Empty answers through akshare's own parsing -----------------------------------------------

SINA_SR_JSONP = payloads.SINA_GUARD + "var _V21052021_4_12=({rows});"
EASTMONEY_SR_NO_KLINES = json.dumps({"rc": 0, "data": {"code": "SRM", "market": 115, "name": "白糖主连", "klines": []}})


# A bar without Sina's settle ("s"): the rows are there, but one field short.
SR_ROW_WITHOUT_SETTLE = {"d": "2025-12-01", "o": "5400", "h": "5450", "l": "5380", "c": "5412", "v": "1", "p": "1"}


def bdi_answer(rows: object) -> bytes:
    return json.dumps({"result": {"status": {"code": 0}, "data": {"data": rows, "count": 0}}}).encode("gbk")


def calls_to(mock: responses.RequestsMock, marker: str) -> int:
    return len([call for call in mock.calls if marker in call.request.url])


# "Header only": the answer's envelope (Sina's guard and JSONP variable, BDI's status and count)
# with no row list in it.
@pytest.mark.parametrize("rows", ["[]", "null"], ids=["empty-list", "header-only"])
def test_sina_sr_answering_no_rows_is_named_and_asked_once(rows: str) -> None:
    with WORLD.serving(sr=SINA_SR_JSONP.format(rows=rows), eastmoney_sr=EASTMONEY_SR_NO_KLINES) as mock:
        with pytest.raises(SourceDataError) as error:
            fast_akshare(attempts=3).fetch(Series.ZCE_SUGAR, FIRST, LAST)
        assert calls_to(mock, "getDailyKLine") == 1
    assert [(failure.source, failure.field, failure.detail) for failure in error.value.contract_failures()] == [
        (SINA_SR.contract.source, "date", "returned no rows"),
        # Eastmoney's parser returns its zero-row frame as it is.
        (EASTMONEY_SR.contract.source, "时间", "returned no rows"),
    ]


@pytest.mark.parametrize("rows", [[], None], ids=["empty-list", "header-only"])
def test_sina_bdi_answering_no_rows_is_named_and_not_retried(rows: object) -> None:
    with WORLD.serving(bdi=bdi_answer(rows)) as mock:
        with pytest.raises(SourceDataError) as error:
            fast_akshare(attempts=3).fetch(Series.BDI, FIRST, LAST)
        assert calls_to(mock, "get_goods_index") == 1
    assert str(error.value) == "Sina spot_goods(symbol='波罗的海干散货指数'), field '日期': returned no rows"
    # A lasting error for the step: no step retry either.
    with pytest.raises(dg.Failure) as failure, no_retry_for_lasting_errors():
        raise error.value
    assert not failure.value.allow_retries


def test_sina_and_eastmoney_ice_answering_no_rows_are_named() -> None:
    no_klines = json.dumps({"rc": 0, "data": {"code": "SB00Y", "market": 108, "name": "原糖连续", "klines": []}})
    with (
        WORLD.serving(ice=payloads.SINA_GUARD + "var _S2025_12_5=([]);", eastmoney_ice=no_klines),
        pytest.raises(SourceDataError) as error,
    ):
        fast_akshare(attempts=3).fetch(Series.ICE_NO11, FIRST, LAST)
    assert [(failure.source, failure.field, failure.detail) for failure in error.value.contract_failures()] == [
        (SINA_ICE.contract.source, "date", "returned no rows"),
        (EASTMONEY_ICE.contract.source, "日期", "returned no rows"),
    ]


def test_safe_answering_only_headers_is_named() -> None:
    with (
        payloads.recorded_sources(fx_history=[], fx_recent=[]),
        pytest.raises(SourceDataError, match=r"^SAFE currency_boc_safe\(\), field '日期': returned no rows$"),
    ):
        fast_akshare(attempts=3).fetch(Series.USD_CNY, FIRST, LAST)


@pytest.mark.parametrize(
    ("series", "serving", "marker"),
    [
        # akshare's 'Length mismatch' on a frame that has rows.
        (
            Series.ZCE_SUGAR,
            {"sr": SINA_SR_JSONP.format(rows=json.dumps([SR_ROW_WITHOUT_SETTLE])), "eastmoney_sr": EASTMONEY_DOWN},
            "getDailyKLine",
        ),
        # Every field renamed: akshare's KeyError on a frame that has rows.
        (Series.BDI, {"bdi": bdi_answer([{"day": "2025-12-01", "value": "2100"}])}, "get_goods_index"),
    ],
    ids=["sr-short-rows", "bdi-renamed-fields"],
)
def test_other_parser_errors_stay_retriable_fetch_errors(series: Series, serving: dict[str, Any], marker: str) -> None:
    with WORLD.serving(**serving) as mock:
        with pytest.raises(SourceFetchError) as error:
            fast_akshare(attempts=3).fetch(series, FIRST, LAST)
        assert calls_to(mock, marker) == 3
    assert "returned no rows" not in str(error.value)


def test_a_data_error_from_the_call_is_not_retried() -> None:
    calls: list[int] = []

    def empty() -> None:
        calls.append(1)
        raise SourceDataError("Sina", "returned no rows", field="date")

    settings = RetrySettings(attempts=4, timeout_seconds=5.0, backoff_base_seconds=0.0, backoff_max_seconds=0.0)
    with pytest.raises(SourceDataError, match=r"^Sina, field 'date': returned no rows$"):
        call_with_retries(empty, source="Sina", settings=settings, sleep=lambda seconds: None)
    assert calls == [1]


def test_a_zero_row_frame_without_columns_is_no_rows() -> None:
    with pytest.raises(SourceDataError) as error:
        validate_frame(pd.DataFrame(), SINA_SR.contract, FIRST, LAST)
    assert str(error.value) == "Sina futures_zh_daily_sina(symbol='SR0'), field 'date': returned no rows"
