"""The fault scenarios in the data: each ends with every trading day present once and nothing
half-written. Reruns of the same day, sources that hang, fail or answer malformed frames, a
trading day without its bar, partition keys and settings that are not what they should be.

The faults in the deployment are in test_deployment_faults.py; run them all with
`scripts/test -m reliability`.
"""

import datetime as dt
import json
import time

import dagster as dg
import polars as pl
import pytest
import responses
import sqlalchemy as sa

from sugars_dagster.defs.alerts import Alerter
from sugars_dagster.defs.sensors.failure_alerts import market_daily_failure_alert_sensor
from sugars_dagster.market.series import Series
from sugars_dagster.sources.demo_source import DemoSource
from sugars_dagster.warehouse.resource import Warehouse
from sugars_dagster.warehouse.tables import RAW_TABLES, market_daily
from sugars_dagster_tests.support import payloads
from sugars_dagster_tests.support.alert_inbox import alert_inbox
from sugars_dagster_tests.support.cli import CliInstance
from sugars_dagster_tests.support.definitions import product_definitions
from sugars_dagster_tests.support.fake_sources import DemoWithoutSugarBar
from sugars_dagster_tests.support.recorded_world import RecordedWorld, fast_akshare
from sugars_dagster_tests.support.runs import failure_text, market_daily_metadata, materializations, run_graph

defs = product_definitions()

pytestmark = pytest.mark.reliability

D = dt.date


ALL_TIME = (D(2000, 1, 1), D(2100, 1, 1))


def market_rows(warehouse: Warehouse, first: dt.date = ALL_TIME[0], last: dt.date = ALL_TIME[1]) -> pl.DataFrame:
    return warehouse.read_market_daily(first, last)


def count(warehouse: Warehouse, table: sa.Table) -> int:
    with warehouse.engine().connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


# 4 -------------------------------------------------------------------------------------------


def test_4_the_same_day_rerun_five_times_gives_identical_rows_and_counts(
    postgres_warehouse: Warehouse, instance
) -> None:
    """The same day rerun five times → identical rows and counts."""
    tables = [market_daily, *RAW_TABLES.values()]
    snapshots, metadata = [], []
    for _ in range(5):
        result = run_graph(DemoSource(), postgres_warehouse, instance, partition="2025-12-04")
        assert result.success, failure_text(result)
        snapshots.append(
            (market_rows(postgres_warehouse).rows(), [count(postgres_warehouse, table) for table in tables])
        )
        [day] = market_daily_metadata(result)
        metadata.append((day["rows_inserted"], day["rows_updated"], day["rows_unchanged"], day["rows_deleted"]))
    assert all(snapshot == snapshots[0] for snapshot in snapshots)  # values, updated_at and run_id alike
    assert len(snapshots[0][0]) == 1
    assert metadata == [(1, 0, 0, 0)] + [(0, 0, 1, 0)] * 4
    assert len(materializations(instance, "2025-12-04")) == 5  # five runs, each recorded


# 5 -------------------------------------------------------------------------------------------

EASTMONEY_DOWN = json.dumps({"rc": 102, "data": None})
HTML = "<html><head><title>Error</title></head><body>Service Unavailable</body></html>"


def failing_sina(mode: str, calls: list[float]):
    """A Sina that fails the given way, noting when it is called."""

    def answer(request):  # noqa: ANN001, ANN202 - responses' callback protocol
        calls.append(time.monotonic())
        if mode == "hang":
            time.sleep(3)
            return 200, {}, HTML
        status = {"503": 503, "456": 456, "502": 502, "html": 200}[mode]
        return status, {"Content-Type": "text/html"}, HTML

    return answer


