import datetime as dt

import pandas as pd
import polars as pl
import pytest

from sugars_dagster.errors import SourceDataError
from sugars_dagster.market.series import Series
from sugars_dagster.sources.akshare_source import AKSHARE_CALLS
from sugars_dagster.sources.validation import FrameContract, validate_frame

SR = AKSHARE_CALLS[Series.ZCE_SUGAR][0].contract
FX = AKSHARE_CALLS[Series.USD_CNY][0].contract
FIRST, LAST = dt.date(2025, 12, 1), dt.date(2025, 12, 31)


def sr_frame(**changes: list) -> pd.DataFrame:
    """What akshare's futures_zh_daily_sina returns, optionally with columns replaced."""
    columns = {
        "date": ["2025-12-01", "2025-12-02", "2025-12-03"],
        "open": [5400.0, 5410.0, 5420.0],
        "high": [5450.0, 5460.0, 5470.0],
        "low": [5380.0, 5390.0, 5400.0],
        "close": [5412.0, 5422.0, 5432.0],
        "volume": [250000, 260000, 270000],
        "hold": [600000, 610000, 620000],
        "settle": [5411.0, 5421.0, 0.0],
    }
    columns.update(changes)
    return pd.DataFrame(columns)


def test_a_good_frame_becomes_canonical() -> None:
    frame = validate_frame(sr_frame(), SR, FIRST, LAST)
    assert frame.columns == ["trade_date", "open", "high", "low", "close", "settle", "volume", "open_interest"]
    assert frame["trade_date"].to_list() == [dt.date(2025, 12, d) for d in (1, 2, 3)]
    assert frame["close"].to_list() == [5412.0, 5422.0, 5432.0]
    # settle 0 is Sina's "no settlement yet": stored as missing, never as a price of zero
    assert frame["settle"].to_list() == [5411.0, 5421.0, None]
    assert frame.schema["open_interest"] == pl.Int64


def test_only_the_window_is_judged_and_kept() -> None:
    frame = sr_frame(close=[-1.0, 5422.0, 5432.0])  # the bad value lies before the window
    kept = validate_frame(frame, SR, dt.date(2025, 12, 2), LAST)
    assert kept["trade_date"].to_list() == [dt.date(2025, 12, 2), dt.date(2025, 12, 3)]


def test_fx_is_scaled_from_per_100_usd() -> None:
    frame = pd.DataFrame({"日期": [dt.date(2025, 12, 1)], "美元": [710.76], "欧元": [820.1]})
    assert validate_frame(frame, FX, FIRST, LAST)["usd_cny"].to_list() == [7.1076]


@pytest.mark.parametrize(
    ("frame", "field", "message"),
    [
        (sr_frame().rename(columns={"close": "收盘价"}), "close", "column missing"),
        (sr_frame(close=[5412.0, "n/a", 5432.0]), "close", "not a number on 2025-12-02: 'n/a'"),
        (sr_frame(close=[5412.0, float("nan"), 5432.0]), "close", "missing values (NaN/empty) on 2025-12-02"),
        (sr_frame(open=[5400.0, None, 5420.0]), "open", "missing values"),
        (sr_frame(date=["2025-12-01", "2025-12-01", "2025-12-03"]), "date", "duplicate dates 2025-12-01"),
        (sr_frame(date=["2025-12-01", "2025-12-03", "2025-12-02"]), "date", "dates out of order"),
        (sr_frame(date=["2025-12-01", "yesterday", "2025-12-03"]), "date", "not dates"),
        (sr_frame(low=[5380.0, -5390.0, 5400.0]), "low", "zero or negative prices"),
        (sr_frame(close=[5412.0, 0.0, 5432.0]), "close", "zero or negative prices"),
        (sr_frame(volume=[250000, -3, 270000]), "volume", "negative counts"),
        (sr_frame(close=[541.2, 542.2, 543.2]), "close", "outside the plausible 1500-12000"),
    ],
    ids=[
        "renamed-column",
        "string",
        "nan",
        "none",
        "duplicate-dates",
        "out-of-order",
        "unparsable-date",
        "negative-price",
        "zero-price",
        "negative-volume",
        "unit-change",
    ],
)
def test_bad_frames_are_refused_naming_source_and_field(frame: pd.DataFrame, field: str, message: str) -> None:
    with pytest.raises(SourceDataError) as error:
        validate_frame(frame, SR, FIRST, LAST)
    assert error.value.source == SR.source
    assert error.value.field == field
    assert message in str(error.value)
    assert str(error.value).startswith(f"{SR.source}, field '{field}'")


def test_fx_no_longer_per_100_is_caught_as_a_unit_change() -> None:
    frame = pd.DataFrame({"日期": [dt.date(2025, 12, 1)], "美元": [7.1076]})
    with pytest.raises(SourceDataError, match=r"field '美元'.*after scaling by 0.01 \(unit changed\?\)"):
        validate_frame(frame, FX, FIRST, LAST)


@pytest.mark.parametrize(
    ("returned", "message"),
    [
        ("<html><body>502 Bad Gateway</body></html>", "returned str, expected a table"),
        (None, "returned NoneType, expected a table"),
        (sr_frame().iloc[0:0], "returned no rows"),
        (sr_frame(date=["2024-01-02", "2024-01-03", "2024-01-04"]), "no rows between 2025-12-01 and 2025-12-31"),
    ],
)
def test_no_usable_table_is_refused(returned: object, message: str) -> None:
    with pytest.raises(SourceDataError, match=message):
        validate_frame(returned, SR, FIRST, LAST)


def test_a_source_documented_newest_first_is_sorted() -> None:
    contract = FrameContract(
        series=Series.BDI, source="Sina spot_goods", date_column="日期", columns={"bdi": "指数"}, ascending=False
    )
    frame = pd.DataFrame({"日期": [dt.date(2025, 12, 3), dt.date(2025, 12, 2)], "指数": [2100, 2050]})
    result = validate_frame(frame, contract, FIRST, LAST)
    assert result["trade_date"].to_list() == [dt.date(2025, 12, 2), dt.date(2025, 12, 3)]
    assert result["bdi"].to_list() == [2050.0, 2100.0]


def test_a_wholly_blank_row_is_skipped_but_a_dateless_value_is_not() -> None:
    footnote = pd.DataFrame({"日期": [dt.date(2025, 12, 1), pd.NaT], "美元": [710.76, float("nan")]})
    assert validate_frame(footnote, FX, FIRST, LAST)["usd_cny"].to_list() == [7.1076]

    dateless = pd.DataFrame({"日期": [dt.date(2025, 12, 1), pd.NaT], "美元": [710.76, 711.02]})
    with pytest.raises(SourceDataError, match=r"field '日期': 1 value\(s\) are not dates \(YYYY-MM-DD\): NaT"):
        validate_frame(dateless, FX, FIRST, LAST)
