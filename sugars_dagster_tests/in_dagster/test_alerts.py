"""Failure alerts and the freshness alarm, delivered to a local endpoint through apprise."""

import datetime as dt
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from sugars_dagster.defs.alerts import Alerter
from sugars_dagster.defs.market_calendar import MarketCalendar
from sugars_dagster.defs.resources import alerter_from_env
from sugars_dagster.defs.sensors.failure_alerts import error_summary, market_daily_failure_alert_sensor
from sugars_dagster.defs.sensors.freshness import expected_newest_day
from sugars_dagster.market.calendar.trading import snapshot_calendar
from sugars_dagster.sources.demo_source import DemoSource
from sugars_dagster.warehouse.resource import Warehouse
from sugars_dagster_tests.support.alert_inbox import alert_inbox
from sugars_dagster_tests.support.definitions import product_definitions
from sugars_dagster_tests.support.fake_sources import DemoWithoutSugarBar
from sugars_dagster_tests.support.runs import run_graph

defs = product_definitions()

pytestmark = pytest.mark.clock  # depends on 'now': runs at several clocks in CI

SHANGHAI = ZoneInfo("Asia/Shanghai")
D = dt.date


def failed_run(instance: dg.DagsterInstance, warehouse: Warehouse) -> tuple[dg.DagsterRun, dg.DagsterEvent]:
    result = run_graph(DemoWithoutSugarBar(missing_day="2025-12-04"), warehouse, instance, partition="2025-12-04")
    assert not result.success
    [failure] = instance.all_logs(result.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
    return instance.get_run_by_id(result.run_id), failure.dagster_event


def evaluate_failure_sensor(instance, run, event, alerter: Alerter) -> None:
    context = dg.build_run_status_sensor_context(
        sensor_name="market_daily_failure_alert_sensor",
        dagster_instance=instance,
        dagster_run=run,
        dagster_event=event,
        resources={"alerter": alerter},
    ).for_run_failure()
    market_daily_failure_alert_sensor(context)


def test_a_failed_run_sends_one_alert_naming_job_partition_step_and_error(instance, sqlite_warehouse) -> None:
    run, event = failed_run(instance, sqlite_warehouse)
    with alert_inbox() as inbox:
        evaluate_failure_sensor(
            instance, run, event, Alerter(urls=inbox.url, ui_base_url="http://dagster.example:3000/")
        )
    [message] = inbox.messages
    assert message["title"] == "sugars_dagster: __ephemeral_asset_job__ failed for 2025-12-04"
    body = message["message"]
    assert "Job: __ephemeral_asset_job__" in body
    assert "Partition(s): 2025-12-04" in body
    assert "Failed step: market_daily - MissingDataError: no bar for trading day 2025-12-04 yet" in body
    assert f"Run: http://dagster.example:3000/runs/{run.run_id}" in body


def test_a_run_that_will_be_retried_sends_nothing(instance, sqlite_warehouse) -> None:
    run, event = failed_run(instance, sqlite_warehouse)
    instance.add_run_tags(run.run_id, {"dagster/will_retry": "true"})
    with alert_inbox() as inbox:
        evaluate_failure_sensor(instance, instance.get_run_by_id(run.run_id), event, Alerter(urls=inbox.url))
    assert inbox.messages == []


def test_without_urls_alerts_are_off(instance, sqlite_warehouse) -> None:
    run, event = failed_run(instance, sqlite_warehouse)
    alerter = alerter_from_env({})
    assert not alerter.enabled
    evaluate_failure_sensor(instance, run, event, alerter)  # logs that alerts are off, sends nothing


def test_alert_urls_are_comma_separated_and_secret() -> None:
    alerter = alerter_from_env(
        {
            "SUGARS_ALERT_URLS": "json://127.0.0.1:9/a, dingtalk://token/ ,",
            "SUGARS_UI_BASE_URL": "https://dagster.internal",
        }
    )
    assert isinstance(alerter.urls, dg.EnvVar)  # resolved at launch, hidden in the UI
    resolved = Alerter(urls="json://127.0.0.1:9/a, dingtalk://token/ ,", ui_base_url="https://dagster.internal")
    assert resolved.url_list() == ["json://127.0.0.1:9/a", "dingtalk://token/"]
    assert resolved.run_link("abc") == "https://dagster.internal/runs/abc"


def test_an_undeliverable_alert_fails_loudly() -> None:
    with pytest.raises(ValueError, match="apprise does not understand"):
        Alerter(urls="nonsense-scheme://x").send("t", "b")


def test_error_summary_is_the_innermost_cause_without_module_path() -> None:
    from dagster_shared.error import SerializableErrorInfo

    network = SerializableErrorInfo("requests.exceptions.ProxyError: HTTPSConnectionPool(host='x')\n", [], "ProxyError")
    ours = SerializableErrorInfo(
        "sugars_dagster.errors.SourceFetchError: Sina spot_goods: no answer within 60 s\n",
        [],
        "SourceFetchError",
        cause=network,
    )
    outer = SerializableErrorInfo(
        "dagster._core.errors.DagsterExecutionStepExecutionError: Error occurred\n", [], "X", cause=ours
    )
    # Ours names the source; the library error beneath it does not.
    assert error_summary(outer) == "SourceFetchError: Sina spot_goods: no answer within 60 s"
    assert error_summary(network) == "ProxyError: HTTPSConnectionPool(host='x')"
    assert error_summary(None) == "no error recorded"


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        (dt.datetime(2025, 12, 8, 9, 30), D(2025, 12, 5)),  # Monday morning: Friday is due
        (dt.datetime(2025, 12, 8, 8, 59), None),  # before the deadline
        (dt.datetime(2025, 12, 5, 9, 0), D(2025, 12, 4)),
        (dt.datetime(2025, 12, 6, 10, 0), None),  # Saturday
        (dt.datetime(2025, 10, 9, 9, 30), D(2025, 9, 30)),  # first day after National Day
        (dt.datetime(2025, 10, 3, 9, 30), None),  # a holiday
    ],
)
def test_which_day_must_be_loaded_by_nine(local: dt.datetime, expected: dt.date | None) -> None:
    assert expected_newest_day(local.replace(tzinfo=SHANGHAI), snapshot_calendar()) == expected


