"""Checks every frame a source returns before any of it can reach the warehouse.

A frame is accepted only with rows, all expected columns, real dates in a strictly increasing order
with no duplicates, numbers in every value column, no gaps in required fields, and values
inside the series' plausible range. The error names the source and the field.

A date is the market's day: a timestamp that carries a time zone is read in the series' market
zone, a naive one must be midnight (its time of day in an unknown zone could be either day). A date
more than a few days after today in that zone is not a bar yet to come but a broken feed: refused.

Numbers written as text ("5412.000") pass: Sina sends strings and akshare converts most of them,
but one word in a column keeps the whole column as text, and that word is what gets reported.
"""

import datetime as dt
import math
import numbers
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import polars as pl

from sugars_dagster.errors import SourceDataError
from sugars_dagster.market.series import MARKET_ZONES, PLAUSIBLE_RANGES, SERIES_COLUMNS, Series, ValueColumn

if TYPE_CHECKING:  # numpy itself is loaded by the sources that hand over numpy-backed frames
    import numpy as np

# How far past today (in the market's zone) a date may lie: Sina labels Friday night's ZCE session
# with Monday's date. Such rows are not stored until final; later dates are refused.
FUTURE_MARGIN = dt.timedelta(days=4)

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")
_EXAMPLES = 3


@dataclass(frozen=True)
class FrameContract:
    """How one source's frame maps onto a series' canonical columns."""

    series: Series
    source: str
    date_column: str
    # canonical column name -> column name in the source frame (None: this source lacks it)
    columns: Mapping[str, str | None]
    # canonical column -> factor applied before range checks (SAFE quotes CNY per 100 USD)
    scale: Mapping[str, float] = field(default_factory=dict)
    # canonical columns where the source writes 0 for "no value" (Sina's settle)
    zero_is_missing: frozenset[str] = frozenset()
    # False where the source is documented to deliver another order (it is then sorted)
    ascending: bool = True


def _column_names(frame: Any) -> list[str]:
    return [str(name) for name in frame.columns]


def _column_values(frame: Any, name: str) -> list[Any]:
    column = frame[name]
    return column.to_list() if isinstance(column, pl.Series) else column.tolist()


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return type(value).__name__ in {"NaTType", "NAType"}


def _to_moment(value: Any) -> dt.date | dt.datetime | None:
    """A date value as a date or a datetime (pandas' Timestamp is one), else None."""
    if _is_missing(value):  # pandas' NaT is a datetime too
        return None
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str):
        return None
    text = value.strip()
    try:
        if _ISO_DATE.match(text):
            return dt.date.fromisoformat(text)
        if _ISO_TIMESTAMP.match(text):
            return dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return None


def _is_naive(moment: dt.datetime) -> bool:
    return moment.tzinfo is None or moment.utcoffset() is None


def _has_unplaced_time(moment: dt.date | dt.datetime) -> bool:
    """A naive timestamp past midnight: without its zone, its market day cannot be known."""
    return isinstance(moment, dt.datetime) and _is_naive(moment) and moment.time() != dt.time()


def _market_day(moment: dt.date | dt.datetime, zone: ZoneInfo) -> dt.date:
    if isinstance(moment, dt.datetime):
        return moment.date() if _is_naive(moment) else moment.astimezone(zone).date()
    return moment


def _to_number(value: Any) -> float | None:
    """A real number (or a number written as text), else None: words, booleans, other objects."""
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    return float(value)


def _examples(items: Sequence[Any]) -> str:
    shown = ", ".join(str(item) for item in items[:_EXAMPLES])
    return shown + (f" and {len(items) - _EXAMPLES} more" if len(items) > _EXAMPLES else "")


