"""The faults a simulated year injects, and the resources that obey them: the demo source, the
warehouse, and an alerter that records instead of sending.

The resources are pydantic ConfigurableResources that Dagster copies freely, so the faults they
obey live in one module-level `WORLD`, installed by the harness for the length of a simulation.
"""

import datetime as dt
import shutil
import sqlite3
from dataclasses import dataclass, field
from enum import StrEnum
from zoneinfo import ZoneInfo

import polars as pl
import sqlalchemy as sa

from sugars_dagster import clock
from sugars_dagster.defs.alerts import Alerter
from sugars_dagster.errors import SourceFetchError
from sugars_dagster.market.series import Series, SeriesFrame
from sugars_dagster.sources.demo_source import DEMO_LABEL, DemoSource
from sugars_dagster.warehouse.resource import Warehouse

SHANGHAI = ZoneInfo("Asia/Shanghai")
FOREVER = dt.datetime.max.replace(tzinfo=dt.UTC)


def midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), SHANGHAI)


@dataclass(frozen=True)
class Window:
    """[start, end)"""

    start: dt.datetime
    end: dt.datetime

    def __contains__(self, moment: dt.datetime) -> bool:
        return self.start <= moment < self.end

    def describe(self) -> str:
        end = "never" if self.end == FOREVER else f"{self.end.astimezone(SHANGHAI):%a %Y-%m-%d %H:%M}"
        return f"{self.start.astimezone(SHANGHAI):%a %Y-%m-%d %H:%M} .. {end}"


class Kind(StrEnum):
    DAEMON_DOWN = "daemon down"
    BAR_NEVER_COMES = "sugar bar never comes"
    BAR_LATE = "sugar bar arrives late"
    SOURCE_DOWN = "source down"
    WAREHOUSE_DOWN = "warehouse down"
    WAREHOUSE_RESTORED = "warehouse restored from an old copy"


@dataclass(frozen=True)
class FailedRun:
    run_id: str
    at: dt.datetime
    days: frozenset[dt.date]
    trigger: str
    error: str


@dataclass(frozen=True)
class Fault:
    """One injected fault. `window` is when it acts: the outage, the weeks a bar is withheld, or
    for a restore the span from the copy being taken to the copy being put back."""

    kind: Kind
    window: Window
    day: dt.date | None = None

    @classmethod
    def daemon_down(cls, start: dt.datetime, days: int) -> "Fault":
        return cls(Kind.DAEMON_DOWN, Window(start, start + dt.timedelta(days=days)))

    @classmethod
    def bar_never_comes(cls, day: dt.date) -> "Fault":
        return cls(Kind.BAR_NEVER_COMES, Window(midnight(day), FOREVER), day)

    @classmethod
    def bar_late(cls, day: dt.date, days: int) -> "Fault":
        # Withheld until `days` after the day's own bar would have been final (15:30 Shanghai).
        arrives = dt.datetime.combine(day + dt.timedelta(days=days), dt.time(15, 30), SHANGHAI)
        return cls(Kind.BAR_LATE, Window(midnight(day), arrives), day)

    @classmethod
    def source_down(cls, start: dt.datetime, hours: int) -> "Fault":
        return cls(Kind.SOURCE_DOWN, Window(start, start + dt.timedelta(hours=hours)))

    @classmethod
    def warehouse_down(cls, start: dt.datetime, minutes: int) -> "Fault":
        return cls(Kind.WAREHOUSE_DOWN, Window(start, start + dt.timedelta(minutes=minutes)))

    @classmethod
    def warehouse_restored(cls, at: dt.datetime, copy_age: dt.timedelta) -> "Fault":
        return cls(Kind.WAREHOUSE_RESTORED, Window(at - copy_age, at))

    def describe(self) -> str:
        what = f"{self.kind} ({self.day})" if self.day else str(self.kind)
        return f"{what}: {self.window.describe()}"

    def explains(self, failure: FailedRun) -> bool:
        """Whether this fault is why `failure` failed: the failing days and time fall inside it and
        the error is the one it causes."""
        if self.kind in (Kind.BAR_NEVER_COMES, Kind.BAR_LATE):
            first_load = midnight(self.day + dt.timedelta(days=1))
            return (
                self.day in failure.days
                and first_load <= failure.at < self.window.end
                and "MissingDataError" in failure.error
                and self.day.isoformat() in failure.error
            )
        if self.kind is Kind.SOURCE_DOWN:
            return failure.at in self.window and "SourceFetchError" in failure.error
        if self.kind is Kind.WAREHOUSE_DOWN:
            return failure.at in self.window and "OperationalError" in failure.error
        return False

    def alert_window(self) -> Window:
        """When alerts about this fault can go out: from the first moment it can be noticed until
        it has had time to heal."""
        day = dt.timedelta(days=1)
        if self.kind is Kind.BAR_NEVER_COMES:
            return Window(midnight(self.day + day), midnight(self.day + 3 * day))
        if self.kind is Kind.BAR_LATE:
            return Window(midnight(self.day + day), self.window.end + day)
        if self.kind is Kind.WAREHOUSE_RESTORED:
            return Window(self.window.end, self.window.end + 2 * day)
        return Window(self.window.start, self.window.end + day)


