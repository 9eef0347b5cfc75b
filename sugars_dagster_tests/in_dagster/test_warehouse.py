"""The warehouse against a SQLite file and a real PostgreSQL database."""

import datetime as dt
import threading

import polars as pl
import pytest
import sqlalchemy as sa

from sugars_dagster.errors import WarehouseSchemaError, WriteRefusedError
from sugars_dagster.market.series import Series, SeriesFrame
from sugars_dagster.warehouse.resource import Warehouse
from sugars_dagster.warehouse.tables import RAW_TABLES, market_daily

D = dt.date
T0 = dt.datetime(2025, 12, 5, 1, 0, tzinfo=dt.UTC)
T1 = dt.datetime(2025, 12, 6, 1, 0, tzinfo=dt.UTC)
FIRST, LAST = D(2025, 12, 1), D(2025, 12, 7)


def rows(*days: tuple[int, float]) -> pl.DataFrame:
    """market_daily rows as build_market_daily returns them, for the given (day, close) pairs."""
    count = len(days)
    dates = [D(2025, 12, day) for day, _ in days]
    return pl.DataFrame(
        {
            "record_date": dates,
            "sugar_close": [close for _, close in days],
            "sugar_open": [close - 10 for _, close in days],
            "usd_cny_rate": [7.0712] * count,
            "bdi_index": [2400.0] * count,
            "import_cost_estimate": [6123.45] * count,
            "ice_usc_lb": [15.25] * count,
            "sugar_provider": ["sina:futures_zh_daily_sina:SR0"] * count,
            "usd_cny_provider": ["safe:currency_boc_safe:USD"] * count,
            "usd_cny_date": dates,
            "bdi_provider": ["sina:spot_goods:BDI"] * count,
            "bdi_date": dates,
            "ice_provider": ["sina:futures_foreign_hist:RS"] * count,
            "ice_date": dates,
            "reached_back": [None] * count,
        },
        schema_overrides={
            "record_date": pl.Date,
            "usd_cny_date": pl.Date,
            "bdi_date": pl.Date,
            "ice_date": pl.Date,
            "reached_back": pl.String,
        },
    )


def write(warehouse: Warehouse, frame: pl.DataFrame, now: dt.datetime = T0, run_id: str = "run-1", **kw):
    options = {"source_label": "akshare", "synthetic": False, "run_id": run_id, "now": now} | kw
    return warehouse.write_market_daily(frame, FIRST, LAST, **options)


def stored(warehouse: Warehouse) -> list[dict]:
    return warehouse.read_market_daily(D(2000, 1, 1), D(2100, 1, 1)).to_dicts()


def test_a_rerun_changes_nothing_and_keeps_when_values_last_changed(warehouse: Warehouse) -> None:
    first = write(warehouse, rows((1, 5400.0), (2, 5410.0), (3, 5420.0)))
    assert (first.inserted, first.updated, first.unchanged, first.deleted) == (3, 0, 0, 0)
    before = stored(warehouse)

    again = write(warehouse, rows((1, 5400.0), (2, 5410.0), (3, 5420.0)), now=T1, run_id="run-2")
    assert (again.inserted, again.updated, again.unchanged, again.deleted) == (0, 0, 3, 0)
    assert stored(warehouse) == before
    assert {row["run_id"] for row in before} == {"run-1"}


def test_the_window_ends_exactly_as_the_new_frame_says(warehouse: Warehouse) -> None:
    write(warehouse, rows((1, 5400.0), (2, 5410.0), (3, 5420.0)))
    counts = write(warehouse, rows((1, 5400.0), (2, 5415.0), (4, 5430.0)), now=T1, run_id="run-2")
    assert (counts.inserted, counts.updated, counts.unchanged, counts.deleted) == (1, 1, 1, 1)
    after = {row["record_date"]: row for row in stored(warehouse)}
    assert sorted(after) == [D(2025, 12, 1), D(2025, 12, 2), D(2025, 12, 4)]
    assert after[D(2025, 12, 2)]["sugar_close"] == 5415.0
    assert after[D(2025, 12, 2)]["run_id"] == "run-2"
    assert after[D(2025, 12, 1)]["run_id"] == "run-1"


def test_rows_outside_the_window_are_untouched(warehouse: Warehouse) -> None:
    warehouse.write_market_daily(
        rows((20, 5500.0)),
        D(2025, 12, 20),
        D(2025, 12, 20),
        source_label="akshare",
        synthetic=False,
        run_id="r0",
        now=T0,
    )
    write(warehouse, rows())  # an empty week: clears 12-01..12-07 only
    assert [row["record_date"] for row in stored(warehouse)] == [D(2025, 12, 20)]


