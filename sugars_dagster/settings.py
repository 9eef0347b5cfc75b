"""Operating settings read from the environment, each with a clear error when it is not usable.

Every number has an upper bound as well as a lower one: a value that loads must also work for
years of sensor ticks (a look-back of a million days, a retry delay of 10^12 minutes would load
and then break every tick).
"""

from collections.abc import Mapping

from sugars_dagster.errors import ConfigError


def int_setting(
    environ: Mapping[str, str], name: str, default: int, minimum: int, maximum: int, meaning: str
) -> int:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a whole number; it is {meaning}") from None
    if value < minimum:
        raise ConfigError(f"{name}={value} is below {minimum}; it is {meaning}")
    if value > maximum:
        raise ConfigError(f"{name}={value} is above {maximum}; it is {meaning}")
    return value


# Every environment variable a run reads: this package's settings, the instance's (dagster.yaml and
# deploy/docker-runs/dagster.yaml), Dagster's event-log switches, and what s3fs and botocore read
# for an s3:// export target. A launcher that starts runs away from the code server (a container,
# a pod) must hand each of them on: sugars_dagster.run_launcher does so for Docker, and a test fails
# when the code or an instance file reads a variable that is missing here.
RUN_ENVIRONMENT: tuple[str, ...] = (
    # sources and the warehouse
    "SUGARS_SOURCE",
    "SUGARS_SOURCE_ATTEMPTS",
    "SUGARS_SOURCE_TIMEOUT_SECONDS",
    "SUGARS_WAREHOUSE_URL",
    "SUGARS_DATA_DIR",
    "SUGARS_DEPLOYMENT",
    # partitions, schedule, calendar
    "SUGARS_PARTITIONS_START",
    "SUGARS_SCHEDULE_TIME",
    "SUGARS_CLOSED_DAYS_FILE",
    # backups and retention
    "SUGARS_EXPORT_URL",
    "SUGARS_RETENTION_DAYS",
    # alerts and the catch-up sensor (a run loads the whole code location, so these must load too)
    "SUGARS_ALERT_URLS",
    "SUGARS_UI_BASE_URL",
    "SUGARS_CATCHUP_LOOKBACK_DAYS",
    "SUGARS_CATCHUP_GRACE_MINUTES",
    "SUGARS_CATCHUP_MAX_RUNS",
    "SUGARS_CATCHUP_RETRY_MINUTES",
    "SUGARS_CATCHUP_RETRY_CEILING_HOURS",
    "SUGARS_CATCHUP_INTERVAL_SECONDS",
    # the instance: storage, step logs, the run image
    "DAGSTER_PG_HOST",
    "DAGSTER_PG_PORT",
    "DAGSTER_PG_USER",
    "DAGSTER_PG_PASSWORD",
    "DAGSTER_PG_DB",
    "DAGSTER_COMPUTE_LOGS_DIR",
    "SUGARS_RUN_IMAGE",
    "DAGSTER_EVENT_BATCH_SIZE",
    "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS",
    # an S3-compatible export target (s3fs through botocore)
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_ENDPOINT_URL",
)
