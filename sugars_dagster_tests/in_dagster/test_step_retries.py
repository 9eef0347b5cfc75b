"""Step retries: passing trouble is retried under the job's policy, lasting errors are not."""

import datetime as dt

import dagster as dg

from sugars_dagster.defs.jobs import STEP_RETRY_POLICY
from sugars_dagster.defs.market_calendar import MarketCalendar
from sugars_dagster.errors import SourceDataError, SourceFetchError
from sugars_dagster.market.series import Series, SeriesFrame
from sugars_dagster.sources.demo_source import DemoSource
from sugars_dagster.warehouse.export import Retention
from sugars_dagster.warehouse.resource import Warehouse
from sugars_dagster_tests.support.definitions import product_definitions
from sugars_dagster_tests.support.fake_sources import DemoWithoutSugarBar
from sugars_dagster_tests.support.runs import GRAPH, failure_text, memory_export

defs = product_definitions()

# The production policy with the waiting taken out, so the test runs in seconds.
FAST_RETRIES = dg.RetryPolicy(max_retries=2, delay=0)
ATTEMPTS: dict[str, int] = {}


class TroubledSource(DemoSource):
    """The demo source, except that the sugar series fails the first `failures` times."""

    failures: int
    error: str  # "fetch" (network-like) or "data" (a bad frame)

    def fetch(self, series: Series, first: dt.date, last: dt.date, log=None) -> SeriesFrame:  # noqa: ANN001
        if series is Series.ZCE_SUGAR:
            ATTEMPTS[self.error] = ATTEMPTS.get(self.error, 0) + 1
            if ATTEMPTS[self.error] <= self.failures:
                if self.error == "fetch":
                    raise SourceFetchError("Sina futures_zh_daily_sina(symbol='SR0')", "no answer within 60 s")
                raise SourceDataError("Sina futures_zh_daily_sina(symbol='SR0')", "column missing", field="close")
        return super().fetch(series, first, last, log)


def run(
    source: DemoSource, warehouse: Warehouse, instance: dg.DagsterInstance, partition: str
) -> dg.ExecuteInProcessResult:
    job = dg.define_asset_job("retrying_job", selection=dg.AssetSelection.all(), op_retry_policy=FAST_RETRIES)
    definitions = dg.Definitions(
        assets=GRAPH,
        jobs=[job],
        resources={
            "source": source,
            "warehouse": warehouse,
            "export": memory_export(),
            "retention": Retention(),
            "calendar": MarketCalendar(),
        },
        executor=dg.in_process_executor,
    )
    return definitions.resolve_job_def("retrying_job").execute_in_process(
        partition_key=partition, instance=instance, raise_on_error=False
    )


def retries(result: dg.ExecuteInProcessResult) -> int:
    return sum(event.event_type_value == "STEP_UP_FOR_RETRY" for event in result.all_events)


def test_the_nightly_job_retries_steps_with_growing_jittered_delays() -> None:
    policy = defs.resolve_job_def("market_daily_job").op_retry_policy
    assert policy == STEP_RETRY_POLICY
    assert (policy.max_retries, policy.delay) == (3, 30)
    assert (policy.backoff, policy.jitter) == (dg.Backoff.EXPONENTIAL, dg.Jitter.PLUS_MINUS)


def test_a_passing_fetch_failure_is_retried(sqlite_warehouse: Warehouse, instance) -> None:
    ATTEMPTS.clear()
    result = run(TroubledSource(failures=1, error="fetch"), sqlite_warehouse, instance, "2025-12-04")
    assert result.success, failure_text(result)
    assert retries(result) == 1
    assert sqlite_warehouse.market_daily_dates(dt.date(2025, 12, 4), dt.date(2025, 12, 4)) == {dt.date(2025, 12, 4)}


def test_bad_data_fails_at_once_without_retries(sqlite_warehouse: Warehouse, instance) -> None:
    ATTEMPTS.clear()
    result = run(TroubledSource(failures=5, error="data"), sqlite_warehouse, instance, "2025-12-04")
    assert not result.success
    assert retries(result) == 0
    assert ATTEMPTS["data"] == 1
    assert "field 'close': column missing" in failure_text(result)


def test_a_missing_bar_fails_at_once_without_retries(sqlite_warehouse: Warehouse, instance) -> None:
    result = run(DemoWithoutSugarBar(missing_day="2025-12-04"), sqlite_warehouse, instance, "2025-12-04")
    assert not result.success
    assert retries(result) == 0
    assert "no bar for trading day 2025-12-04 yet" in failure_text(result)
