"""The README's commands, run as written in a fresh checkout, so that the documentation cannot rot.

Every fenced block that follows a `<!-- tested` comment in README.md is taken. The first is the
two commands: `scripts/dev` runs here, in the background, for the whole module (the CLI block's
`dagster job launch` needs its daemon); `scripts/test` is the command CI runs (`.ci/run`), which
is checked instead of run again from inside the suite. The other blocks run line by line in one
bash, from the checkout's root, in a user's environment: no product or Dagster variable set, the
virtual environment not yet activated.

The one command that reads the clock (`date -d yesterday`, the end of "all history") finds a
`date` on PATH that answers 2025-12-31: the clock is an input here as everywhere.
"""

import datetime as dt
import json
import os
import re
import shutil
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

from sugars_dagster.market.calendar import trading as trading_calendar
from sugars_dagster_tests.support.checkout import fresh_checkout, user_environment
from sugars_dagster_tests.support.cli import instance_at
from sugars_dagster_tests.support.processes import ROOT, free_port, wait_for

pytestmark = pytest.mark.cli

MARKER = "<!-- tested"
YESTERDAY = "2025-12-31"
HEALTH = """
{
  assetNodes { assetKey { path } }
  instance { daemonHealth { allDaemonStatuses { daemonType healthy } } }
  schedulesOrError(repositorySelector: {repositoryName: "__repository__", repositoryLocationName: "sugars_dagster"}) {
    ... on Schedules { results { name scheduleState { status } } }
  }
}
"""


def readme_blocks() -> list[list[str]]:
    """The lines of each fenced block marked as tested, in README order."""
    lines = (ROOT / "README.md").read_text().splitlines()
    blocks = []
    for index, line in enumerate(lines):
        if line.startswith(MARKER):
            assert lines[index + 1] == "```bash", f"README line {index + 2}: a tested block must follow its marker"
            end = lines.index("```", index + 2)
            blocks.append(lines[index + 2 : end])
    return blocks


def commands(block: list[str]) -> list[str]:
    return [line.split("#")[0].strip() for line in block if line.split("#")[0].strip()]


@dataclass
class Product:
    checkout: Path
    env: dict[str, str]
    port: int
    dev: subprocess.Popen

    def graphql(self, query: str) -> dict:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/graphql",
            data=json.dumps({"query": query}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)["data"]

    def run_block(self, block: list[str]) -> subprocess.CompletedProcess[str]:
        """The block's lines as one bash script; the first command that fails stops it, named."""
        script = "set -euo pipefail\ntrap 'echo \"README command failed: $BASH_COMMAND\" >&2' ERR\n" + "\n".join(block)
        return subprocess.run(
            ["bash", "-c", script], cwd=self.checkout, env=self.env, capture_output=True, text=True, timeout=1200
        )

    def warehouse(self) -> sa.Engine:
        return sa.create_engine(f"sqlite:///{self.checkout / 'data' / 'warehouse.sqlite'}")


def _clock_at(folder: Path) -> Path:
    """A `date` that answers the README's "yesterday in Shanghai" with a fixed day."""
    folder.mkdir()
    fake = folder / "date"
    fake.write_text(f"#!/bin/sh\necho {YESTERDAY}\n")
    fake.chmod(0o755)
    return folder


