"""`python -m sugars_dagster.status` asks the UI where scripts/dev serves it, and says so in one
line when nothing answers there."""

import socket
import subprocess
import sys

import pytest

from sugars_dagster_tests.support.environment import product_environment
from sugars_dagster_tests.support.processes import ROOT

pytestmark = pytest.mark.cli


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_with_no_ui_up_status_says_so_in_one_line() -> None:
    port = _free_port()
    done = subprocess.run(
        [sys.executable, "-m", "sugars_dagster.status"],
        cwd=ROOT,
        env=product_environment({"SUGARS_UI_PORT": str(port)}),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stdout == ""
    [line] = done.stderr.strip().splitlines()
    assert line.startswith(f"no Dagster UI answers at http://127.0.0.1:{port} (")
    assert line.endswith("); start it with scripts/dev, or pass --url")


def test_a_bad_port_setting_is_named() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "sugars_dagster.status"],
        cwd=ROOT,
        env=product_environment({"SUGARS_UI_PORT": "http"}),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("SUGARS_UI_PORT='http' is not a whole number")
