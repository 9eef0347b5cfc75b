"""A simulated year: the real schedule and sensors, the runs they request and six faults, from
2026-12-01 to 2027-12-31 Asia/Shanghai, checked against the demo source's ground truth.

Run alone: pytest -m simulation sugars_dagster_tests/simulation (it prints its figures either way).

The faults, on trading days away from the 2027 holidays and from each other (Asia/Shanghai):

| # | fault                                     | acts                                   | alerts expected              |
|---|-------------------------------------------|----------------------------------------|------------------------------|
| 1 | daemon down 5 days (no ticks at all)      | Thu 03-11 10:00 .. Tue 03-16 10:00     | at most 1, the freshness one |
| 2 | the sugar bar of Wed 04-21 never comes    | from 04-21, for good                   | exactly 1                    |
| 3 | the sugar bar of Wed 06-23 two days late  | withheld until Fri 06-25 15:30         | exactly 1                    |
| 4 | the source down for a day                 | Wed 08-18 00:00 .. Thu 08-19 00:00     | exactly 1                    |
| 5 | the warehouse down for an hour over 02:00 | Tue 09-07 01:30 .. 02:30               | exactly 1                    |
| 6 | the warehouse restored from a week-old    | copied Wed 11-03 19:00, put back       | none: the catch-up refills   |
|   | copy                                      | Wed 11-10 19:00                        | it before the 09:00 check    |
"""

import datetime as dt
import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from sugars_dagster.defs.catchup_policy import CatchupPolicy
from sugars_dagster.market.series import Series
from sugars_dagster.sources.demo_source import DemoSource
from sugars_dagster_tests.simulation.faults import SHANGHAI, Fault, FaultySource, Kind, demo_answer
from sugars_dagster_tests.simulation.ground_truth import (
    expected_market_daily,
    expected_trading_days,
    value_mismatches,
)
from sugars_dagster_tests.simulation.harness import FRESHNESS, Simulation, shanghai

START = shanghai(2026, 12, 1)
END = shanghai(2028, 1, 1)
# The market days whose loads fall inside the simulation: the catch-up sensor's first look-back
# window, through the day the last nightly load (2027-12-31 02:00) loads.
FIRST_DAY = START.date() - dt.timedelta(days=CatchupPolicy().lookback_days)
LAST_DAY = END.date() - dt.timedelta(days=2)


@dataclass(frozen=True)
class Expected:
    fault: Fault
    alerts: range
    only_freshness: bool = False


FAULTS = [
    Expected(Fault.daemon_down(shanghai(2027, 3, 11, 10), days=5), alerts=range(0, 2), only_freshness=True),
    Expected(Fault.bar_never_comes(dt.date(2027, 4, 21)), alerts=range(1, 2)),
    Expected(Fault.bar_late(dt.date(2027, 6, 23), days=2), alerts=range(1, 2)),
    Expected(Fault.source_down(shanghai(2027, 8, 18), hours=24), alerts=range(1, 2)),
    Expected(Fault.warehouse_down(shanghai(2027, 9, 7, 1, 30), minutes=60), alerts=range(1, 2)),
    Expected(Fault.warehouse_restored(shanghai(2027, 11, 10, 19), copy_age=dt.timedelta(days=7)), alerts=range(0, 1)),
]


def faults() -> list[Fault]:
    return [expected.fault for expected in FAULTS]


def local(moment: dt.datetime) -> str:
    return f"{moment.astimezone(SHANGHAI):%a %Y-%m-%d %H:%M}"


def describe_range(allowed: range) -> str:
    return f"exactly {allowed.start}" if len(allowed) == 1 else f"{allowed.start} to {allowed.stop - 1}"


# --- what happened, per fault ---------------------------------------------------------------


def alerts_by_fault(simulation: Simulation) -> tuple[dict[Fault, list], list]:
    """Each alert under the fault whose alert window holds it; the rest are unexplained."""
    attributed: dict[Fault, list] = {fault: [] for fault in faults()}
    unexplained = []
    for sender, alert in simulation.alerts:
        owners = [fault for fault in faults() if alert.at in fault.alert_window()]
        if owners:
            attributed[owners[0]].append((sender, alert))
        else:
            unexplained.append((sender, alert))
    return attributed, unexplained


def failures_by_fault(simulation: Simulation) -> tuple[dict[Fault, list], list]:
    explained: dict[Fault, list] = {fault: [] for fault in faults()}
    unexplained = []
    for failure in simulation.failed_runs:
        owners = [fault for fault in faults() if fault.explains(failure)]
        if owners:
            explained[owners[0]].append(failure)
        else:
            unexplained.append(failure)
    return explained, unexplained


def figures_report(simulation: Simulation) -> str:
    alerts, unexplained_alerts = alerts_by_fault(simulation)
    failures, unexplained_failures = failures_by_fault(simulation)
    lines = ["", "--- a simulated year ---", *simulation.figure_lines()]
    lines.append("per fault: failed runs, alerts (by sender)")
    for fault in faults():
        senders = Counter(sender for sender, _ in alerts[fault])
        lines.append(
            f"  {fault.describe()}: {len(failures[fault])} failed run(s), {len(alerts[fault])} alert(s) "
            f"{dict(senders) if senders else ''}"
        )
    lines.append(
        f"  outside every fault: {len(unexplained_failures)} failed run(s), {len(unexplained_alerts)} alert(s)"
    )
    return "\n".join(lines)


# --- the checks: each returns what went wrong, or nothing ------------------------------------


def no_tick_raised(simulation: Simulation) -> list[str]:
    return [f"{local(error.at)} {error.instigator} raised {error.error}" for error in simulation.tick_errors]


