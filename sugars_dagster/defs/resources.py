"""Resources chosen by the environment: which source, which warehouse."""

import os
from collections.abc import Mapping

import dagster as dg
import fsspec.utils
import sqlalchemy as sa

from sugars_dagster import settings
from sugars_dagster.defs.alerts import Alerter
from sugars_dagster.defs.catchup_policy import CatchupPolicy
from sugars_dagster.defs.market_calendar import MarketCalendar
from sugars_dagster.errors import ConfigError
from sugars_dagster.market.calendar.trading import read_closed_days_file
from sugars_dagster.settings import (
    ALERT_URLS_ENV,
    DEPLOYMENT_ENV,
    EXPORT_URL_ENV,
    WAREHOUSE_URL_ENV,
    int_setting,
)
from sugars_dagster.sources.akshare_source import AkshareSource
from sugars_dagster.sources.base import MarketSource
from sugars_dagster.sources.demo_source import DemoSource
from sugars_dagster.warehouse.export import MAX_RETENTION_DAYS, ExportTarget, Retention
from sugars_dagster.warehouse.resource import Warehouse


def source_from_env(environ: Mapping[str, str] = os.environ) -> MarketSource:
    """`akshare` (real data) unless SUGARS_SOURCE says `demo`; synthetic data is never a fallback."""
    if settings.source_name(environ) == "demo":
        return DemoSource()
    return AkshareSource(
        attempts=settings.source_attempts(environ), timeout_seconds=settings.source_timeout_seconds(environ)
    )


def default_warehouse_url(environ: Mapping[str, str] = os.environ) -> str:
    return f"sqlite:///{settings.data_dir(environ) / 'warehouse.sqlite'}"


def warehouse_from_env(environ: Mapping[str, str] = os.environ) -> Warehouse:
    """PostgreSQL (or any SQLAlchemy URL) from SUGARS_WAREHOUSE_URL, else a local SQLite file.

    The URL may carry a password, so it is read through EnvVar: resolved at launch, hidden in the UI.
    Runs on several hosts would each write a SQLite file of their own, so a multi-host deployment
    refuses anything but PostgreSQL, before anything runs.
    """
    url = settings.text(WAREHOUSE_URL_ENV, environ)
    if settings.deployment(environ) == "multi-host":
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
            "SUGARS_CATCHUP_GRACE_MINUTES",
            "grace_minutes",
            "the minutes after 02:00 before yesterday counts as missing",
        ),
        max_runs_per_tick=setting(
            "SUGARS_CATCHUP_MAX_RUNS", "max_runs_per_tick", "the runs one sensor tick may request"
        ),
        retry_minutes=setting(
            "SUGARS_CATCHUP_RETRY_MINUTES", "retry_minutes", "the first wait before a failing day is tried again"
        ),
        retry_ceiling_hours=setting(
            "SUGARS_CATCHUP_RETRY_CEILING_HOURS",
            "retry_ceiling_hours",
            "the longest wait between tries of a failing day",
        ),
    )


def alerter_from_env(environ: Mapping[str, str] = os.environ) -> Alerter:
    """Alert URLs often carry tokens, so they are read through EnvVar and hidden in the UI."""
    base_url = settings.ui_base_url(environ)
    if settings.is_set(ALERT_URLS_ENV, environ):
        return Alerter(urls=dg.EnvVar(ALERT_URLS_ENV), ui_base_url=base_url)
    return Alerter(urls="", ui_base_url=base_url)


def export_target_from_env(environ: Mapping[str, str] = os.environ) -> ExportTarget:
    """SUGARS_EXPORT_URL (a folder or an fsspec URL; may carry credentials, so read through
    EnvVar), else the `export` folder next to the default warehouse. A multi-host deployment needs
    an object store: a folder would hold each host's share of the backups."""
    url = settings.text(EXPORT_URL_ENV, environ)
    protocol = fsspec.utils.get_protocol(url) if url else "file"
    if settings.deployment(environ) == "multi-host" and protocol in {"file", "local", "memory"}:
        where = "is not set (a folder on one host)" if not url else f"is a {protocol} path on one host"
        raise ConfigError(
            f"{DEPLOYMENT_ENV}=multi-host needs an object-store export target that every host reaches "
            f"(s3://bucket/prefix); {EXPORT_URL_ENV} {where}"
        )
    if url:
        return ExportTarget(url=dg.EnvVar(EXPORT_URL_ENV))
    return ExportTarget(url=str(settings.data_dir(environ) / "export"))


def retention_from_env(environ: Mapping[str, str] = os.environ) -> Retention:
    return Retention(days=settings.retention_days(MAX_RETENTION_DAYS, environ))


def calendar_from_env(environ: Mapping[str, str] = os.environ) -> MarketCalendar:
    """SUGARS_CLOSED_DAYS_FILE, made absolute so that every process reads the same file, and
    read once here so that a missing or malformed file stops the code location from loading."""
    path = settings.closed_days_file(environ)
    if path is None:
        return MarketCalendar()
    read_closed_days_file(path)
    return MarketCalendar(closed_days_file=path)


def resources_from_env(environ: Mapping[str, str] = os.environ) -> dict[str, dg.ConfigurableResource]:
    """Every resource of the code location, keyed as the assets and sensors name them."""
    return {
        "source": source_from_env(environ),
        "warehouse": warehouse_from_env(environ),
        "catchup": catchup_policy_from_env(environ),
        "alerter": alerter_from_env(environ),
        "export": export_target_from_env(environ),
        "retention": retention_from_env(environ),
        "calendar": calendar_from_env(environ),
    }
