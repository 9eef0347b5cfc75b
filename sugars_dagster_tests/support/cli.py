"""Run the `dagster` CLI the way a user does, against a throwaway instance and warehouse."""

import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import sqlalchemy as sa

from sugars_dagster_tests.support.environment import product_environment

DAGSTER = str(Path(sys.executable).with_name("dagster"))

# The two settings the README asks for: batched event writes, one planned event per range run.
FAST_EVENT_SETTINGS = {"DAGSTER_EVENT_BATCH_SIZE": "1000", "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS": "true"}


def postgres_instance_yaml(database_url: str) -> str:
    url = sa.make_url(database_url)
    return (
        "telemetry:\n  enabled: false\n"
        "storage:\n  postgres:\n    postgres_db:\n"
        f'      username: {url.username}\n      password: "{url.password or ""}"\n'
        f"      hostname: {url.host}\n      port: {url.port or 5432}\n      db_name: {url.database}\n"
        "      scheme: postgresql+psycopg2\n"
    )


@dataclass
class CliInstance:
    """A DAGSTER_HOME and the environment a user would have set for the product."""

    home: Path
    env: dict[str, str]

    @classmethod
    def create(cls, root: Path, instance_yaml: str = "telemetry:\n  enabled: false\n", **env: str) -> "CliInstance":
        home = root / "dagster_home"
        home.mkdir(parents=True)
        (home / "dagster.yaml").write_text(instance_yaml)
        return cls(
            home,
            product_environment(
                {"DAGSTER_HOME": str(home), "SUGARS_SOURCE": "demo", "SUGARS_DATA_DIR": str(root / "data")}, env
            ),
        )

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        # From the instance's own folder: in the repository root Dagster's CLI would read `.env`,
        # which points every command at the local instance.
        return subprocess.run(
            [DAGSTER, *args], env=self.env, cwd=self.home, capture_output=True, text=True, timeout=600, check=False
        )

    def materialize(self, *partition_args: str) -> subprocess.CompletedProcess[str]:
        return self.run(*materialize_args(*partition_args))


def materialize_args(*partition_args: str) -> list[str]:
    """`dagster asset materialize` of the whole graph, as the README writes it."""
    return ["asset", "materialize", "-m", "sugars_dagster.definitions", "--select", "*market_daily", *partition_args]


@contextmanager
def instance_at(home: Path | str, env: Mapping[str, str] = {}) -> Iterator[dg.DagsterInstance]:  # noqa: B006
    """Load the instance of DAGSTER_HOME `home` in this process, with `env` (and DAGSTER_HOME)
    set while its dagster.yaml is read: it may take values from the environment."""
    wanted = {**env, "DAGSTER_HOME": str(home)}
    saved = {key: os.environ.get(key) for key in wanted}
    os.environ.update(wanted)
    try:
        with dg.DagsterInstance.from_config(str(home)) as instance:
            yield instance
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
