"""Resources chosen by the environment: which source, which warehouse."""

import os
from collections.abc import Mapping
from pathlib import Path

import dagster as dg
import fsspec.utils
import sqlalchemy as sa

from sugars_dagster.alerts import Alerter
from sugars_dagster.errors import ConfigError
from sugars_dagster.export import MAX_RETENTION_DAYS, ExportTarget, Retention
from sugars_dagster.market_calendar import MarketCalendar
from sugars_dagster.sensors.catchup import CatchupPolicy
from sugars_dagster.settings import int_setting
from sugars_dagster.sources.akshare_source import AkshareSource
from sugars_dagster.sources.base import MarketSource
from sugars_dagster.sources.demo_source import DemoSource
from sugars_dagster.trading_calendar import CLOSED_DAYS_FILE_ENV, read_closed_days_file
from sugars_dagster.warehouse.resource import Warehouse

SOURCE_ENV = "SUGARS_SOURCE"
WAREHOUSE_URL_ENV = "SUGARS_WAREHOUSE_URL"
DATA_DIR_ENV = "SUGARS_DATA_DIR"

ALERT_URLS_ENV = "SUGARS_ALERT_URLS"
EXPORT_URL_ENV = "SUGARS_EXPORT_URL"
UI_BASE_URL_ENV = "SUGARS_UI_BASE_URL"

DEPLOYMENT_ENV = "SUGARS_DEPLOYMENT"

DEFAULT_SOURCE = "akshare"
DEFAULT_DATA_DIR = "data"
# Runs on one host (the code server's container, or containers of one Docker engine sharing its
# volumes), or on several hosts (Kubernetes pods, or Docker engines that share no disk).
DEPLOYMENTS = ("single-host", "multi-host")

def source_from_env(environ: Mapping[str, str] = os.environ) -> MarketSource:
    """`akshare` (real data) unless SUGARS_SOURCE says `demo`; synthetic data is never a fallback."""
    name = environ.get(SOURCE_ENV, "").strip().lower() or DEFAULT_SOURCE
    if name == "demo":
        return DemoSource()
    if name == "akshare":
        return AkshareSource(
            attempts=int_setting(environ, "SUGARS_SOURCE_ATTEMPTS", 4, 1, 10, "the tries per source call"),
            timeout_seconds=int_setting(
                environ, "SUGARS_SOURCE_TIMEOUT_SECONDS", 60, 1, 600, "the deadline of one source call, in seconds"
            ),
        )
    raise ConfigError(f"{SOURCE_ENV}={name!r} is not a source; choose one of ['akshare', 'demo']")


def _data_dir(environ: Mapping[str, str]) -> Path:
    return Path(environ.get(DATA_DIR_ENV, "").strip() or DEFAULT_DATA_DIR).resolve()


def deployment_from_env(environ: Mapping[str, str] = os.environ) -> str:
    """SUGARS_DEPLOYMENT: `single-host` (the default) or `multi-host`."""
    name = environ.get(DEPLOYMENT_ENV, "").strip().lower() or DEPLOYMENTS[0]
    if name not in DEPLOYMENTS:
        raise ConfigError(f"{DEPLOYMENT_ENV}={name!r} is not a deployment; choose one of {list(DEPLOYMENTS)}")
    return name


def default_warehouse_url(environ: Mapping[str, str] = os.environ) -> str:
    return f"sqlite:///{_data_dir(environ) / 'warehouse.sqlite'}"


def warehouse_from_env(environ: Mapping[str, str] = os.environ) -> Warehouse:
    """PostgreSQL (or any SQLAlchemy URL) from SUGARS_WAREHOUSE_URL, else a local SQLite file.

    The URL may carry a password, so it is read through EnvVar: resolved at launch, hidden in the UI.
    Runs on several hosts would each write a SQLite file of their own, so a multi-host deployment
    refuses anything but PostgreSQL, before anything runs.
    """
    url = environ.get(WAREHOUSE_URL_ENV, "").strip()
    if deployment_from_env(environ) == "multi-host":
        backend = _backend(url) if url else "sqlite"
        if backend != "postgresql":
            raise ConfigError(
                f"{DEPLOYMENT_ENV}=multi-host needs a PostgreSQL warehouse that every host reaches; "
                f"{WAREHOUSE_URL_ENV} {'is not set (a SQLite file on one host)' if not url else f'is a {backend} URL'}"
            )
    if url:
        return Warehouse(url=dg.EnvVar(WAREHOUSE_URL_ENV))
    return Warehouse(url=default_warehouse_url(environ))