@pytest.mark.parametrize("mode", ["hang", "503", "456", "502", "html"])
def test_5_a_failing_source_is_bounded_retried_replaced_then_reported_once(
    sqlite_warehouse: Warehouse, instance, mode: str
) -> None:
    """A source that hangs, answers 5xx, 456 or 502, or returns HTML → bounded time, retries with
    backoff, the fallback source, then one clear failure and one alert."""
    world = RecordedWorld(D(2025, 11, 3), D(2025, 12, 5))
    source = fast_akshare(attempts=3, timeout_seconds=0.5, backoff_base_seconds=0.2, backoff_max_seconds=1.0)

    def run(**bodies):
        calls: list[float] = []
        with world.serving(**bodies) as mock:
            mock.remove(responses.GET, payloads.SR_URL)
            mock.add_callback(responses.GET, payloads.SR_URL, callback=failing_sina(mode, calls))
            started = time.monotonic()
            result = run_graph(source, sqlite_warehouse, instance, partition="2025-12-04")
        return result, calls, time.monotonic() - started

    # Sina fails three times, further apart each time; Eastmoney serves.
    served, calls, elapsed = run()
    assert served.success, failure_text(served)
    assert len(calls) == 3
    gaps = [later - earlier for earlier, later in zip(calls, calls[1:], strict=False)]
    assert gaps[0] >= 0.1 and gaps[1] >= 0.2  # at least half of 0.2 s, then of 0.4 s (jittered)
    assert elapsed < 15
    [row] = market_rows(sqlite_warehouse).to_dicts()
    assert row["sugar_provider"] == "eastmoney:futures_hist_em:白糖主连"

    # Eastmoney down as well: one clear failure ...
    failed, calls, elapsed = run(eastmoney_sr=EASTMONEY_DOWN)
    assert not failed.success and len(calls) == 3 and elapsed < 15
    text = failure_text(failed)
    assert (
        "every provider of zce_sugar_bars: Sina futures_zh_daily_sina(symbol='SR0'): gave up after 3 attempt(s)" in text
    )
    assert "Eastmoney futures_hist_em(symbol='白糖主连'): gave up after 3 attempt(s)" in text
    # ... and one alert.
    [failure] = instance.all_logs(failed.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
    with alert_inbox() as inbox:
        context = dg.build_run_status_sensor_context(
            sensor_name="market_daily_failure_alert_sensor",
            dagster_instance=instance,
            dagster_run=instance.get_run_by_id(failed.run_id),
            dagster_event=failure.dagster_event,
            resources={"alerter": Alerter(urls=inbox.url)},
        ).for_run_failure()
        market_daily_failure_alert_sensor(context)
    [message] = inbox.messages
    assert "Partition(s): 2025-12-04" in message["message"] and "every provider of zce_sugar_bars" in message["message"]


# 7 -------------------------------------------------------------------------------------------


def _swap_first_two(rows: list[dict]) -> list[dict]:
    return [rows[1], rows[0], *rows[2:]]


def _set(field: str, value: object, index: int = 5):
    def edit(rows: list[dict]) -> list[dict]:
        return [{**row, field: value} if i == index else row for i, row in enumerate(rows)]

    return edit


@pytest.mark.parametrize(
    ("series", "edit", "rename", "expected"),
    [
        (Series.ICE_NO11, None, True, "Sina futures_foreign_hist(symbol='RS'), field 'close': column missing"),
        (
            Series.ICE_NO11,
            _set("close", "停牌"),
            False,
            "Sina futures_foreign_hist(symbol='RS'), field 'close': not a number",
        ),
        (
            Series.ZCE_SUGAR,
            _set("close", float("nan")),
            False,
            "Sina futures_zh_daily_sina(symbol='SR0'), field 'close': missing values",
        ),
        (
            Series.ZCE_SUGAR,
            lambda rows: rows[:6] + rows[5:],
            False,
            "Sina futures_zh_daily_sina(symbol='SR0'), field 'date': duplicate dates",
        ),
        (
            Series.ZCE_SUGAR,
            _set("low", -5380.0),
            False,
            "Sina futures_zh_daily_sina(symbol='SR0'), field 'low': zero or negative prices",
        ),
        (
            Series.ZCE_SUGAR,
            _swap_first_two,
            False,
            "Sina futures_zh_daily_sina(symbol='SR0'), field 'date': dates out of order",
        ),
    ],
    ids=["renamed-column", "string", "nan", "duplicate-dates", "negative-price", "out-of-order"],
)
def test_7_malformed_frames_are_stopped_before_writing_naming_source_and_field(
    warehouse: Warehouse, instance, series: Series, edit, rename: bool, expected: str
) -> None:
    """Source frames with renamed columns, strings, NaN, duplicate dates, negative prices, dates out
    of order → stopped before writing, the error names source and field."""
    world = RecordedWorld(D(2025, 11, 3), D(2025, 12, 5), edits={series: edit} if edit else {})
    # The fallback is down too, so the broken frame is the only one on offer.
    bodies = {"eastmoney_sr": EASTMONEY_DOWN, "eastmoney_ice": EASTMONEY_DOWN}
    if rename:
        bodies["ice"] = world.ice_body().replace('"close"', '"last"')
    with world.serving(**bodies):
        result = run_graph(fast_akshare(), warehouse, instance, partition="2025-12-04")
    assert not result.success
    assert expected in failure_text(result)
    assert count(warehouse, RAW_TABLES[series]) == 0
    assert count(warehouse, market_daily) == 0
    assert materializations(instance, "2025-12-04") == []
    [check] = [
        event.event_specific_data
        for event in result.all_events
        if event.event_type_value == "ASSET_CHECK_EVALUATION"
        and not event.event_specific_data.passed
        # The recorded world does not serve Sina's calendar: the calendar's fallback warns.
        and event.event_specific_data.asset_key != dg.AssetKey("mainland_trading_calendar")
    ]
    assert check.check_name == "source_contract" and "| Sina" in check.metadata["rows"].value


# 8 -------------------------------------------------------------------------------------------


def test_8_a_trading_day_without_its_bar_is_not_done_is_retried_and_raises_the_freshness_alarm(
    sqlite_warehouse: Warehouse, instance, move_clock
) -> None:
    """A trading day with no bar yet → not marked done; retried; the freshness alarm fires after its deadline."""
    catchup = defs.resolve_sensor_def("market_daily_catchup_sensor")
    freshness = defs.resolve_sensor_def("market_daily_freshness_sensor")
    move_clock(dt.datetime(2025, 12, 4, 10, 0))  # before 12-04's bar is final: none is landed
    assert run_graph(DemoSource(), sqlite_warehouse, instance, partition_range=("2025-11-05", "2025-12-03")).success

    # The run for Thursday 12-04 finds no bar, although Friday's is there.
    move_clock(dt.datetime(2025, 12, 5, 16, 0))
    late = run_graph(DemoWithoutSugarBar(missing_day="2025-12-04"), sqlite_warehouse, instance, partition="2025-12-04")
    assert not late.success and "no bar for trading day 2025-12-04 yet" in failure_text(late)
    assert D(2025, 12, 4) not in set(market_rows(sqlite_warehouse)["record_date"].to_list())
    status = instance.get_status_by_partition(
        dg.AssetKey("market_daily"), ["2025-12-04"], defs.resolve_job_def("market_daily_job").partitions_def
    )
    assert status["2025-12-04"] != dg.AssetPartitionStatus.MATERIALIZED

    from sugars_dagster.defs.catchup_policy import CatchupPolicy
    from sugars_dagster.defs.market_calendar import MarketCalendar
    from sugars_dagster.warehouse.export import Retention

    cursors: dict[str, str | None] = {"catchup": None, "freshness": None}

    def tick(sensor, name: str, local: dt.datetime, **resources):
        move_clock(local)
        result = sensor.evaluate_tick(
            dg.build_sensor_context(instance=instance, cursor=cursors[name], resources=resources)
        )
        cursors[name] = result.cursor
        return result

    catchup_resources = {
        "catchup": CatchupPolicy(),
        "warehouse": sqlite_warehouse,
        "source": DemoSource(),
        "retention": Retention(),
        "calendar": MarketCalendar(),
    }
    keys = []
    for minutes in (0, 10, 20, 40, 50):  # the requested runs keep failing: nothing loads the day
        requested = tick(
            catchup, "catchup", dt.datetime(2025, 12, 5, 4, 0) + dt.timedelta(minutes=minutes), **catchup_resources
        )
        keys.append([request.run_key for request in requested.run_requests])
    assert keys == [
        ["catchup 2025-12-04...2025-12-04 attempt 1"],
        [],
        ["catchup 2025-12-04...2025-12-04 attempt 2"],
        [],
        ["catchup 2025-12-04...2025-12-04 attempt 3"],
    ]

    with alert_inbox() as inbox:
        alerter = Alerter(urls=inbox.url)
        before = tick(
            freshness,
            "freshness",
            dt.datetime(2025, 12, 5, 8, 55),
            warehouse=sqlite_warehouse,
            alerter=alerter,
            source=DemoSource(),
            calendar=MarketCalendar(),
        )
        after = tick(
            freshness,
            "freshness",
            dt.datetime(2025, 12, 5, 9, 1),
            warehouse=sqlite_warehouse,
            alerter=alerter,
            source=DemoSource(),
            calendar=MarketCalendar(),
        )
    assert before.skip_message.startswith("nothing due")
    assert after.skip_message.endswith("alert sent")
    [message] = inbox.messages
    assert "expected 2025-12-04 by 09:00 Asia/Shanghai" in message["message"]


# 12 ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--partition", "2025-13-01"], {}, "containing the passed partition key `2025-13-01`"),
        (["--partition", "'; DROP TABLE market_daily; --"], {}, "containing the passed partition key `'; DROP TABLE"),
        (
            ["--partition-range", "2025-12-05...2025-12-01"],
            {},
            "partition range 2025-12-05...2025-12-01 starts after it ends",
        ),
        (
            ["--partition", "2025-12-04"],
            {"SUGARS_CATCHUP_LOOKBACK_DAYS": "-3"},
            "SUGARS_CATCHUP_LOOKBACK_DAYS=-3 is below 0",
        ),
        (
            ["--partition", "2025-12-04"],
            {"SUGARS_PARTITIONS_START": "2006-13-01"},
            "SUGARS_PARTITIONS_START='2006-13-01' is not a date",
        ),
        (
            [
                "--partition",
                "2025-12-04",
                "--config-json",
                json.dumps({"ops": {"market_daily": {"config": {"freight_usd_t": -40}}}}),
            ],
            {},
            "freight_usd_t",
        ),
    ],
    ids=["month-13", "sql-in-key", "start-after-end", "negative-look-back", "bad-partitions-start", "negative-freight"],
)
def test_12_bad_keys_and_config_are_refused_clearly_and_nothing_is_written(
    tmp_path, args: list[str], env: dict, message: str
) -> None:
    """Partition keys and configuration values that are not what they should be → clear errors, nothing written."""
    cli = CliInstance.create(tmp_path, **env)
    completed = cli.run("asset", "materialize", "-m", "sugars_dagster.definitions", "--select", "*market_daily", *args)
    assert completed.returncode != 0
    assert message in completed.stdout + completed.stderr
    warehouse_file = tmp_path / "data" / "warehouse.sqlite"
    if warehouse_file.exists():  # the sources may have landed before the bad config stopped market_daily
        assert count(Warehouse(url=f"sqlite:///{warehouse_file}"), market_daily) == 0