@dataclass(frozen=True)
class SentAlert:
    at: dt.datetime
    title: str
    body: str


@dataclass
class World:
    """The faults the resources obey, and the alerts they recorded."""

    faults: list[Fault] = field(default_factory=list)
    alerts: list[SentAlert] = field(default_factory=list)

    def install(self, faults: list[Fault]) -> None:
        self.faults = list(faults)
        self.alerts = []

    def acting(self, kind: Kind, now: dt.datetime) -> list[Fault]:
        return [fault for fault in self.faults if fault.kind is kind and now in fault.window]

    def withheld_sugar_bars(self, now: dt.datetime) -> list[dt.date]:
        return [fault.day for kind in (Kind.BAR_NEVER_COMES, Kind.BAR_LATE) for fault in self.acting(kind, now)]


WORLD = World()

# Beyond the simulated year: every fetch of the simulation falls inside it.
DEMO_SPAN_END = dt.date(2028, 12, 31)
_demo_spans: dict[tuple[str, Series, dt.date], pl.DataFrame] = {}


def demo_answer(source: DemoSource, series: Series, first: dt.date, last: dt.date) -> pl.DataFrame:
    """What the demo source `source` answers for [first, last]. The demo's value for a date never
    depends on the range asked, so a span is generated and validated once and each call served its
    slice: the whole-history fetches every run makes cost about 0.1 s a run otherwise."""
    if last > DEMO_SPAN_END:
        return DemoSource.fetch(source, series, first, last).frame
    key = (repr(source), series, first)
    if key not in _demo_spans:
        _demo_spans[key] = DemoSource.fetch(source, series, first, DEMO_SPAN_END).frame
    return _demo_spans[key].filter(pl.col("trade_date") <= last)


def refuse_while_down(what: str) -> None:
    if WORLD.acting(Kind.SOURCE_DOWN, clock.now()):
        raise SourceFetchError(what, "no answer (simulated source outage)")


class FaultySource(DemoSource):
    """The demo source: down while a source outage acts (its calendar too), and without the sugar
    bars withheld."""

    def fetch(self, series: Series, first: dt.date, last: dt.date, log=None) -> SeriesFrame:  # noqa: ANN001
        refuse_while_down(f"{DEMO_LABEL} {series.value}")
        now = clock.now()
        frame = demo_answer(self, series, first, last)
        withheld = WORLD.withheld_sugar_bars(now) if series is Series.ZCE_SUGAR else []
        if withheld:
            frame = frame.filter(~pl.col("trade_date").is_in(withheld))
        return SeriesFrame(series, DEMO_LABEL, frame, synthetic=True)

    def fetch_trading_days(self, today: dt.date, log=None) -> list[dt.date]:  # noqa: ANN001
        refuse_while_down(self.calendar_source)
        return super().fetch_trading_days(today, log)


class FaultyWarehouse(Warehouse):
    """The warehouse, refusing every connection while a warehouse outage acts."""

    def engine(self) -> sa.Engine:
        if WORLD.acting(Kind.WAREHOUSE_DOWN, clock.now()):
            raise sa.exc.OperationalError(
                "connect", None, ConnectionRefusedError("simulated warehouse outage: connection refused")
            )
        return super().engine()


class RecordingAlerter(Alerter):
    """Records each alert with the simulated time instead of delivering it."""

    @property
    def enabled(self) -> bool:
        return True

    def send(self, title: str, body: str) -> None:
        WORLD.alerts.append(SentAlert(clock.now(), title, body))


def sqlite_path(warehouse: Warehouse) -> str:
    return sa.make_url(warehouse.url).database


def copy_warehouse(warehouse: Warehouse, to: str) -> None:
    """A consistent copy of the SQLite file, as a nightly backup would take it."""
    source, target = sqlite3.connect(sqlite_path(warehouse)), sqlite3.connect(to)
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()


def restore_warehouse(warehouse: Warehouse, copy: str) -> None:
    """Put an old copy back in place; pooled connections die with the old file, as in a restore."""
    warehouse.engine().dispose()
    shutil.copyfile(copy, sqlite_path(warehouse))
