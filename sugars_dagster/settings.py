"""Every setting the product reads from the environment, read here and nowhere else, each with a
clear error naming the variable when its value is not usable.

Every number has an upper bound as well as a lower one: a value that loads must also work for
years of sensor ticks (a look-back of a million days, a retry delay of 10^12 minutes would load
and then break every tick).

Nothing is read when a module is imported: every setting is read as Dagster loads the code
location (`sugars_dagster.definitions.defs`), and a change takes effect on reload. Most become
resources. Three shape Dagster definitions themselves (the partitions' first day, the schedule's
time, the catch-up sensor's interval) and travel together as `DefinitionSettings`, from which
`sugars_dagster.defs.build.build_definitions` builds the code location.
"""

import datetime as dt
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sugars_dagster.errors import ConfigError

Environ = Mapping[str, str]

SOURCE_ENV = "SUGARS_SOURCE"
SOURCE_ATTEMPTS_ENV = "SUGARS_SOURCE_ATTEMPTS"
SOURCE_TIMEOUT_ENV = "SUGARS_SOURCE_TIMEOUT_SECONDS"
WAREHOUSE_URL_ENV = "SUGARS_WAREHOUSE_URL"
DATA_DIR_ENV = "SUGARS_DATA_DIR"
ALERT_URLS_ENV = "SUGARS_ALERT_URLS"
EXPORT_URL_ENV = "SUGARS_EXPORT_URL"
UI_BASE_URL_ENV = "SUGARS_UI_BASE_URL"
RETENTION_DAYS_ENV = "SUGARS_RETENTION_DAYS"
CLOSED_DAYS_FILE_ENV = "SUGARS_CLOSED_DAYS_FILE"
PARTITIONS_START_ENV = "SUGARS_PARTITIONS_START"
SCHEDULE_TIME_ENV = "SUGARS_SCHEDULE_TIME"
CATCHUP_INTERVAL_ENV = "SUGARS_CATCHUP_INTERVAL_SECONDS"
DEPLOYMENT_ENV = "SUGARS_DEPLOYMENT"
DAGSTER_HOME_ENV = "DAGSTER_HOME"
UI_PORT_ENV = "SUGARS_UI_PORT"

SOURCES = ("akshare", "demo")
# Runs on one host (the code server's container, or containers of one Docker engine sharing its
# volumes), or on several hosts (Kubernetes pods, or Docker engines that share no disk).
DEPLOYMENTS = ("single-host", "multi-host")
DEFAULT_SOURCE = "akshare"
DEFAULT_DATA_DIR = "data"
DEFAULT_UI_BASE_URL = "http://127.0.0.1:3000"
# ZCE listed white sugar (SR) on 2006-01-06; earlier trading days have no bar to load.
SR_LISTING_DATE = "2006-01-06"
DEFAULT_SCHEDULE_TIME = dt.time(2, 0)
DEFAULT_CATCHUP_INTERVAL_SECONDS = 120


def text(name: str, environ: Environ = os.environ) -> str:
    """The variable's value, stripped; empty when unset."""
    return environ.get(name, "").strip()


def present(names: tuple[str, ...], environ: Environ = os.environ) -> list[str]:
    """The names among `names` that the environment defines (empty values included)."""
    return [name for name in names if name in environ]


def is_set(name: str, environ: Environ = os.environ) -> bool:
    return bool(text(name, environ))


def int_setting(environ: Environ, name: str, default: int, minimum: int, maximum: int, meaning: str) -> int:
    raw = text(name, environ)
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


def source_name(environ: Environ = os.environ) -> str:
    """`akshare` (real data) unless SUGARS_SOURCE says `demo`; synthetic data is never a fallback."""
    name = text(SOURCE_ENV, environ).lower() or DEFAULT_SOURCE
    if name not in SOURCES:
        raise ConfigError(f"{SOURCE_ENV}={name!r} is not a source; choose one of {list(SOURCES)}")
    return name


def source_attempts(environ: Environ = os.environ) -> int:
    return int_setting(environ, SOURCE_ATTEMPTS_ENV, 4, 1, 10, "the tries per source call")


def source_timeout_seconds(environ: Environ = os.environ) -> int:
    return int_setting(environ, SOURCE_TIMEOUT_ENV, 60, 1, 600, "the deadline of one source call, in seconds")


def data_dir(environ: Environ = os.environ) -> Path:
    return Path(text(DATA_DIR_ENV, environ) or DEFAULT_DATA_DIR).resolve()


