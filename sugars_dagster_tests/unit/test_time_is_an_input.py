"""The clock the tests marked `clock` see is the one CI chose (SUGARS_TEST_CLOCK), for Python and
for Dagster alike; without it, the machine's."""

import datetime as dt
import os
from zoneinfo import ZoneInfo

import pytest
from dagster._time import get_current_datetime

from sugars_dagster import clock
from sugars_dagster_tests.support.definitions import market_day_partitions

pytestmark = pytest.mark.clock  # depends on 'now': runs at several clocks in CI

SHANGHAI = ZoneInfo("Asia/Shanghai")


def ambient() -> dt.datetime | None:
    raw = os.environ.get("SUGARS_TEST_CLOCK", "").strip()
    if not raw:
        return None
    moment = dt.datetime.fromisoformat(raw)
    return moment if moment.tzinfo else moment.replace(tzinfo=SHANGHAI)


def test_the_product_and_dagster_read_the_chosen_clock() -> None:
    chosen = ambient()
    now = clock.now()
    if chosen is None:
        assert abs(now - dt.datetime.now(dt.UTC)) < dt.timedelta(seconds=5)
        return
    # The clock ticks on from the chosen moment while the suite runs.
    assert chosen <= now < chosen + dt.timedelta(hours=1)
    assert chosen <= get_current_datetime() < chosen + dt.timedelta(hours=1)
    yesterday = (now.astimezone(SHANGHAI).date() - dt.timedelta(days=1)).isoformat()
    assert market_day_partitions().get_last_partition_key() == yesterday


def test_moving_the_clock_moves_both(move_clock) -> None:
    moment = move_clock(dt.datetime(2027, 1, 1, 1, 0))
    assert clock.now() == moment
    assert get_current_datetime() == moment
    assert market_day_partitions().get_last_partition_key() == "2026-12-31"
