"""`sugar_import_margin` rows: the ZCE close against the landed cost of raw sugar, in and out of
quota, from the inputs `market_daily` recorded (pure)."""

from typing import Protocol

import polars as pl

from sugars_dagster.errors import MissingDataError
from sugars_dagster.market.import_cost import (
    CostSettings,
    in_quota_landed_cost_cny_t,
    out_of_quota_landed_cost_cny_t,
    out_of_quota_tariff,
    vat_rate,
)
from sugars_dagster.market.tables import INPUT_PROVENANCE, SUGAR_IMPORT_MARGIN

# Copied from the market_daily row, so a margin can be traced to the inputs' providers and run.
PROVENANCE = [column.name for column in INPUT_PROVENANCE]


class MarginSettings(CostSettings, Protocol):
    """Cost inputs plus refining (run config: `defs.config.ImportMarginConfig`)."""

    refining_cost_cny_t: float  # raw into white sugar, CNY/t, added to both landed costs


def build_import_margin(market_daily_rows: pl.DataFrame, config: MarginSettings) -> pl.DataFrame:
    """One margin row per market_daily row."""
    without_ice = market_daily_rows.filter(pl.col("ice_usc_lb").is_null())["record_date"].to_list()
    if without_ice:
        shown = ", ".join(str(day) for day in without_ice[:5]) + (" ..." if len(without_ice) > 5 else "")
        raise MissingDataError(
            f"{len(without_ice)} market_daily row(s) lack the ICE price they were built from ({shown}); "
            "they predate this pipeline: materialize market_daily for those days first"
        )
    rows = []
    for row in market_daily_rows.iter_rows(named=True):
        day, ice, usd_cny = row["record_date"], row["ice_usc_lb"], row["usd_cny_rate"]
        in_quota = in_quota_landed_cost_cny_t(day, ice, usd_cny, config) + config.refining_cost_cny_t
        out_of_quota = out_of_quota_landed_cost_cny_t(day, ice, usd_cny, config) + config.refining_cost_cny_t
        rows.append(
            {
                "record_date": day,
                "sugar_close": row["sugar_close"],
                "ice_usc_lb": ice,
                "usd_cny_rate": usd_cny,
                "tariff_out_of_quota": out_of_quota_tariff(day),
                "vat_rate": vat_rate(day),
                "landed_cost_in_quota": in_quota,
                "landed_cost_out_of_quota": out_of_quota,
                "margin_in_quota": row["sugar_close"] - in_quota,
                "margin_out_of_quota": row["sugar_close"] - out_of_quota,
                "out_of_quota_window_open": row["sugar_close"] > out_of_quota,
                "origin_premium_usc_lb": config.origin_premium_usc_lb,
                "freight_usd_t": config.freight_usd_t,
                "port_charges_cny_t": config.port_charges_cny_t,
                "refining_cost_cny_t": config.refining_cost_cny_t,
                **{name: row[name] for name in PROVENANCE},
                "market_daily_run_id": row["run_id"],
            }
        )
    frame = pl.DataFrame(rows, schema=_SCHEMA, orient="row") if rows else pl.DataFrame(schema=_SCHEMA)
    return frame.with_columns(pl.col(name).round(decimals) for name, decimals in SUGAR_IMPORT_MARGIN.decimals().items())


_SCHEMA = SUGAR_IMPORT_MARGIN.polars_schema()
