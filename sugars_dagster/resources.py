"""Resources chosen by the environment: which source, which warehouse."""

import os
from collections.abc import Mapping
from pathlib import Path

import dagster as dg

from sugars_dagster.errors import ConfigError
from sugars_dagster.sources.akshare_source import AkshareSource
from sugars_dagster.sources.base import MarketSource
from sugars_dagster.sources.demo_source import DemoSource
from sugars_dagster.warehouse.resource import Warehouse

SOURCE_ENV = "SUGARS_SOURCE"
WAREHOUSE_URL_ENV = "SUGARS_WAREHOUSE_URL"
DATA_DIR_ENV = "SUGARS_DATA_DIR"

DEFAULT_SOURCE = "akshare"
DEFAULT_DATA_DIR = "data"

_SOURCES: dict[str, type[MarketSource]] = {"akshare": AkshareSource, "demo": DemoSource}


def source_from_env(environ: Mapping[str, str] = os.environ) -> MarketSource:
    """`akshare` (real data) unless SUGARS_SOURCE says `demo`; synthetic data is never a fallback."""
    name = environ.get(SOURCE_ENV, "").strip().lower() or DEFAULT_SOURCE
    if name not in _SOURCES:
        raise ConfigError(f"{SOURCE_ENV}={name!r} is not a source; choose one of {sorted(_SOURCES)}")
    return _SOURCES[name]()


def default_warehouse_url(environ: Mapping[str, str] = os.environ) -> str:
    data_dir = Path(environ.get(DATA_DIR_ENV, "").strip() or DEFAULT_DATA_DIR).resolve()
    return f"sqlite:///{data_dir / 'warehouse.sqlite'}"


def warehouse_from_env(environ: Mapping[str, str] = os.environ) -> Warehouse:
    """PostgreSQL (or any SQLAlchemy URL) from SUGARS_WAREHOUSE_URL, else a local SQLite file.

    The URL may carry a password, so it is read through EnvVar: resolved at launch, hidden in the UI.
    """
    if environ.get(WAREHOUSE_URL_ENV, "").strip():
        return Warehouse(url=dg.EnvVar(WAREHOUSE_URL_ENV))
    return Warehouse(url=default_warehouse_url(environ))
