"""`sugar_import_margin` rows: the ZCE close against the landed cost of raw sugar, in and out of
quota, from the inputs `market_daily` recorded (pure)."""

import polars as pl
from pydantic import Field

from sugars_dagster.errors import MissingDataError
from sugars_dagster.import_cost import (
    ImportCostConfig,
    in_quota_landed_cost_cny_t,
    out_of_quota_landed_cost_cny_t,
    out_of_quota_tariff,
    vat_rate,
)
from sugars_dagster.warehouse.tables import MARGIN_DECIMALS

# Copied from the market_daily row, so a margin can be traced to the inputs' providers and run.
PROVENANCE = ["sugar_provider", "usd_cny_provider", "usd_cny_date", "bdi_provider", "bdi_date", "ice_provider", "ice_date"]


class ImportMarginConfig(ImportCostConfig):
    """Cost inputs, plus what turning raw sugar into white sugar costs."""

    refining_cost_cny_t: float = Field(
        default=0.0,
        ge=0.0,
        le=3000.0,
        description=(
            "Refining raw into white sugar, CNY/t, added to both landed costs before the margin "
            "(ZCE trades white sugar). 0 compares the ZCE close with raw sugar as landed."
        ),
    )


def build_import_margin(market_daily_rows: pl.DataFrame, config: ImportMarginConfig) -> pl.DataFrame:
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
    return frame.with_columns(pl.col(name).round(decimals) for name, decimals in MARGIN_DECIMALS.items())


_SCHEMA: dict[str, pl.DataType] = {
    "record_date": pl.Date(),
    "sugar_close": pl.Float64(),
    "ice_usc_lb": pl.Float64(),
    "usd_cny_rate": pl.Float64(),
    "tariff_out_of_quota": pl.Float64(),
    "vat_rate": pl.Float64(),
    "landed_cost_in_quota": pl.Float64(),
    "landed_cost_out_of_quota": pl.Float64(),
    "margin_in_quota": pl.Float64(),
    "margin_out_of_quota": pl.Float64(),
    "out_of_quota_window_open": pl.Boolean(),
    "origin_premium_usc_lb": pl.Float64(),
    "freight_usd_t": pl.Float64(),
    "port_charges_cny_t": pl.Float64(),
    "refining_cost_cny_t": pl.Float64(),
    "sugar_provider": pl.String(),
    "usd_cny_provider": pl.String(),
    "usd_cny_date": pl.Date(),
    "bdi_provider": pl.String(),
    "bdi_date": pl.Date(),
    "ice_provider": pl.String(),
    "ice_date": pl.Date(),
    "market_daily_run_id": pl.String(),
}