@pytest.fixture(scope="module")
def product(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Product]:
    root = tmp_path_factory.mktemp("readme")
    checkout = fresh_checkout(root / "sugars_dagster")
    port = free_port()
    env = user_environment(checkout, SUGARS_UI_PORT=str(port))
    env["PATH"] = f"{_clock_at(root / 'clock')}{os.pathsep}{env['PATH']}"
    start = commands(readme_blocks()[0])[0]
    assert start == "scripts/dev"
    log = (root / "dev.log").open("w")
    dev = subprocess.Popen(
        ["bash", "-c", start], cwd=checkout, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    product = Product(checkout, env, port, dev)

    def ready() -> bool:
        assert dev.poll() is None, (root / "dev.log").read_text()[-3000:]
        data = product.graphql(HEALTH)
        statuses = data["instance"]["daemonHealth"]["allDaemonStatuses"]
        return bool(data["assetNodes"] and statuses and all(status["healthy"] for status in statuses))

    try:
        wait_for(ready, timeout=240, what="scripts/dev's UI and healthy daemons", every=2)
        yield product
    finally:
        # scripts/dev stops what it started on SIGTERM (dg dev runs in a process group of its
        # own, which a kill of scripts/dev's group would not reach); whatever is left is killed.
        if dev.poll() is None:
            dev.send_signal(signal.SIGTERM)
            try:
                dev.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(dev.pid, signal.SIGKILL)
                dev.wait()
        for pid in _processes_serving(port):
            os.kill(pid, signal.SIGKILL)
        log.close()


def test_the_readme_gives_the_two_commands_and_ci_runs_the_test_command() -> None:
    blocks = readme_blocks()
    assert len(blocks) == 3
    assert commands(blocks[0]) == ["scripts/dev", "scripts/test"]
    ci = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert commands(blocks[0])[1] in ci


def test_the_committed_env_file_holds_only_the_local_instance_settings() -> None:
    lines = [line for line in (ROOT / ".env").read_text().splitlines() if line and not line.startswith("#")]
    assert dict(line.split("=", 1) for line in lines) == {
        "DAGSTER_HOME": "${PWD}/.dagster_home",
        "DAGSTER_EVENT_BATCH_SIZE": "1000",
        "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS": "true",
    }
    assert os.readlink(ROOT / ".dagster_home" / "dagster.yaml") == "../dagster.yaml"


def test_scripts_dev_serves_the_ui_with_the_daemon_on_loopback(product: Product) -> None:
    data = product.graphql(HEALTH)
    assets = {"/".join(node["assetKey"]["path"]) for node in data["assetNodes"]}
    assert {
        "market_daily",
        "zce_sugar_bars",
        "usd_cny_central_parity",
        "baltic_dry_index",
        "ice_raw_sugar_bars",
    } <= assets
    daemons = {
        status["daemonType"]: status["healthy"] for status in data["instance"]["daemonHealth"]["allDaemonStatuses"]
    }
    assert daemons.get("SCHEDULER") is True
    schedules = {s["name"]: s["scheduleState"]["status"] for s in data["schedulesOrError"]["results"]}
    assert schedules == {"market_daily_schedule": "RUNNING"}
    if shutil.which("ss"):
        listening = subprocess.run(["ss", "-ltnH"], capture_output=True, text=True, check=False).stdout
        ui_sockets = [line for line in listening.splitlines() if f":{product.port} " in line]
        assert ui_sockets and all("127.0.0.1:" in line for line in ui_sockets), ui_sockets


def test_the_cli_commands_load_what_they_say_into_the_one_local_instance(product: Product) -> None:
    done = product.run_block(readme_blocks()[1])
    assert done.returncode == 0, (done.stdout[-2000:], done.stderr[-4000:])

    sessions = trading_calendar.snapshot_calendar().sessions_between(
        dt.date(2006, 1, 6), dt.date.fromisoformat(YESTERDAY)
    )
    with product.warehouse().connect() as conn:
        loaded = {
            dt.date.fromisoformat(str(day))
            for (day,) in conn.execute(
                sa.text("SELECT record_date FROM market_daily WHERE record_date <= :last"), {"last": YESTERDAY}
            )
        }
        margins = conn.execute(
            sa.text("SELECT COUNT(*) FROM sugar_import_margin WHERE record_date BETWEEN '2025-12-01' AND '2025-12-04'")
        ).scalar_one()
    assert loaded == set(sessions)  # all history: one row per trading day, none on a closed day
    assert margins == 4  # Monday 1 to Thursday 4 December
    assert sorted(path.name for path in (product.checkout / "data" / "export").rglob("*2025-12-04*"))

    status = json.loads(done.stdout[done.stdout.index("{") :])
    assert status["schedule"]["name"] == "market_daily_schedule"

    home = product.checkout / ".dagster_home"
    with instance_at(home) as instance:

        def queued_run_succeeded() -> bool:
            runs = instance.get_runs(
                dg.RunsFilter(job_name="market_daily_job", tags={"dagster/partition": "2025-12-04"})
            )
            assert all(run.status != dg.DagsterRunStatus.FAILURE for run in runs), runs
            return any(run.status == dg.DagsterRunStatus.SUCCESS for run in runs)

        # `dagster job launch` only queued it: the daemon of scripts/dev runs it.
        wait_for(queued_run_succeeded, timeout=300, what="the queued run of 2025-12-04", every=2)
        launched = instance.get_runs(dg.RunsFilter(job_name="__ASSET_JOB", tags={"dagster/partition": "2025-12-04"}))
    # The two one-day `dg launch` runs went to the same instance as the daemon's run.
    assert len([run for run in launched if run.status == dg.DagsterRunStatus.SUCCESS]) == 2
    assert not list(product.checkout.glob(".tmp_dagster_home_*"))


def test_dg_checks_and_lists_the_definitions(product: Product) -> None:
    done = product.run_block(readme_blocks()[2])
    assert done.returncode == 0, (done.stdout[-2000:], done.stderr[-4000:])
    assert "All definitions loaded successfully" in done.stdout + done.stderr
    for name in ("market_daily", "market_daily_job", "market_daily_schedule", "market_daily_catchup_sensor"):
        assert re.search(rf"\b{name}\b", done.stdout), name


def test_scripts_dev_stops_within_ten_seconds_on_sigterm(product: Product) -> None:
    """Last in this module: a backgrounded scripts/dev stops, with everything it started."""
    stopping = time.monotonic()
    product.dev.send_signal(signal.SIGTERM)
    product.dev.wait(timeout=15)
    assert time.monotonic() - stopping <= 10
    assert _processes_serving(product.port) == []


def _processes_serving(port: int) -> list[int]:
    """Processes whose command line names the UI's port: dg dev and its webserver."""
    # `--`: the pattern starts with a dash, which pgrep would otherwise take for an option.
    found = subprocess.run(
        ["pgrep", "-f", "--", f"-p {port}|--port {port}"], capture_output=True, text=True, check=False
    )
    assert found.returncode in (0, 1), found.stderr  # 1: nothing matched
    return [int(pid) for pid in found.stdout.split()]
