"""The README's run command: UI and daemon up, demo definitions loaded, schedule running."""

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request

import pytest

from sugars_dagster_tests.support.environment import product_environment
from sugars_dagster_tests.support.processes import ROOT

pytestmark = pytest.mark.cli

QUERY = """
{
  assetNodes { assetKey { path } }
  instance { daemonHealth { allDaemonStatuses { daemonType healthy } } }
  schedulesOrError(repositorySelector: {repositoryName: "__repository__", repositoryLocationName: "sugars_dagster"}) {
    ... on Schedules { results { name scheduleState { status } } }
  }
}
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _graphql(port: int) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": QUERY}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)["data"]


def test_scripts_dev_serves_the_ui_with_the_daemon_on_loopback(tmp_path) -> None:
    port = _free_port()
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text((ROOT / "dagster.local.yaml").read_text())
    env = product_environment(
        {"DAGSTER_HOME": str(home), "SUGARS_DATA_DIR": str(tmp_path / "data"), "SUGARS_UI_PORT": str(port)}
    )
    log = (tmp_path / "dev.log").open("w")
    process = subprocess.Popen(
        [str(ROOT / "scripts" / "dev")],
        cwd=tmp_path,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 180
        data = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                data = _graphql(port)
                statuses = data["instance"]["daemonHealth"]["allDaemonStatuses"]
                if data["assetNodes"] and statuses and all(status["healthy"] for status in statuses):
                    break
            except (OSError, KeyError, TypeError):
                pass
            time.sleep(2)
        assert data is not None, (tmp_path / "dev.log").read_text()[-3000:]
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
            ui_sockets = [line for line in listening.splitlines() if f":{port} " in line]
            assert ui_sockets and all("127.0.0.1:" in line for line in ui_sockets), ui_sockets
        # A backgrounded scripts/dev stops, with everything it started, on a SIGTERM to itself.
        stopping = time.monotonic()
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=15)
        assert time.monotonic() - stopping <= 10
        assert _processes_serving(port) == []
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        for pid in _processes_serving(port):
            os.kill(pid, signal.SIGKILL)
        log.close()


def _processes_serving(port: int) -> list[int]:
    """Processes whose command line names the UI's port: dagster dev and its webserver."""
    found = subprocess.run(["pgrep", "-f", f"-p {port}|--port {port}"], capture_output=True, text=True, check=False)
    return [int(pid) for pid in found.stdout.split()]
