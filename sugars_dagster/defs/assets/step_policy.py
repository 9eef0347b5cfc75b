"""How the writing assets behave under concurrency and failure."""

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg

from sugars_dagster.errors import SourceFetchError, SugarsError

# Every asset that writes the warehouse claims a slot in this pool; the instances (dagster.yaml,
# deploy/dagster.yaml) give pools a limit of one, so the schedule, the sensor, the UI and the CLI
# write one step at a time.
WAREHOUSE_POOL = "market_warehouse"


@contextmanager
def no_retry_for_lasting_errors() -> Iterator[None]:
    """Fail the step for good on errors a retry cannot fix: bad source data, a missing bar, an
    incompatible table, bad config. Network trouble and database restarts stay retriable."""
    try:
        yield
    except SourceFetchError:
        raise
    except SugarsError as error:
        raise dg.Failure(description=str(error), allow_retries=False) from error
