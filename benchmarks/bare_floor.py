"""The bare floor: the same fetch -> transform -> upsert for one day, as a plain script without
Dagster (demo source, a fresh SQLite warehouse). Run as a separate process, like the CLI.

    .venv/bin/python -m benchmarks.bare_floor <warehouse-url> <YYYY-MM-DD>
"""

import datetime as dt
import sys

from sugars_dagster.defs.assets.raw_series import history_start
from sugars_dagster.defs.config import ImportCostConfig
from sugars_dagster.defs.partitions import build_market_day_partitions
from sugars_dagster.market.build import MarketInputs, Staleness, build_market_daily
from sugars_dagster.market.calendar.finality import newest_final_day
from sugars_dagster.market.calendar.window import classify_window
from sugars_dagster.market.series import Series
from sugars_dagster.settings import DefinitionSettings
from sugars_dagster.sources.demo_source import DemoSource
from sugars_dagster.warehouse.resource import Warehouse


def load_day(warehouse: Warehouse, day: dt.date) -> int:
    source = DemoSource()
    now = dt.datetime.now(dt.UTC)
    # From the first day the product's partitions would have, as its code location reads it.
    first_fetched = history_start(build_market_day_partitions(DefinitionSettings.from_env().partitions_start))
    for series in Series:
        fetched = source.fetch(series, first_fetched, newest_final_day(series, now))
        warehouse.land_series(fetched, "bare-floor", now)
    read = {
        series: warehouse.read_series(series, source.providers(series), day - dt.timedelta(days=30), dt.date.max)
        for series in Series
    }
    window = classify_window([day], set(read[Series.ZCE_SUGAR]["trade_date"].to_list()))
    inputs = MarketInputs(read[Series.ZCE_SUGAR], read[Series.USD_CNY], read[Series.BDI], read[Series.ICE_NO11])
    frame = build_market_daily(window.trading, inputs, Staleness(7, 14, 7), ImportCostConfig())
    warehouse.write_market_daily(
        frame, day, day, source_label=source.label, synthetic=True, run_id="bare-floor", now=now
    )
    return frame.height


if __name__ == "__main__":
    print(load_day(Warehouse(url=sys.argv[1]), dt.date.fromisoformat(sys.argv[2])))
