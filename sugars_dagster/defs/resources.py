"""Resources chosen by the environment: which source, which warehouse."""

import os
from collections.abc import Mapping

import dagster as dg

from sugars_dagster import settings
from sugars_dagster.defs.alerts import Alerter
from sugars_dagster.defs.catchup_policy import CatchupPolicy
from sugars_dagster.defs.market_calendar import MarketCalendar
from sugars_dagster.market.calendar.trading import read_closed_days_file
from sugars_dagster.settings import (
    ALERT_URLS_ENV,
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
    """
    if settings.is_set(WAREHOUSE_URL_ENV, environ):
        return Warehouse(url=dg.EnvVar(WAREHOUSE_URL_ENV))
    return Warehouse(url=default_warehouse_url(environ))


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
    base_url = settings.ui_base_url(environ)
    if settings.is_set(ALERT_URLS_ENV, environ):
        return Alerter(urls=dg.EnvVar(ALERT_URLS_ENV), ui_base_url=base_url)
    return Alerter(urls="", ui_base_url=base_url)


def export_target_from_env(environ: Mapping[str, str] = os.environ) -> ExportTarget:
    """SUGARS_EXPORT_URL (a folder or an fsspec URL; may carry credentials, so read through
    EnvVar), else the `export` folder next to the default warehouse."""
    if settings.is_set(EXPORT_URL_ENV, environ):
        return ExportTarget(url=dg.EnvVar(EXPORT_URL_ENV))
    return ExportTarget(url=str(settings.data_dir(environ) / "export"))


def retention_from_env(environ: Mapping[str, str] = os.environ) -> Retention:
    return Retention(
        days=settings.retention_days(MAX_RETENTION_DAYS, environ)
    )


def calendar_from_env(environ: Mapping[str, str] = os.environ) -> MarketCalendar:
    """SUGARS_CLOSED_DAYS_FILE, made absolute so that every process reads the same file, and
    read once here so that a missing or malformed file stops the code location from loading."""
    path = settings.closed_days_file(environ)
    if path is None:
        return MarketCalendar()
    read_closed_days_file(path)
    return MarketCalendar(closed_days_file=path)
