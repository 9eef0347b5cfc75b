"""The mainland trading calendar as Sina publishes it, through akshare's tool_trade_date_hist_sina().

Sina's `klc_td_sh.txt` is an encoded list of Shanghai sessions since 1990-12-19; akshare decodes
it, appends 1992-05-04 (a session Sina's list lacks) and sorts. This module only fetches and turns
the frame into dates: whether those dates make a plausible calendar is judged by the caller.
akshare and pandas are imported only when a fetch happens.
"""

import datetime as dt
import math
from typing import Any

import dagster as dg

from sugars_dagster.errors import SourceDataError
from sugars_dagster.sources.calls import RetrySettings, call_with_retries

SINA_CALENDAR_SOURCE = "Sina tool_trade_date_hist_sina()"
SINA_CALENDAR_PROVIDER = "sina:tool_trade_date_hist_sina"
DATE_COLUMN = "trade_date"
_EXAMPLES = 3


def fetch_sina_trade_dates(settings: RetrySettings, log: dg.DagsterLogManager | None = None) -> list[dt.date]:
    """Every session Sina lists, in the order akshare returns them."""

    def call() -> Any:
        import akshare

        return akshare.tool_trade_date_hist_sina()

    frame = call_with_retries(
        call,
        source=SINA_CALENDAR_SOURCE,
        settings=settings,
        on_retry=log.warning if log else lambda message: None,
    )
    return trade_dates_from_frame(frame)


def _refusal(value: Any) -> str | None:
    """Why `value` is not a calendar date, or None when it is one."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "is missing"
    if type(value).__name__ in {"NaTType", "NAType"}:  # pandas' NaT is a datetime too
        return "is missing"
    if isinstance(value, dt.datetime):
        # A zone or a time means the source changed what it sends; the date alone could be a
        # different day once converted, so it is not guessed.
        if value.tzinfo is not None:
            return "has a time zone"
        if value.time() != dt.time(0):
            return "has a time of day"
        return None
    if isinstance(value, dt.date):
        return None
    return f"is not a date ({type(value).__name__})"


def _as_date(value: dt.date) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def _examples(items: list[str]) -> str:
    shown = ", ".join(items[:_EXAMPLES])
    return shown + (f" and {len(items) - _EXAMPLES} more" if len(items) > _EXAMPLES else "")


def _date_values(frame: Any) -> list[Any]:
    import pandas as pd

    if not isinstance(frame, pd.DataFrame):
        raise SourceDataError(
            SINA_CALENDAR_SOURCE,
            f"returned {type(frame).__name__}, expected a DataFrame",
            field=DATE_COLUMN,
            offending=[type(frame).__name__],
        )
    columns = [str(name) for name in frame.columns]
    if columns.count(DATE_COLUMN) != 1:
        problem = "no" if DATE_COLUMN not in columns else "more than one"
        raise SourceDataError(
            SINA_CALENDAR_SOURCE,
            f"{problem} '{DATE_COLUMN}' column; columns are {columns}",
            field=DATE_COLUMN,
            offending=columns,
        )
    return frame[DATE_COLUMN].tolist()


def trade_dates_from_frame(frame: Any) -> list[dt.date]:
    """The `trade_date` column as dates, or a SourceDataError naming what is wrong with it."""
    values = _date_values(frame)
    if not values:
        raise SourceDataError(SINA_CALENDAR_SOURCE, "returned no rows", field=DATE_COLUMN)
    bad = [
        f"row {index}: {value!r} {reason}"
        for index, value in enumerate(values)
        if (reason := _refusal(value)) is not None
    ]
    if bad:
        raise SourceDataError(
            SINA_CALENDAR_SOURCE,
            f"{len(bad)} of {len(values)} value(s) are not calendar dates: {_examples(bad)}",
            field=DATE_COLUMN,
            offending=bad,
        )
    return [_as_date(value) for value in values]
