"""The Dagster wiring: assets, sensors, schedules, jobs, partitions, resources and run config.

Dagster 1.13 still labels two features this code location relies on as beta: the single-run
backfill policy (a range of days in one run) and code references in the catalog. They are
pinned with the release, so their warnings tell the people starting the product nothing they
can act on; they are silenced here, before any definition is built.
"""

import warnings

from dagster import BetaWarning

warnings.filterwarnings("ignore", category=BetaWarning)