def test_freshness_alarm_fires_once_a_day_when_yesterday_is_missing(instance, sqlite_warehouse, move_clock) -> None:
    sensor = defs.resolve_sensor_def("market_daily_freshness_sensor")
    assert run_graph(DemoSource(), sqlite_warehouse, instance, partition="2025-12-03").success
    cursor = None

    def tick(local: dt.datetime, alerter: Alerter):
        nonlocal cursor
        move_clock(local)
        context = dg.build_sensor_context(
            instance=instance,
            cursor=cursor,
            resources={
                "warehouse": sqlite_warehouse,
                "alerter": alerter,
                "source": DemoSource(),
                "calendar": MarketCalendar(),
            },
        )
        result = sensor.evaluate_tick(context)
        cursor = result.cursor
        return result

    with alert_inbox() as inbox:
        alerter = Alerter(urls=inbox.url)
        early = tick(dt.datetime(2025, 12, 5, 8, 30), alerter)
        assert early.skip_message.startswith("nothing due at 2025-12-05 08:30")
        stale = tick(dt.datetime(2025, 12, 5, 9, 5), alerter)
        assert "newest loaded trading day is 2025-12-03, expected 2025-12-04" in stale.skip_message
        again = tick(dt.datetime(2025, 12, 5, 9, 10), alerter)
        assert again.skip_message.endswith("alerted already today")
        [message] = inbox.messages
        assert message["title"] == "sugars_dagster: market_daily is stale"
        assert "expected 2025-12-04 by 09:00 Asia/Shanghai" in message["message"]

        assert run_graph(DemoSource(), sqlite_warehouse, instance, partition="2025-12-04").success
        fresh = tick(dt.datetime(2025, 12, 5, 9, 15), alerter)
        assert fresh.skip_message == "fresh: newest loaded trading day is 2025-12-04"
        next_day = tick(dt.datetime(2025, 12, 8, 9, 5), alerter)  # Monday, Friday missing: a new alert
        assert "expected 2025-12-05" in next_day.skip_message
        assert len(inbox.messages) == 2
