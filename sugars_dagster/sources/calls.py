"""Deadlines and retries around source calls.

akshare passes no timeout to its HTTP requests, so a call can hang forever. Each attempt runs in a
daemon thread that the caller stops waiting for at the deadline; the thread dies with the process
instead of keeping it alive.
"""

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from sugars_dagster.errors import SourceDataError, SourceFetchError

T = TypeVar("T")


@dataclass(frozen=True)
class RetrySettings:
    attempts: int = 4
    timeout_seconds: float = 60.0
    backoff_base_seconds: float = 2.0
    backoff_max_seconds: float = 60.0


def backoff_delay(attempt: int, settings: RetrySettings, rng: Callable[[], float]) -> float:
    """Exponential backoff with 'equal jitter': half the step fixed, half random."""
    step = min(settings.backoff_max_seconds, settings.backoff_base_seconds * 2 ** (attempt - 1))
    return step / 2 + rng() * step / 2


def call_with_deadline(fn: Callable[[], T], timeout_seconds: float, source: str) -> T:
    outcome: dict[str, object] = {}

    def target() -> None:
        try:
            outcome["value"] = fn()
        except BaseException as error:  # handed to the caller's thread below
            outcome["error"] = error

    worker = threading.Thread(target=target, name=f"source call: {source}", daemon=True)
    worker.start()
    worker.join(timeout_seconds)
    if worker.is_alive():
        raise SourceFetchError(source, f"no answer within {timeout_seconds:g} s")
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]  # type: ignore[return-value]


def call_with_retries(
    fn: Callable[[], T],
    *,
    source: str,
    settings: RetrySettings,
    on_retry: Callable[[str], None] = lambda message: None,
    sleep: Callable[[float], None] = time.sleep,
    rng: Callable[[], float] = random.random,
) -> T:
    """Call `fn` under a deadline, retrying failures; the last error names the source and cause.

    A SourceDataError from `fn` (an answer that came back empty) is raised at once: the source
    answered, and asking again gets the same answer."""
    last_error: SourceFetchError | None = None
    for attempt in range(1, settings.attempts + 1):
        try:
            return call_with_deadline(fn, settings.timeout_seconds, source)
        except SourceDataError:
            raise
        except SourceFetchError as error:
            last_error = error
        except Exception as error:
            # akshare surfaces HTTP failures (Sina's 456 rate limit, 502 outside the mainland,
            # an HTML error page) as parser errors; keep the type and text for the message.
            last_error = SourceFetchError(source, f"the call failed: {type(error).__name__}: {error}")
            last_error.__cause__ = error
        if attempt < settings.attempts:
            delay = backoff_delay(attempt, settings, rng)
            on_retry(f"{last_error} (attempt {attempt}/{settings.attempts}; retrying in {delay:.1f} s)")
            sleep(delay)
    assert last_error is not None
    raise SourceFetchError(
        source, f"gave up after {settings.attempts} attempt(s); last error: {last_error.detail}"
    ) from last_error
