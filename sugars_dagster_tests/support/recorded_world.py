"""A recorded-shape copy of the four upstream services for a date range, for offline runs of the
real akshare source. Values come from the demo generator so they sit at realistic levels."""

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import responses

from sugars_dagster.market.series import Series
from sugars_dagster.sources.akshare_source import AkshareSource
from sugars_dagster.sources.demo_source import synthetic_frame
from sugars_dagster_tests.support import payloads

RowEdit = Callable[[list[dict[str, Any]]], list[dict[str, Any]]]


def fast_akshare(**overrides: Any) -> AkshareSource:
    """The real source with test-sized retries: no waiting between attempts."""
    settings = {"attempts": 2, "timeout_seconds": 10.0, "backoff_base_seconds": 0.0, "backoff_max_seconds": 0.0}
    return AkshareSource(**(settings | overrides))


@dataclass
class RecordedWorld:
    first: dt.date
    last: dt.date
    # Edit a series' rows before they are encoded, e.g. drop a day or break a value.
    edits: dict[Series, RowEdit] = field(default_factory=dict)

    def rows(self, series: Series) -> list[dict[str, Any]]:
        rows = synthetic_frame(series, self.first, self.last).to_dicts()
        edit = self.edits.get(series)
        return edit(rows) if edit else rows

    def sr_body(self) -> str:
        return payloads.sr_jsonp(
            [
                {**row, "date": row["trade_date"], "hold": row["open_interest"], "settle": row["settle"]}
                for row in self.rows(Series.ZCE_SUGAR)
            ]
        )

    def ice_body(self) -> str:
        return payloads.ice_jsonp([{**row, "date": row["trade_date"]} for row in self.rows(Series.ICE_NO11)])

    def bdi_body(self) -> bytes:
        return payloads.bdi_json([(row["trade_date"], row["bdi"]) for row in self.rows(Series.BDI)])

    def eastmoney_sr_body(self) -> str:
        return payloads.eastmoney_sr_kline(
            [{**row, "date": row["trade_date"], "hold": row["open_interest"]} for row in self.rows(Series.ZCE_SUGAR)]
        )

    def eastmoney_ice_body(self) -> str:
        return payloads.eastmoney_global_kline(
            [{**row, "date": row["trade_date"]} for row in self.rows(Series.ICE_NO11)]
        )

    def fx_rows(self) -> list[tuple[dt.date, float]]:
        # SAFE quotes CNY per 100 USD.
        return [(row["trade_date"], round(row["usd_cny"] * 100, 2)) for row in self.rows(Series.USD_CNY)]

    @contextmanager
    def serving(self, **bodies: Any) -> Iterator[responses.RequestsMock]:
        """Serve this world from every provider; keyword bodies (sr=, ice=, bdi=, eastmoney_sr=,
        eastmoney_ice=) replace a service's answer, fx= SAFE's rows (CNY per 100 USD)."""
        fx = bodies.get("fx", self.fx_rows())
        with payloads.recorded_sources(
            sr=bodies.get("sr", self.sr_body()),
            ice=bodies.get("ice", self.ice_body()),
            bdi=bodies.get("bdi", self.bdi_body()),
            fx_history=fx[:-5],
            fx_recent=fx[-5:],
            eastmoney_sr=bodies.get("eastmoney_sr", self.eastmoney_sr_body()),
            eastmoney_ice=bodies.get("eastmoney_ice", self.eastmoney_ice_body()),
        ) as mock:
            yield mock
