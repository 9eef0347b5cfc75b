import time

import pytest

from sugars_dagster.errors import SourceFetchError
from sugars_dagster.sources.calls import RetrySettings, backoff_delay, call_with_retries

SETTINGS = RetrySettings(attempts=4, timeout_seconds=5.0, backoff_base_seconds=2.0, backoff_max_seconds=6.0)


@pytest.mark.parametrize(
    ("attempt", "step"),
    [(1, 2.0), (2, 4.0), (3, 6.0), (4, 6.0)],  # doubles, capped at the maximum
)
def test_backoff_is_exponential_capped_and_jittered(attempt: int, step: float) -> None:
    assert backoff_delay(attempt, SETTINGS, rng=lambda: 0.0) == step / 2
    assert backoff_delay(attempt, SETTINGS, rng=lambda: 1.0) == step


def test_failures_are_retried_until_one_succeeds() -> None:
    outcomes = iter([IndexError("list index out of range"), ValueError("Expecting value"), "rows"])
    sleeps: list[float] = []
    warnings: list[str] = []

    def flaky() -> str:
        outcome = next(outcomes)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    result = call_with_retries(
        flaky, source="Sina", settings=SETTINGS, sleep=sleeps.append, rng=lambda: 0.5, on_retry=warnings.append
    )
    assert result == "rows"
    assert sleeps == [1.5, 3.0]
    assert "IndexError: list index out of range (attempt 1/4" in warnings[0]


def test_the_last_error_names_the_source_and_the_cause() -> None:
    def broken() -> None:
        raise KeyError("result")

    with pytest.raises(SourceFetchError) as error:
        call_with_retries(broken, source="Sina spot_goods", settings=SETTINGS, sleep=lambda s: None)
    assert str(error.value) == (
        "Sina spot_goods: gave up after 4 attempt(s); last error: the call failed: KeyError: 'result'"
    )


def test_a_hanging_call_is_abandoned_at_its_deadline() -> None:
    settings = RetrySettings(attempts=2, timeout_seconds=0.2, backoff_base_seconds=0.0, backoff_max_seconds=0.0)
    started = time.monotonic()
    with pytest.raises(
        SourceFetchError, match=r"SAFE: gave up after 2 attempt\(s\); last error: no answer within 0.2 s"
    ):
        call_with_retries(lambda: time.sleep(30), source="SAFE", settings=settings)
    assert time.monotonic() - started < 2.0
