"""Only final values are landed: when each series' value of a day becomes final. The run that
leaves the rest for later is in dagster/test_market_hours_in_a_run.py."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from sugars_dagster.market.calendar.finality import final_after, is_final, newest_final_day
from sugars_dagster.market.series import Series

pytestmark = pytest.mark.clock  # depends on 'now': runs at several clocks in CI

SHANGHAI = ZoneInfo("Asia/Shanghai")
D = dt.date


def at(local: dt.datetime) -> dt.datetime:
    return local.replace(tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("series", "day", "final_from_shanghai"),
    [
        (Series.ZCE_SUGAR, D(2025, 12, 4), dt.datetime(2025, 12, 4, 15, 30)),
        (Series.USD_CNY, D(2025, 12, 4), dt.datetime(2025, 12, 4, 9, 30)),
        (Series.BDI, D(2025, 12, 4), dt.datetime(2025, 12, 4, 22, 0)),  # 14:00 London (GMT)
        (Series.BDI, D(2025, 7, 4), dt.datetime(2025, 7, 4, 21, 0)),  # 14:00 London (BST)
        (Series.ICE_NO11, D(2025, 12, 4), dt.datetime(2025, 12, 5, 2, 30)),  # 13:30 New York (EST)
        (Series.ICE_NO11, D(2025, 7, 3), dt.datetime(2025, 7, 4, 1, 30)),  # 13:30 New York (EDT)
    ],
)
def test_when_a_days_value_becomes_final(series: Series, day: dt.date, final_from_shanghai: dt.datetime) -> None:
    assert final_after(series, day) == at(final_from_shanghai)
    assert not is_final(series, day, at(final_from_shanghai) - dt.timedelta(minutes=1))
    assert is_final(series, day, at(final_from_shanghai))


def test_newest_final_day_at_the_0200_schedule() -> None:
    winter = at(dt.datetime(2025, 12, 5, 2, 0))
    assert newest_final_day(Series.ZCE_SUGAR, winter) == D(2025, 12, 4)
    assert newest_final_day(Series.ICE_NO11, winter) == D(2025, 12, 3)  # New York's 12-04 session ends 02:30
    summer = at(dt.datetime(2025, 7, 4, 2, 0))
    assert newest_final_day(Series.ICE_NO11, summer) == D(2025, 7, 3)
