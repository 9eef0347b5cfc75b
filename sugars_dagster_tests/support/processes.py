"""Start and stop the product's long-running processes (code server, daemon) in tests."""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def process(args: list[str], env: Mapping[str, str], log: Path) -> Iterator[subprocess.Popen]:
    """Run a process in its own group and stop the whole group afterwards (Dagster's CLIs
    start children of their own). It runs in the folder of its log: in the repository root,
    Dagster's CLI would read `.env`, which points every command at the local instance."""
    with log.open("w") as output:
        child = subprocess.Popen(
            args, env=dict(env), cwd=log.parent, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            yield child
        finally:
            for sig, wait in ((signal.SIGTERM, 30), (signal.SIGKILL, 10)):
                try:
                    os.killpg(child.pid, sig)
                    child.wait(timeout=wait)
                    break
                except ProcessLookupError:
                    break
                except subprocess.TimeoutExpired:
                    continue


def wait_for(check: Callable[[], T], timeout: float, what: str, every: float = 1.0) -> T:
    """Poll `check` until it returns something truthy; fail naming `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = check()
            if value:
                return value
        except Exception as error:  # the processes may still be starting
            last_error = error
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what} (last error: {last_error!r})")


def wait_for_count(count: Callable[[], int], target: int, stall: float, what: str, every: float = 1.0) -> int:
    """Poll `count` until it reaches `target`; fail naming `what` only when it stops moving for
    `stall` seconds. Long drains (dozens of runs, each a process) take as long as the machine is
    busy; what a test must catch is a queue that no longer moves, not a slow one."""
    last, moved = -1, time.monotonic()
    while True:
        current = count()
        if current >= target:
            return current
        if current != last:
            last, moved = current, time.monotonic()
        elif time.monotonic() - moved > stall:
            raise AssertionError(f"{what}: stuck at {current} of {target} for {stall:.0f} s")
        time.sleep(every)