def no_day_loaded_twice_at_once(simulation: Simulation) -> list[str]:
    return [
        f"{local(double.at)} {double.trigger} run {double.run_id} loads {[str(day) for day in double.days]} "
        "while another queued or running run loads them"
        for double in simulation.double_loads
    ]


def no_run_request_dropped(simulation: Simulation) -> list[str]:
    # Dagster launches a run key once per sensor, ever: a request under a used key never runs.
    return [
        f"{local(moment)} the catch-up sensor requested {key!r}, a run key it had used before; Dagster drops it"
        for moment, key in simulation.dropped_run_keys
    ]


def one_row_per_trading_day(simulation: Simulation) -> list[str]:
    stored = set(simulation.warehouse.read_market_daily(dt.date.min, dt.date.max)["record_date"].to_list())
    never = {fault.day for fault in faults() if fault.kind is Kind.BAR_NEVER_COMES}
    expected = set(expected_trading_days(FIRST_DAY, LAST_DAY)) - never
    problems = []
    if missing := sorted(expected - stored):
        problems.append(f"market_daily lacks {len(missing)} trading day(s): {[str(day) for day in missing]}")
    if extra := sorted(stored - expected):
        problems.append(f"market_daily holds {len(extra)} day(s) it should not: {[str(day) for day in extra]}")
    return problems


def no_rows_on_weekends_or_holidays(simulation: Simulation) -> list[str]:
    stored = simulation.warehouse.read_market_daily(dt.date.min, dt.date.max)["record_date"].to_list()
    if not stored:
        return []
    trading = set(expected_trading_days(min(stored), max(stored)))
    return [f"market_daily has a row on {day:%a %Y-%m-%d}, not a trading day" for day in stored if day not in trading]


def values_are_the_demo_sources(simulation: Simulation) -> list[str]:
    stored = simulation.warehouse.read_market_daily(FIRST_DAY, LAST_DAY)
    if stored.height == 0:
        return ["market_daily is empty"]
    return value_mismatches(stored, expected_market_daily(stored["record_date"].to_list()))


def every_failed_run_is_explained(simulation: Simulation) -> list[str]:
    _, unexplained = failures_by_fault(simulation)
    return [
        f"{local(failure.at)} {failure.trigger} run {failure.run_id} for {sorted(str(day) for day in failure.days)} "
        f"failed for no injected reason:\n{failure.error[:1500]}"
        for failure in unexplained
    ]


def one_alert_per_problem(simulation: Simulation) -> list[str]:
    alerts, _ = alerts_by_fault(simulation)
    problems = []
    for expected in FAULTS:
        sent = alerts[expected.fault]
        listing = "; ".join(f"{local(alert.at)} [{sender}] {alert.title}" for sender, alert in sent)
        if len(sent) not in expected.alerts:
            problems.append(
                f"{expected.fault.describe()}: {len(sent)} alert(s), expected {describe_range(expected.alerts)}: {listing}"
            )
        if expected.only_freshness and any(sender != FRESHNESS.name for sender, _ in sent):
            problems.append(f"{expected.fault.describe()}: alerts other than the freshness alarm: {listing}")
    return problems


def no_alert_without_a_problem(simulation: Simulation) -> list[str]:
    _, unexplained = alerts_by_fault(simulation)
    return [f"{local(alert.at)} [{sender}] {alert.title}: {alert.body}" for sender, alert in unexplained]


def no_alert_on_a_holiday(simulation: Simulation) -> list[str]:
    problems = []
    for sender, alert in simulation.alerts:
        day = alert.at.astimezone(SHANGHAI).date()
        if day.weekday() < 5 and day not in expected_trading_days(day, day):
            problems.append(f"{local(alert.at)} is a holiday, yet [{sender}] sent {alert.title}")
    return problems


CHECKS = [
    no_tick_raised,
    no_day_loaded_twice_at_once,
    no_run_request_dropped,
    one_row_per_trading_day,
    no_rows_on_weekends_or_holidays,
    values_are_the_demo_sources,
    every_failed_run_is_explained,
    one_alert_per_problem,
    no_alert_without_a_problem,
    no_alert_on_a_holiday,
]


@pytest.fixture
def workdir(tmp_path: Path) -> Iterator[Path]:
    """Where the deployment keeps its files: in memory-backed /dev/shm when the machine has it.
    Every SQLite commit is an fsync on a disk, and on this machine's disk a run costs a third more."""
    shm = Path("/dev/shm")
    if not (shm.is_dir() and os.access(shm, os.W_OK)):
        yield tmp_path
        return
    path = Path(tempfile.mkdtemp(prefix="sugars-simulation-", dir=shm))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.mark.simulation
def test_a_simulated_year(workdir: Path, capsys) -> None:
    simulation = Simulation(workdir, START, END, faults())
    simulation.run()
    with capsys.disabled():
        print(figures_report(simulation))
    # Every check runs, so that one run of the year shows everything that is wrong.
    failed = [f"{check.__name__}:\n  " + "\n  ".join(problems) for check in CHECKS if (problems := check(simulation))]
    assert not failed, "\n".join(failed)


def test_the_fault_source_without_faults_answers_as_the_demo_source() -> None:
    first, last = dt.date(2005, 11, 7), dt.date(2027, 3, 12)
    for series in Series:
        expected = DemoSource().fetch(series, first, last).frame
        assert demo_answer(FaultySource(), series, first, last).equals(expected), series
        assert FaultySource().fetch(series, first, last).frame.equals(expected), series