def test_a_failed_write_leaves_the_window_as_it_was(warehouse: Warehouse) -> None:
    write(warehouse, rows((1, 5400.0), (2, 5410.0)))
    before = stored(warehouse)
    broken = rows((1, 5401.0), (2, 5411.0)).with_columns(
        pl.when(pl.col("record_date") == D(2025, 12, 2))
        .then(None)
        .otherwise(pl.col("sugar_close"))
        .alias("sugar_close")
    )
    with pytest.raises(sa.exc.IntegrityError):
        write(warehouse, broken, now=T1, run_id="run-2")
    assert stored(warehouse) == before


def test_synthetic_rows_never_replace_real_ones(warehouse: Warehouse) -> None:
    write(warehouse, rows((1, 5400.0)))
    with pytest.raises(WriteRefusedError, match="refusing to write synthetic demo-synthetic rows"):
        write(warehouse, rows((1, 5999.0)), source_label="demo-synthetic", synthetic=True)
    assert stored(warehouse)[0]["sugar_close"] == 5400.0


def test_raw_landing_grows_or_revises_and_keeps_days_the_response_lacks(warehouse: Warehouse) -> None:
    def fetched(values: dict[int, float]) -> SeriesFrame:
        frame = pl.DataFrame(
            {"trade_date": [D(2025, 12, day) for day in values], "bdi": list(values.values())},
            schema={"trade_date": pl.Date, "bdi": pl.Float64},
        )
        return SeriesFrame(Series.BDI, "sina:spot_goods:BDI", frame, synthetic=False)

    first = warehouse.land_series(fetched({1: 2400.0, 2: 2410.0, 3: 2420.0}), "run-1", T0)
    assert first.inserted == 3
    second = warehouse.land_series(fetched({1: 2400.0, 3: 2425.0}), "run-2", T1)
    assert (second.inserted, second.revised, second.unchanged, second.absent) == (0, 1, 1, (D(2025, 12, 2),))
    frame = warehouse.read_series(Series.BDI, ["sina:spot_goods:BDI"], D(2025, 1, 1), D(2026, 1, 1))
    assert frame["bdi"].to_list() == [2400.0, 2410.0, 2425.0]
    # Another provider's rows are a separate record.
    assert warehouse.read_series(Series.BDI, ["demo-synthetic"], D(2025, 1, 1), D(2026, 1, 1)).height == 0


def test_a_fallback_fills_only_the_days_the_preferred_provider_lacks(warehouse: Warehouse) -> None:
    def fetched(provider: str, values: dict[int, float]) -> SeriesFrame:
        frame = pl.DataFrame(
            {"trade_date": [D(2025, 12, day) for day in values], "bdi": list(values.values())},
            schema={"trade_date": pl.Date, "bdi": pl.Float64},
        )
        return SeriesFrame(Series.BDI, provider, frame, synthetic=False)

    warehouse.land_series(fetched("preferred", {1: 2400.0, 2: 2410.0}), "run-1", T0)
    warehouse.land_series(fetched("fallback", {2: 9999.0, 3: 2430.0}), "run-2", T1)
    frame = warehouse.read_series(Series.BDI, ["preferred", "fallback"], D(2025, 12, 1), D(2025, 12, 31))
    assert frame.rows() == [
        (D(2025, 12, 1), 2400.0, "preferred"),
        (D(2025, 12, 2), 2410.0, "preferred"),
        (D(2025, 12, 3), 2430.0, "fallback"),
    ]


LEGACY_DDL = """
CREATE TABLE market_daily (
    record_date DATE PRIMARY KEY,
    sugar_close NUMERIC(12, 2),
    sugar_open NUMERIC(12, 2),
    usd_cny_rate NUMERIC(12, 4),
    bdi_index INTEGER,
    import_cost_estimate NUMERIC(12, 2),
    updated_at TIMESTAMP,
    note VARCHAR(100)
)
"""


def test_an_existing_table_with_the_old_contract_is_written(warehouse: Warehouse) -> None:
    with warehouse.engine().begin() as conn:
        conn.execute(sa.text(LEGACY_DDL))
        conn.execute(
            sa.text(
                "INSERT INTO market_daily (record_date, sugar_close, sugar_open, usd_cny_rate, bdi_index,"
                " import_cost_estimate, updated_at) VALUES ('2025-11-28', 5300, 5290, 7.08, 2300, 6000, '2025-11-29 02:00:00')"
            )
        )
    counts = write(warehouse, rows((1, 5400.0), (2, 5410.0)))
    assert counts.inserted == 2
    with warehouse.engine().connect() as conn:
        result = conn.execute(
            sa.select(market_daily.c.record_date, market_daily.c.sugar_close, market_daily.c.usd_cny_rate).order_by(
                market_daily.c.record_date
            )
        ).all()
    assert [(row[0], float(row[1]), float(row[2])) for row in result] == [
        (D(2025, 11, 28), 5300.0, 7.08),
        (D(2025, 12, 1), 5400.0, 7.0712),
        (D(2025, 12, 2), 5410.0, 7.0712),
    ]
    # The provenance columns were added (nullable); the old row's origin stays unknown, so the
    # synthetic demo may not replace it.
    columns = {column["name"] for column in sa.inspect(warehouse.engine()).get_columns("market_daily")}
    assert {"source", "run_id", "sugar_provider", "ice_date", "ice_usc_lb", "note"} <= columns
    written = {row["record_date"]: row for row in stored(warehouse)}
    assert written[D(2025, 12, 1)]["sugar_provider"] == "sina:futures_zh_daily_sina:SR0"
    assert written[D(2025, 11, 28)]["run_id"] is None
    with pytest.raises(WriteRefusedError, match="refusing to write synthetic"):
        write(warehouse, rows((1, 5999.0)), source_label="demo-synthetic", synthetic=True)