def _parse_dates(frame: Any, contract: FrameContract) -> list[tuple[int, dt.date]]:
    """(row index, market day) of every dated row. A wholly blank row (no date, no values, such as
    a spreadsheet's trailing note) is skipped; a row with values but no readable date is an error,
    and so is a naive time of day, which is never moved to a day by guessing its zone."""
    raw = _column_values(frame, contract.date_column)
    values = [_column_values(frame, name) for name in contract.columns.values() if name]
    zone = MARKET_ZONES[contract.series]
    dated: list[tuple[int, dt.date]] = []
    bad: list[str] = []
    unplaced: list[str] = []
    for index, value in enumerate(raw):
        moment = _to_moment(value)
        if moment is None:
            if not (_is_missing(value) and all(_is_missing(column[index]) for column in values)):
                bad.append(repr(value))
        elif _has_unplaced_time(moment):
            unplaced.append(repr(value))
        else:
            dated.append((index, _market_day(moment, zone)))
    if bad:
        raise SourceDataError(
            contract.source,
            f"{len(bad)} value(s) are not dates (YYYY-MM-DD): {_examples(bad)}",
            field=contract.date_column,
            offending=bad,
        )
    if unplaced:
        raise SourceDataError(
            contract.source,
            f"{len(unplaced)} date value(s) carry a time of day but no time zone, so their "
            f"{zone.key} trading day is unknown: {_examples(unplaced)}",
            field=contract.date_column,
            offending=unplaced,
        )
    return dated


def latest_plausible_day(series: Series, now: dt.datetime) -> dt.date:
    """The newest date a source's answer may carry at `now` (a bar still to come is dropped, not
    refused, until it is final)."""
    return now.astimezone(MARKET_ZONES[series]).date() + FUTURE_MARGIN


def _check_not_future(dates: list[dt.date], contract: FrameContract, latest: dt.date | None) -> None:
    future = sorted({day.isoformat() for day in dates if latest is not None and day > latest})
    if future:
        raise SourceDataError(
            contract.source,
            f"dates in the future (after {latest}): {_examples(future)}",
            field=contract.date_column,
            offending=future,
        )


def _check_order(dates: list[dt.date], contract: FrameContract) -> None:
    duplicates = sorted(day for day, count in Counter(dates).items() if count > 1)
    if duplicates:
        shown = [day.isoformat() for day in duplicates]
        raise SourceDataError(
            contract.source, f"duplicate dates {_examples(shown)}", field=contract.date_column, offending=shown
        )
    if contract.ascending:
        backwards = [
            f"{later.isoformat()} after {earlier.isoformat()}"
            for earlier, later in zip(dates, dates[1:], strict=False)
            if later < earlier
        ]
        if backwards:
            raise SourceDataError(
                contract.source,
                f"dates out of order: {_examples(backwards)}",
                field=contract.date_column,
                offending=backwards,
            )


def _numeric_array(column: Any) -> "np.ndarray | None":
    """The column as floats (NaN for missing) when it already holds numbers, else None."""
    if isinstance(column, pl.Series):
        return column.cast(pl.Float64).to_numpy() if column.dtype.is_numeric() else None
    if getattr(column.dtype, "kind", None) in ("f", "i", "u"):
        return column.to_numpy(dtype=float, na_value=math.nan)
    return None


def _window_numbers(
    frame: Any, source_name: str, in_window: list[int], dates: dict[int, dt.date], contract: FrameContract
) -> list[float | None]:
    """The column's values on the window's rows: floats, or None where missing."""
    numeric = _numeric_array(frame[source_name])
    if numeric is not None:  # the common case: akshare already converted to numbers
        return [None if math.isnan(value) else value for value in numeric[in_window].tolist()]
    raw = _column_values(frame, source_name)
    values: list[float | None] = []
    for index in in_window:
        value = raw[index]
        if _is_missing(value):
            values.append(None)
            continue
        number = _to_number(value)
        if number is None:
            raise SourceDataError(
                contract.source,
                f"not a number on {dates[index].isoformat()}: {value!r} ({type(value).__name__})",
                field=source_name,
                offending=[
                    f"{dates[i].isoformat()}: {raw[i]!r}"
                    for i in in_window
                    if not _is_missing(raw[i]) and _to_number(raw[i]) is None
                ],
            )
        values.append(number)
    return values


def no_rows_error(contract: FrameContract) -> SourceDataError:
    """An answer without rows: lasting (asking again gets the same), unlike a failed call."""
    return SourceDataError(contract.source, "returned no rows", field=contract.date_column)