def ui_base_url(environ: Environ = os.environ) -> str:
    return text(UI_BASE_URL_ENV, environ) or DEFAULT_UI_BASE_URL


def local_ui_url(environ: Environ = os.environ) -> str:
    """Where `scripts/dev` serves the UI: loopback, port SUGARS_UI_PORT (3000)."""
    port = int_setting(environ, UI_PORT_ENV, 3000, 1, 65_535, "the local UI's port (scripts/dev)")
    return f"http://127.0.0.1:{port}"


def retention_days(maximum: int, environ: Environ = os.environ) -> int:
    return int_setting(environ, RETENTION_DAYS_ENV, 0, 0, maximum, "the market days the warehouse keeps (0 = all)")


def closed_days_file(environ: Environ = os.environ) -> str | None:
    """The operator's closed-days file, made absolute so that every process reads the same one."""
    raw = text(CLOSED_DAYS_FILE_ENV, environ)
    return str(Path(raw).resolve()) if raw else None


def partitions_start_date(raw: str | None) -> str:
    """The first partition key: the given `YYYY-MM-DD`, or SR's listing day when unset."""
    value = (raw or "").strip() or SR_LISTING_DATE
    try:
        parsed = dt.date.fromisoformat(value)
    except ValueError:
        raise ConfigError(
            f"{PARTITIONS_START_ENV}={value!r} is not a date; expected YYYY-MM-DD, e.g. {SR_LISTING_DATE}"
        ) from None
    if parsed.isoformat() != value:
        raise ConfigError(f"{PARTITIONS_START_ENV}={value!r} must be written as YYYY-MM-DD")
    return value


def partitions_start(environ: Environ = os.environ) -> str:
    return partitions_start_date(environ.get(PARTITIONS_START_ENV))


def schedule_time(raw: str | None) -> dt.time:
    """The nightly load's time of day in Asia/Shanghai, `HH:MM` (default 02:00)."""
    value = (raw or "").strip() or f"{DEFAULT_SCHEDULE_TIME:%H:%M}"
    try:
        parsed = dt.time.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"{SCHEDULE_TIME_ENV}={value!r} is not a time of day; expected HH:MM, e.g. 02:00") from None
    if parsed.second or parsed.microsecond or len(value) != 5:
        raise ConfigError(f"{SCHEDULE_TIME_ENV}={value!r} must be written HH:MM")
    return parsed


def nightly_load_time(environ: Environ = os.environ) -> dt.time:
    return schedule_time(environ.get(SCHEDULE_TIME_ENV))


def catchup_interval_seconds(environ: Environ = os.environ) -> int:
    return int_setting(
        environ,
        CATCHUP_INTERVAL_ENV,
        DEFAULT_CATCHUP_INTERVAL_SECONDS,
        5,
        86_400,
        "the seconds between catch-up sensor ticks",
    )


@dataclass(frozen=True)
class DefinitionSettings:
    """The settings that shape Dagster definitions themselves, which Dagster fixes when the code
    location is built; the defaults are the product's."""

    partitions_start: str = SR_LISTING_DATE  # the first partition key, YYYY-MM-DD
    nightly_load_time: dt.time = DEFAULT_SCHEDULE_TIME  # the schedule's time of day, Asia/Shanghai
    catchup_interval_seconds: int = DEFAULT_CATCHUP_INTERVAL_SECONDS  # between catch-up sensor ticks

    @classmethod
    def from_env(cls, environ: Environ = os.environ) -> "DefinitionSettings":
        """Read and check all three; a value that is not usable raises a ConfigError naming its variable."""
        return cls(
            partitions_start=partitions_start(environ),
            nightly_load_time=nightly_load_time(environ),
            catchup_interval_seconds=catchup_interval_seconds(environ),
        )


def dagster_home(environ: Environ = os.environ) -> str | None:
    return text(DAGSTER_HOME_ENV, environ) or None


def deployment(environ: Environ = os.environ) -> str:
    """SUGARS_DEPLOYMENT: `single-host` (the default) or `multi-host`."""
    name = text(DEPLOYMENT_ENV, environ).lower() or DEPLOYMENTS[0]
    if name not in DEPLOYMENTS:
        raise ConfigError(f"{DEPLOYMENT_ENV}={name!r} is not a deployment; choose one of {list(DEPLOYMENTS)}")
    return name


# Every environment variable a run reads: this package's settings, the instance's (deploy/dagster.yaml and
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
