"""The Parquet export and warehouse retention."""

import datetime as dt
from zoneinfo import ZoneInfo

import fsspec
import polars as pl

from sugars_dagster.market.calendar import trading as trading_calendar
from sugars_dagster.sources.demo_source import DemoSource
from sugars_dagster.warehouse.export import ExportTarget, Retention
from sugars_dagster.warehouse.resource import Warehouse
from sugars_dagster_tests.support.runs import failure_text, run_graph

D = dt.date


def export_metadata(result) -> dict:
    [event] = [
        event
        for event in result.get_asset_materialization_events()
        if event.asset_key.to_user_string() == "market_daily_export"
    ][:1]
    return {key: value.value for key, value in event.materialization.metadata.items()}


def test_a_day_is_backed_up_readably_and_a_rerun_leaves_the_files_as_they_were(
    sqlite_warehouse: Warehouse, instance, tmp_path
) -> None:
    export = ExportTarget(url=str(tmp_path / "backups"))
    first = run_graph(DemoSource(), sqlite_warehouse, instance, partition="2025-12-04", export=export)
    assert first.success, failure_text(first)
    market_file = tmp_path / "backups" / "market_daily" / "2025" / "2025-12-04.parquet"
    margin_file = tmp_path / "backups" / "sugar_import_margin" / "2025" / "2025-12-04.parquet"
    backed_up = pl.read_parquet(market_file)
    assert backed_up.equals(sqlite_warehouse.read_market_daily(D(2025, 12, 4), D(2025, 12, 4)))
    assert pl.read_parquet(margin_file)["record_date"].to_list() == [D(2025, 12, 4)]
    assert export_metadata(first)["market_daily_files"] == {"written": 1}
    before = (market_file.read_bytes(), margin_file.read_bytes())

    second = run_graph(DemoSource(), sqlite_warehouse, instance, partition="2025-12-04", export=export)
    assert second.success, failure_text(second)
    assert (market_file.read_bytes(), margin_file.read_bytes()) == before
    assert export_metadata(second)["market_daily_files"] == {"unchanged": 1}


def test_a_range_writes_one_file_per_trading_day_and_none_for_closed_days(
    sqlite_warehouse: Warehouse, instance
) -> None:
    export = ExportTarget(url="memory://sugars-tests/range-backups")
    result = run_graph(
        DemoSource(), sqlite_warehouse, instance, partition_range=("2025-09-29", "2025-10-10"), export=export
    )
    assert result.success, failure_text(result)
    for day in (D(2025, 9, 29) + dt.timedelta(days=offset) for offset in range(12)):
        filesystem, path = fsspec.core.url_to_fs(export.path("market_daily", day))
        if trading_calendar.snapshot_calendar().is_session(day):  # 09-29, 09-30, 10-09, 10-10
            assert export.read_day("market_daily", day)["record_date"].to_list() == [day]
        else:
            assert not filesystem.exists(path)
    assert export_metadata(result)["market_daily_files"] == {"written": 4, "absent": 8}


def test_a_backup_of_a_day_that_no_longer_has_rows_is_removed(sqlite_warehouse: Warehouse, instance, tmp_path) -> None:
    export = ExportTarget(url=str(tmp_path / "backups"))
    stale = tmp_path / "backups" / "market_daily" / "2025" / "2025-12-06.parquet"  # a Saturday
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"left over")
    assert run_graph(DemoSource(), sqlite_warehouse, instance, partition="2025-12-06", export=export).success
    assert not stale.exists()


def test_retention_keeps_exactly_the_last_n_days_and_leaves_backups_alone(
    sqlite_warehouse: Warehouse, instance, tmp_path, move_clock
) -> None:
    export = ExportTarget(url=str(tmp_path / "backups"))
    assert run_graph(
        DemoSource(), sqlite_warehouse, instance, partition_range=("2025-11-17", "2025-12-04"), export=export
    ).success
    files_before = sorted(path.name for path in (tmp_path / "backups").rglob("*.parquet"))

    # On 2025-12-05 (Shanghai), keeping 10 days keeps 2025-11-26 .. 2025-12-05.
    move_clock(dt.datetime(2025, 12, 5, 4, 0, tzinfo=ZoneInfo("Asia/Shanghai")))
    result = run_graph(
        DemoSource(), sqlite_warehouse, instance, partition="2025-12-04", export=export, retention=Retention(days=10)
    )
    assert result.success, failure_text(result)
    kept = sqlite_warehouse.read_market_daily(D(2000, 1, 1), D(2100, 1, 1))["record_date"].to_list()
    assert kept == trading_calendar.snapshot_calendar().sessions_between(D(2025, 11, 26), D(2025, 12, 4))
    margins = sqlite_warehouse.read_import_margin(D(2000, 1, 1), D(2100, 1, 1))["record_date"].to_list()
    assert margins == kept
    assert sorted(path.name for path in (tmp_path / "backups").rglob("*.parquet")) == files_before


def test_retention_is_off_by_default(sqlite_warehouse: Warehouse, instance) -> None:
    assert run_graph(DemoSource(), sqlite_warehouse, instance, partition_range=("2016-01-04", "2016-01-08")).success
    assert run_graph(DemoSource(), sqlite_warehouse, instance, partition="2025-12-04").success
    assert len(sqlite_warehouse.read_market_daily(D(2000, 1, 1), D(2100, 1, 1))) == 6


def test_the_export_url_hides_credentials() -> None:
    assert ExportTarget(url="s3://key:secret@bucket/prefix").display() == "s3://bucket/prefix"
    assert ExportTarget(url="/var/backups/sugars").display() == "/var/backups/sugars"


def test_the_export_reaches_an_s3_compatible_endpoint(monkeypatch) -> None:
    """s3:// through a custom endpoint, as with Alibaba OSS or MinIO: here moto's S3 on loopback."""
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        for name, value in {
            "AWS_ENDPOINT_URL": f"http://{host}:{port}",
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_DEFAULT_REGION": "us-east-1",
        }.items():
            monkeypatch.setenv(name, value)
        boto3.client("s3").create_bucket(Bucket="sugar-backups")
        export = ExportTarget(url="s3://sugar-backups/prod")
        rows = pl.DataFrame({"record_date": [D(2025, 12, 4)], "sugar_close": [5412.0]})
        assert export.sync_day("market_daily", D(2025, 12, 4), rows).value == "written"
        assert export.sync_day("market_daily", D(2025, 12, 4), rows).value == "unchanged"
        assert export.read_day("market_daily", D(2025, 12, 4)).equals(rows)
        listed = boto3.client("s3").list_objects_v2(Bucket="sugar-backups")["Contents"]
        assert [item["Key"] for item in listed] == ["prod/market_daily/2025/2025-12-04.parquet"]
    finally:
        server.stop()