@pytest.mark.parametrize(
    ("ddl", "problem"),
    [
        (
            "CREATE TABLE market_daily (record_date VARCHAR(10) PRIMARY KEY, sugar_close FLOAT, sugar_open FLOAT,"
            " usd_cny_rate FLOAT, bdi_index FLOAT, import_cost_estimate FLOAT, updated_at TIMESTAMP)",
            "column 'record_date' is VARCHAR(10), expected Date",
        ),
        (
            "CREATE TABLE market_daily (record_date DATE PRIMARY KEY, sugar_close FLOAT, sugar_open FLOAT,"
            " usd_cny_rate FLOAT, import_cost_estimate FLOAT, updated_at TIMESTAMP)",
            "column 'bdi_index' is missing",
        ),
        (
            "CREATE TABLE market_daily (record_date DATE PRIMARY KEY, sugar_close FLOAT, sugar_open FLOAT,"
            " usd_cny_rate INTEGER, bdi_index FLOAT, import_cost_estimate FLOAT, updated_at TIMESTAMP)",
            "column 'usd_cny_rate' is INTEGER, expected Numeric or Float",
        ),
        (
            "CREATE TABLE market_daily (record_date DATE, sugar_close FLOAT, sugar_open FLOAT,"
            " usd_cny_rate FLOAT, bdi_index FLOAT, import_cost_estimate FLOAT, updated_at TIMESTAMP)",
            "primary key is missing, expected ['record_date']",
        ),
        (
            "CREATE TABLE market_daily (record_date DATE PRIMARY KEY, sugar_close FLOAT, sugar_open FLOAT,"
            " usd_cny_rate FLOAT, bdi_index FLOAT, import_cost_estimate FLOAT, updated_at TIMESTAMP,"
            " owner VARCHAR(20) NOT NULL)",
            "column 'owner' is NOT NULL without a default",
        ),
    ],
    ids=["date-as-text", "missing-column", "integer-fx", "no-primary-key", "required-extra-column"],
)
def test_an_incompatible_existing_table_is_refused(warehouse: Warehouse, ddl: str, problem: str) -> None:
    with warehouse.engine().begin() as conn:
        conn.execute(sa.text(ddl))
    with pytest.raises(WarehouseSchemaError) as error:
        write(warehouse, rows((1, 5400.0)))
    assert "table 'market_daily' exists but cannot be written safely" in str(error.value)
    assert problem in str(error.value)
    with warehouse.engine().connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM market_daily")).scalar_one() == 0


def test_raw_tables_are_created_with_provider_and_date_as_key(warehouse: Warehouse) -> None:
    warehouse.prepare()
    inspector = sa.inspect(warehouse.engine())
    for table in RAW_TABLES.values():
        assert inspector.get_pk_constraint(table.name)["constrained_columns"] == ["provider", "trade_date"]


def test_concurrent_writers_of_one_window_queue_and_the_table_equals_one_of_them(warehouse: Warehouse) -> None:
    frames = {writer: rows(*((day, 5400.0 + 100 * writer + day) for day in range(1, 8))) for writer in range(4)}
    errors: list[BaseException] = []
    start = threading.Barrier(len(frames))

    def writer(number: int) -> None:
        try:
            start.wait()
            for attempt in range(3):
                # A fresh resource per write, as separate runs would have.
                write(Warehouse(url=warehouse.url), frames[number], run_id=f"writer-{number}-{attempt}")
        except BaseException as error:  # collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(number,)) for number in frames]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    final = [(row["record_date"], row["sugar_close"]) for row in stored(warehouse)]
    assert final in [
        [(row["record_date"], row["sugar_close"]) for row in frame.to_dicts()] for frame in frames.values()
    ]
    assert len({row["run_id"] for row in stored(warehouse)}) == 1


def test_an_old_table_with_integer_and_decimal_columns_compares_by_value(warehouse: Warehouse) -> None:
    with warehouse.engine().begin() as conn:
        conn.execute(sa.text(LEGACY_DDL))
    first = write(warehouse, rows((1, 5400.0), (2, 5410.0)))
    again = write(warehouse, rows((1, 5400.0), (2, 5410.0)), now=T1, run_id="run-2")
    assert (first.inserted, again.unchanged, again.updated) == (2, 2, 0)
