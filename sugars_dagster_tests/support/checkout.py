"""A fresh checkout of the repository, as a user's clone has it, and the environment of a user's
shell: what the README's commands are run in."""

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

from sugars_dagster_tests.support.processes import ROOT

VENV = Path(sys.prefix)


def fresh_checkout(destination: Path) -> Path:
    """The working tree's files that git tracks or would track (so a change not yet committed is
    tested too), without `.dagster_home` state, `data/` or `.venv`; `.venv` is this test run's
    environment, which was installed from these same files."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if not source.exists() and not source.is_symlink():  # deleted, not yet committed
            continue
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            target.symlink_to(os.readlink(source))
        else:
            shutil.copy2(source, target)
    _refuse_a_foreign_environment(destination)
    (destination / ".venv").symlink_to(VENV)
    return destination


def _refuse_a_foreign_environment(checkout: Path) -> None:
    """scripts/_venv.sh reinstalls .venv when its stamp differs from the checkout's pyproject.toml
    and constraints.txt; from a temporary checkout that would leave the test run's environment
    pointing at a folder about to be deleted. Say so instead."""
    files = (checkout / "pyproject.toml").read_bytes() + (checkout / "constraints.txt").read_bytes()
    stamp = VENV / ".sugars-install"
    installed = stamp.read_text().strip() if stamp.exists() else ""
    if installed != hashlib.sha256(files).hexdigest():
        raise AssertionError(
            f"{VENV} was not installed from this checkout's pyproject.toml and constraints.txt; "
            "run the tests through scripts/test, which installs it first"
        )


def user_environment(checkout: Path, **settings: str) -> dict[str, str]:
    """A user's shell in the checkout: this process's environment without the product's or
    Dagster's settings and without this virtual environment on PATH (the README activates it)."""
    venv_bin = str(VENV / "bin")
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SUGARS_", "DAGSTER_", "PYTEST_")) and key not in {"VIRTUAL_ENV", "PYTHONPATH"}
    }
    environment["PATH"] = os.pathsep.join(
        entry for entry in environment.get("PATH", "").split(os.pathsep) if entry != venv_bin
    )
    environment["PWD"] = str(checkout)
    return environment | settings
