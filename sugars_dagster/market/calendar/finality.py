"""When a day's value of each series is final.

A source may already list today's bar while the session is still trading (Sina's ZCE bar for the
next day appears with the 21:00 night session; an ICE bar changes until New York's close). A bar
dated D is accepted only once the session that produces it is over, plus a margin for settlement
or publication.
"""

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sugars_dagster.market.series import Series


@dataclass(frozen=True)
class SessionEnd:
    local_time: dt.time
    timezone: str
    description: str


SESSION_ENDS: dict[Series, SessionEnd] = {
    # ZCE's day session closes at 15:00; the bar is settled by about 15:30.
    Series.ZCE_SUGAR: SessionEnd(dt.time(15, 30), "Asia/Shanghai", "ZCE close 15:00 + settlement"),
    # SAFE publishes the central parity at 09:15.
    Series.USD_CNY: SessionEnd(dt.time(9, 30), "Asia/Shanghai", "SAFE fixing published 09:15"),
    # The Baltic Exchange publishes the BDI at about 13:00 London.
    Series.BDI: SessionEnd(dt.time(14, 0), "Europe/London", "Baltic Exchange publication ~13:00"),
    # ICE raw sugar No.11 closes at 13:00 New York; settlement follows.
    Series.ICE_NO11: SessionEnd(dt.time(13, 30), "America/New_York", "ICE No.11 close 13:00 + settlement"),
}


def final_after(series: Series, day: dt.date) -> dt.datetime:
    """The moment (UTC) from which the value of `series` dated `day` is final."""
    end = SESSION_ENDS[series]
    return dt.datetime.combine(day, end.local_time, ZoneInfo(end.timezone)).astimezone(dt.UTC)


def is_final(series: Series, day: dt.date, now: dt.datetime) -> bool:
    return now >= final_after(series, day)


def newest_final_day(series: Series, now: dt.datetime) -> dt.date:
    """The newest date whose value of `series` is final at `now`."""
    local_today = now.astimezone(ZoneInfo(SESSION_ENDS[series].timezone)).date()
    return local_today if is_final(series, local_today, now) else local_today - dt.timedelta(days=1)