def _backend(url: str) -> str:
    try:
        return sa.make_url(url).get_backend_name()
    except sa.exc.ArgumentError:
        raise ConfigError(f"{WAREHOUSE_URL_ENV} is not a SQLAlchemy URL") from None


def catchup_policy_from_env(environ: Mapping[str, str] = os.environ) -> CatchupPolicy:
    """The catch-up sensor's settings, each within the bounds of `CatchupPolicy`'s fields."""

    def setting(name: str, field: str, meaning: str) -> int:
        info = CatchupPolicy.model_fields[field]
        low = next(item.ge for item in info.metadata if hasattr(item, "ge"))
        high = next(item.le for item in info.metadata if hasattr(item, "le"))
        return int_setting(environ, name, info.default, low, high, meaning)

    return CatchupPolicy(
        lookback_days=setting(
            "SUGARS_CATCHUP_LOOKBACK_DAYS", "lookback_days", "the days the catch-up sensor checks (0 = all history)"
        ),
        grace_minutes=setting(
            "SUGARS_CATCHUP_GRACE_MINUTES", "grace_minutes", "the minutes after 02:00 before yesterday counts as missing"
        ),
        max_runs_per_tick=setting("SUGARS_CATCHUP_MAX_RUNS", "max_runs_per_tick", "the runs one sensor tick may request"),
        retry_minutes=setting(
            "SUGARS_CATCHUP_RETRY_MINUTES", "retry_minutes", "the first wait before a failing day is tried again"
        ),
        retry_ceiling_hours=setting(
            "SUGARS_CATCHUP_RETRY_CEILING_HOURS", "retry_ceiling_hours", "the longest wait between tries of a failing day"
        ),
    )


def alerter_from_env(environ: Mapping[str, str] = os.environ) -> Alerter:
    """Alert URLs often carry tokens, so they are read through EnvVar and hidden in the UI."""
    base_url = environ.get(UI_BASE_URL_ENV, "").strip() or "http://127.0.0.1:3000"
    if environ.get(ALERT_URLS_ENV, "").strip():
        return Alerter(urls=dg.EnvVar(ALERT_URLS_ENV), ui_base_url=base_url)
    return Alerter(urls="", ui_base_url=base_url)


def export_target_from_env(environ: Mapping[str, str] = os.environ) -> ExportTarget:
    """SUGARS_EXPORT_URL (a folder or an fsspec URL; may carry credentials, so read through
    EnvVar), else the `export` folder next to the default warehouse. A multi-host deployment needs
    an object store: a folder would hold each host's share of the backups."""
    url = environ.get(EXPORT_URL_ENV, "").strip()
    protocol = fsspec.utils.get_protocol(url) if url else "file"
    if deployment_from_env(environ) == "multi-host" and protocol in {"file", "local", "memory"}:
        raise ConfigError(
            f"{DEPLOYMENT_ENV}=multi-host needs an object-store export target that every host reaches "
            f"(s3://bucket/prefix); {EXPORT_URL_ENV} {'is not set (a folder on one host)' if not url else f'is a {protocol} path on one host'}"
        )
    if url:
        return ExportTarget(url=dg.EnvVar(EXPORT_URL_ENV))
    return ExportTarget(url=str(_data_dir(environ) / "export"))


def retention_from_env(environ: Mapping[str, str] = os.environ) -> Retention:
    return Retention(
        days=int_setting(environ, "SUGARS_RETENTION_DAYS", 0, 0, MAX_RETENTION_DAYS, "the market days the warehouse keeps (0 = all)")
    )


def calendar_from_env(environ: Mapping[str, str] = os.environ) -> MarketCalendar:
    """SUGARS_CLOSED_DAYS_FILE, made absolute so that every process reads the same file, and
    read once here so that a missing or malformed file stops the code location from loading."""
    raw = environ.get(CLOSED_DAYS_FILE_ENV, "").strip()
    if not raw:
        return MarketCalendar()
    path = str(Path(raw).resolve())
    read_closed_days_file(path)
    return MarketCalendar(closed_days_file=path)
