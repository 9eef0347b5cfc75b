"""Real market series through akshare (Sina futures and BDI, SAFE's USD/CNY fixing).

Every call runs under a deadline with retries, and every frame passes `validate_frame` before
anything downstream sees it. akshare is imported only when a fetch happens.
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import dagster as dg
from pydantic import Field

from sugars_dagster.series import Series
from sugars_dagster.sources.base import MarketSource, SeriesFrame
from sugars_dagster.sources.calls import RetrySettings, call_with_retries
from sugars_dagster.sources.validation import FrameContract, validate_frame

AKSHARE_LABEL = "akshare"


@dataclass(frozen=True)
class AkshareCall:
    provider: str
    contract: FrameContract
    call: Callable[[Any], Any]  # receives the akshare module


def akshare_call(series: Series) -> AkshareCall:
    """The akshare function serving `series`, and the contract its frame must meet."""
    if series is Series.ZCE_SUGAR:
        source = "Sina futures_zh_daily_sina(symbol='SR0')"
        return AkshareCall(
            provider="sina:futures_zh_daily_sina:SR0",
            contract=FrameContract(
                series=series,
                source=source,
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
    if series is Series.USD_CNY:
        return AkshareCall(
            provider="safe:currency_boc_safe:USD",
            contract=FrameContract(
                series=series,
                source="SAFE currency_boc_safe()",
                date_column="日期",
                columns={"usd_cny": "美元"},
                # SAFE quotes CNY per 100 USD.
                scale={"usd_cny": 0.01},
            ),
            call=lambda ak: ak.currency_boc_safe(),
        )
    if series is Series.BDI:
        return AkshareCall(
            provider="sina:spot_goods:BDI",
            contract=FrameContract(
                series=series,
                source="Sina spot_goods(symbol='波罗的海干散货指数')",
                date_column="日期",
                columns={"bdi": "指数"},
                # Sina lists the index newest first.
                ascending=False,
            ),
            call=lambda ak: ak.spot_goods(symbol="波罗的海干散货指数"),
        )
    return AkshareCall(
        provider="sina:futures_foreign_hist:RS",
        contract=FrameContract(
            series=series,
            # Sina's code for ICE raw sugar No.11 is RS ("SB" is not valid there).
            source="Sina futures_foreign_hist(symbol='RS')",
            date_column="date",
            columns={"open": "open", "high": "high", "low": "low", "close": "close"},
        ),
        call=lambda ak: ak.futures_foreign_hist(symbol="RS"),
    )


class AkshareSource(MarketSource):
    """Sina (ZCE SR0, BDI, ICE No.11) and SAFE (USD/CNY) through akshare 1.19.5."""

    attempts: int = Field(default=4, ge=1, le=10, description="Tries per call before the fetch fails.")
    timeout_seconds: float = Field(
        default=60.0, gt=0, le=600, description="Deadline for one call (akshare sets none)."
    )
    backoff_base_seconds: float = Field(
        default=2.0, ge=0, le=60, description="First retry delay; doubles per attempt, with jitter."
    )
    backoff_max_seconds: float = Field(default=60.0, ge=0, le=600, description="Longest retry delay.")

    @property
    def label(self) -> str:
        return AKSHARE_LABEL

    def provider(self, series: Series) -> str:
        return akshare_call(series).provider

    def fetch(
        self, series: Series, first: dt.date, last: dt.date, log: dg.DagsterLogManager | None = None
    ) -> SeriesFrame:
        spec = akshare_call(series)

        def call() -> Any:
            import akshare

            return spec.call(akshare)

        raw = call_with_retries(
            call,
            source=spec.contract.source,
            settings=RetrySettings(
                attempts=self.attempts,
                timeout_seconds=self.timeout_seconds,
                backoff_base_seconds=self.backoff_base_seconds,
                backoff_max_seconds=self.backoff_max_seconds,
            ),
            on_retry=log.warning if log else lambda message: None,
        )
        return SeriesFrame(series, spec.provider, validate_frame(raw, spec.contract, first, last), synthetic=False)