def _check_columns(frame: Any, contract: FrameContract) -> None:
    if not hasattr(frame, "columns") or not hasattr(frame, "__len__"):
        raise SourceDataError(contract.source, f"returned {type(frame).__name__}, expected a table")
    # Before the columns: akshare hands an empty answer back as a frame without any.
    if len(frame) == 0:
        raise no_rows_error(contract)
    present = _column_names(frame)
    expected = [contract.date_column, *(name for name in contract.columns.values() if name)]
    missing = [name for name in expected if name not in present]
    if missing:
        raise SourceDataError(
            contract.source,
            f"column missing (renamed upstream?); the frame has {present}",
            field=", ".join(missing),
        )


def _check_values(
    values: list[float | None], column: ValueColumn, source_name: str, days: list[dt.date], contract: FrameContract
) -> None:
    """Required values present, counts not negative, prices positive and inside the series' range."""
    gaps = [day.isoformat() for day, value in zip(days, values, strict=True) if value is None]
    if column.required and gaps:
        raise SourceDataError(
            contract.source, f"missing values (NaN/empty) on {_examples(gaps)}", field=source_name, offending=gaps
        )
    numbers_only = [(day, value) for day, value in zip(days, values, strict=True) if value is not None]
    if column.integer:
        negative = [f"{d.isoformat()}: {v:g}" for d, v in numbers_only if v < 0]
        if negative:
            raise SourceDataError(
                contract.source, f"negative counts {_examples(negative)}", field=source_name, offending=negative
            )
        return
    nonpositive = [f"{d.isoformat()}: {v:g}" for d, v in numbers_only if v <= 0]
    if nonpositive:
        raise SourceDataError(
            contract.source,
            f"zero or negative prices {_examples(nonpositive)}",
            field=source_name,
            offending=nonpositive,
        )
    low, high = PLAUSIBLE_RANGES[contract.series]
    outside = [f"{d.isoformat()}: {v:g}" for d, v in numbers_only if not low <= v <= high]
    if outside:
        scale = contract.scale.get(column.name)
        unit_hint = f" after scaling by {scale:g}" if scale else ""
        raise SourceDataError(
            contract.source,
            f"values outside the plausible {low:g}-{high:g}{unit_hint} (unit changed?): {_examples(outside)}",
            field=source_name,
            offending=outside,
        )


def _canonical_values(
    frame: Any, column: ValueColumn, in_window: list[int], dates: dict[int, dt.date], contract: FrameContract
) -> list[float | None]:
    """One value column inside the window, in canonical units, checked and rounded."""
    source_name = contract.columns[column.name]
    if source_name is None:
        return [None] * len(in_window)
    values = _window_numbers(frame, source_name, in_window, dates, contract)
    if column.name in contract.zero_is_missing:
        values = [None if value == 0 else value for value in values]
    factor = contract.scale.get(column.name)
    if factor is not None:
        values = [None if value is None else value * factor for value in values]
    _check_values(values, column, source_name, [dates[i] for i in in_window], contract)
    return [None if value is None else round(value, column.decimals) for value in values]


def validate_frame(
    frame: Any, contract: FrameContract, first: dt.date, last: dt.date, not_after: dt.date | None = None
) -> pl.DataFrame:
    """The rows dated within [first, last] as a canonical frame, or a SourceDataError; a date
    after `not_after` (see `latest_plausible_day`) refuses the whole answer.

    Dates are parsed for the whole frame (a broken date anywhere means a broken feed); values are
    judged only inside the window, since that is all that will be stored.
    """
    _check_columns(frame, contract)
    dated = _parse_dates(frame, contract)
    _check_not_future([day for _, day in dated], contract, not_after)
    _check_order([day for _, day in dated], contract)
    dates = dict(dated)
    in_window = [index for index, day in dated if first <= day <= last]
    if not in_window:
        span = f"{min(dates.values())} .. {max(dates.values())}" if dates else "no dated rows"
        raise SourceDataError(contract.source, f"no rows between {first} and {last}; it returned {span}")

    columns = SERIES_COLUMNS[contract.series]
    canonical: dict[str, list[Any]] = {"trade_date": [dates[index] for index in in_window]}
    for column in columns:
        values = _canonical_values(frame, column, in_window, dates, contract)
        canonical[column.name] = [None if v is None else int(v) for v in values] if column.integer else values
    schema: dict[str, Any] = {"trade_date": pl.Date}
    schema |= {column.name: pl.Int64 if column.integer else pl.Float64 for column in columns}
    return pl.DataFrame(canonical, schema=schema).sort("trade_date")
