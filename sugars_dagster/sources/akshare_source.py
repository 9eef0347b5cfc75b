"""Real market series through akshare: Sina first, Eastmoney where Sina fails, SAFE for USD/CNY.

Every call runs under a deadline with retries, and every frame passes `validate_frame` before
anything downstream sees it. When a provider fails or returns a frame that breaks its contract
(schema drift, a unit change), the next provider of that series is asked. akshare is imported
only when a fetch happens.
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType, TracebackType
from typing import Any

import dagster as dg
from pydantic import Field

from sugars_dagster import clock
from sugars_dagster.errors import SourceDataError, SourceError, SourceFetchError
from sugars_dagster.market.series import Series, SeriesFrame
from sugars_dagster.sources.base import MarketSource
from sugars_dagster.sources.calls import RetrySettings, call_with_retries
from sugars_dagster.sources.validation import FrameContract, latest_plausible_day, no_rows_error, validate_frame

AKSHARE_LABEL = "akshare"


@dataclass(frozen=True)
class AkshareCall:
    provider: str
    contract: FrameContract
    call: Callable[[Any], Any]  # receives the akshare module


_SINA_SR = AkshareCall(
    provider="sina:futures_zh_daily_sina:SR0",
    contract=FrameContract(
        series=Series.ZCE_SUGAR,
        source="Sina futures_zh_daily_sina(symbol='SR0')",
        date_column="date",
        columns={
            "open": "open",
            "high": "high",
            "low": "low",
            "close": "close",
            "settle": "settle",
            "volume": "volume",
            "open_interest": "hold",
        },
        # Sina writes settle 0 for early history and for the bar still in progress.
        zero_is_missing=frozenset({"settle"}),
    ),
    call=lambda ak: ak.futures_zh_daily_sina(symbol="SR0"),
)

_EASTMONEY_SR = AkshareCall(
    provider="eastmoney:futures_hist_em:白糖主连",
    contract=FrameContract(
        series=Series.ZCE_SUGAR,
        source="Eastmoney futures_hist_em(symbol='白糖主连')",
        date_column="时间",
        columns={
            "open": "开盘",
            "high": "最高",
            "low": "最低",
            "close": "收盘",
            "settle": None,  # Eastmoney's k-line has no settlement price
            "volume": "成交量",
            "open_interest": "持仓量",
        },
    ),
    call=lambda ak: ak.futures_hist_em(symbol="白糖主连", period="daily"),
)

_SAFE_FX = AkshareCall(
    provider="safe:currency_boc_safe:USD",
    contract=FrameContract(
        series=Series.USD_CNY,
        source="SAFE currency_boc_safe()",
        date_column="日期",
        columns={"usd_cny": "美元"},
        # SAFE quotes CNY per 100 USD.
        scale={"usd_cny": 0.01},
    ),
    call=lambda ak: ak.currency_boc_safe(),
)

_SINA_BDI = AkshareCall(
    provider="sina:spot_goods:BDI",
    contract=FrameContract(
        series=Series.BDI,
        source="Sina spot_goods(symbol='波罗的海干散货指数')",
        date_column="日期",
        columns={"bdi": "指数"},
        # Sina lists the index newest first.
        ascending=False,
    ),
    call=lambda ak: ak.spot_goods(symbol="波罗的海干散货指数"),
)

_SINA_ICE = AkshareCall(
    provider="sina:futures_foreign_hist:RS",
    contract=FrameContract(
        series=Series.ICE_NO11,
        # Sina's code for ICE raw sugar No.11 is RS ("SB" is not valid there).
        source="Sina futures_foreign_hist(symbol='RS')",
        date_column="date",
        columns={"open": "open", "high": "high", "low": "low", "close": "close"},
    ),
    call=lambda ak: ak.futures_foreign_hist(symbol="RS"),
)

_EASTMONEY_ICE = AkshareCall(
    provider="eastmoney:futures_global_hist_em:SB00Y",
    contract=FrameContract(
        series=Series.ICE_NO11,
        source="Eastmoney futures_global_hist_em(symbol='SB00Y')",
        date_column="日期",
        columns={"open": "开盘", "high": "最高", "low": "最低", "close": "最新价"},
    ),
    call=lambda ak: ak.futures_global_hist_em(symbol="SB00Y"),
)

# Providers per series, in the order they are asked.
AKSHARE_CALLS: dict[Series, tuple[AkshareCall, ...]] = {
    Series.ZCE_SUGAR: (_SINA_SR, _EASTMONEY_SR),
    Series.USD_CNY: (_SAFE_FX,),
    Series.BDI: (_SINA_BDI,),
    Series.ICE_NO11: (_SINA_ICE, _EASTMONEY_ICE),
}


def _module(trace: TracebackType) -> str:
    return str(trace.tb_frame.f_globals.get("__name__", ""))


def _parser_frame(error: BaseException) -> FrameType | None:
    """The akshare function the error arose in, when it arose in its own code or in pandas called
    from it: in handling a table, not in a request (the network) or a helper it called."""
    trace = error.__traceback__
    while trace is not None and not _module(trace).startswith("akshare."):
        trace = trace.tb_next
    if trace is None:
        return None
    below = trace.tb_next
    while below is not None:
        if not _module(below).startswith("pandas."):
            return None
        below = below.tb_next
    return trace.tb_frame


def _failed_on_no_rows(error: BaseException) -> bool:
    """akshare tripped over a table it had built from an answer without rows.

    Its parsers do not expect an empty answer: Sina's `[]` fails on naming the columns of a frame
    that has none ('Length mismatch'), BDI's on selecting them (KeyError), SAFE's header-only
    workbook on reading its last date (IndexError). The one sign they share is in the parser's
    own frame: every table it holds has no rows. Errors raised before a table exists (an HTML
    error page) or on a table with rows (a changed layout) stay failed calls, retried.
    """
    frame = _parser_frame(error)
    if frame is None:
        return False
    import pandas as pd  # akshare's own dependency, loaded by now

    tables = [value for value in frame.f_locals.values() if isinstance(value, pd.DataFrame)]
    return bool(tables) and all(len(table) == 0 for table in tables)


class AkshareSource(MarketSource):
    """Sina and Eastmoney (ZCE SR, ICE No.11), Sina (BDI) and SAFE (USD/CNY) through akshare."""

    attempts: int = Field(default=4, ge=1, le=10, description="Tries per call before the provider fails.")
    timeout_seconds: float = Field(default=60.0, gt=0, le=600, description="Deadline for one call (akshare sets none).")
    backoff_base_seconds: float = Field(
        default=2.0, ge=0, le=60, description="First retry delay; doubles per attempt, with jitter."
    )
    backoff_max_seconds: float = Field(default=60.0, ge=0, le=600, description="Longest retry delay.")

    @property
    def label(self) -> str:
        return AKSHARE_LABEL

    def providers(self, series: Series) -> list[str]:
        return [call.provider for call in AKSHARE_CALLS[series]]

    def _fetch_one(
        self, spec: AkshareCall, first: dt.date, last: dt.date, log: dg.DagsterLogManager | None
    ) -> SeriesFrame:
        def call() -> Any:
            import akshare

            try:
                return spec.call(akshare)
            except Exception as error:
                if _failed_on_no_rows(error):
                    raise no_rows_error(spec.contract) from error
                raise

        raw = call_with_retries(
            call,
            source=spec.contract.source,
            settings=self._retry_settings(),
            on_retry=log.warning if log else lambda message: None,
        )
        # A real answer is judged against today: a date days ahead is a broken feed, not a bar.
        not_after = latest_plausible_day(spec.contract.series, clock.now())
        frame = validate_frame(raw, spec.contract, first, last, not_after)
        return SeriesFrame(spec.contract.series, spec.provider, frame, synthetic=False)

    def _retry_settings(self) -> RetrySettings:
        return RetrySettings(
            attempts=self.attempts,
            timeout_seconds=self.timeout_seconds,
            backoff_base_seconds=self.backoff_base_seconds,
            backoff_max_seconds=self.backoff_max_seconds,
        )

    @property
    def calendar_provider(self) -> str:
        from sugars_dagster.sources.akshare_calendar import SINA_CALENDAR_PROVIDER

        return SINA_CALENDAR_PROVIDER

    @property
    def calendar_source(self) -> str:
        from sugars_dagster.sources.akshare_calendar import SINA_CALENDAR_SOURCE

        return SINA_CALENDAR_SOURCE

    def fetch_trading_days(self, today: dt.date, log: dg.DagsterLogManager | None = None) -> list[dt.date]:
        from sugars_dagster.sources.akshare_calendar import fetch_sina_trade_dates

        return fetch_sina_trade_dates(self._retry_settings(), log)

    def fetch(
        self, series: Series, first: dt.date, last: dt.date, log: dg.DagsterLogManager | None = None
    ) -> SeriesFrame:
        failures: list[SourceError] = []
        for spec in AKSHARE_CALLS[series]:
            try:
                fetched = self._fetch_one(spec, first, last, log)
            except SourceError as error:
                failures.append(error)
                if log:
                    log.warning(
                        f"{error}; trying the next provider" if spec is not AKSHARE_CALLS[series][-1] else str(error)
                    )
                continue
            return SeriesFrame(
                fetched.series,
                fetched.provider,
                fetched.frame,
                synthetic=False,
                failed_providers=tuple(map(str, failures)),
            )
        if len(failures) == 1:
            raise failures[0]
        summary = "; ".join(str(error) for error in failures)
        # Retriable if any provider failed for reasons that may pass (network, rate limit).
        kind = SourceFetchError if any(isinstance(error, SourceFetchError) for error in failures) else SourceDataError
        raise kind(f"every provider of {series.value}", summary, causes=failures)
