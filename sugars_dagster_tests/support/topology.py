"""The production topology without Docker: the shipped deploy/dagster.yaml and workspace.yaml, a code
server, the webserver and the daemon, against the real PostgreSQL. Only host names and ports
(and the offline source) differ from docker-compose.yml, through the environment."""

import json
import shutil
import subprocess
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import sqlalchemy as sa

from sugars_dagster.warehouse.resource import Warehouse
from sugars_dagster_tests.support.cli import FAST_EVENT_SETTINGS, instance_at
from sugars_dagster_tests.support.environment import product_environment
from sugars_dagster_tests.support.pg import create_database, drop_database
from sugars_dagster_tests.support.processes import BIN, ROOT, free_port, process, wait_for


@dataclass
class Topology:
    root: Path
    env: dict[str, str]
    ui_port: int
    code_port: int
    warehouse_url: str
    stack: ExitStack = field(default_factory=ExitStack)
    processes: dict[str, ExitStack] = field(default_factory=dict)
    _pids: dict[str, int] = field(default_factory=dict)

    @property
    def ui_url(self) -> str:
        return f"http://127.0.0.1:{self.ui_port}"

    @property
    def warehouse(self) -> Warehouse:
        return Warehouse(url=self.warehouse_url)

    def run(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """A `dagster` CLI command against this deployment (the shipped workspace.yaml)."""
        return subprocess.run(
            [str(BIN / "dagster"), *args], env=self.env, cwd=self.root, capture_output=True, text=True, timeout=timeout
        )

    def graphql(self, query: str, variables: dict | None = None) -> dict:
        request = urllib.request.Request(
            f"{self.ui_url}/graphql",
            data=json.dumps({"query": query, "variables": variables or {}}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)

    def _start(self, name: str, args: list[str]) -> None:
        stack = ExitStack()
        child = stack.enter_context(process(args, self.env, self.root / f"{name}.log"))
        self.processes[name] = stack
        self._pids[name] = child.pid

    def process_groups(self) -> set[int]:
        """The process groups of the running processes (each started in its own)."""
        return {stack_pid for stack_pid in self._pids.values()}

    def daemon_pid(self) -> int:
        """The daemon's process (and process group) id."""
        return self._pids["daemon"]

    def stop(self, name: str) -> None:
        self._pids.pop(name, None)
        self.processes.pop(name).close()

    def start_code_server(self) -> None:
        self._start(
            "code_server",
            [
                str(BIN / "dagster"),
                "code-server",
                "start",
                "-h",
                "127.0.0.1",
                "-p",
                str(self.code_port),
                "-m",
                "sugars_dagster.definitions",
            ],
        )
        wait_for(
            lambda: self.run("api", "grpc-health-check", "-p", str(self.code_port), timeout=30).returncode == 0,
            180,
            "the code server's gRPC health check",
            every=2,
        )

    def start_webserver(self, *extra: str) -> None:
        self._start(
            "webserver",
            [
                str(BIN / "dagster-webserver"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.ui_port),
                "-w",
                str(ROOT / "workspace.yaml"),
                *extra,
            ],
        )

        def healthy() -> bool:
            with urllib.request.urlopen(f"{self.ui_url}/server_info", timeout=5) as response:
                return response.status == 200

        wait_for(healthy, 180, "the webserver's /server_info", every=2)

    def start_daemon(self) -> None:
        self._start("daemon", [str(BIN / "dagster-daemon"), "run", "-w", str(ROOT / "workspace.yaml")])
        liveness = [str(BIN / "dagster-daemon"), "liveness-check"]
        wait_for(
            lambda: (
                subprocess.run(liveness, env=self.env, cwd=self.root, capture_output=True, timeout=60).returncode == 0
            ),
            180,
            "dagster-daemon liveness-check",
            every=3,
        )

    def close(self) -> None:
        for name in list(self.processes):
            self.stop(name)
        self.stack.close()

    @contextmanager
    def instance(self) -> Iterator[dg.DagsterInstance]:
        """The deployment's Dagster instance, loaded from its dagster.yaml (whose credentials
        come from the environment)."""
        instance_env = {k: v for k, v in self.env.items() if k.startswith(("DAGSTER_PG_", "DAGSTER_COMPUTE_LOGS_DIR"))}
        with instance_at(self.env["DAGSTER_HOME"], instance_env) as instance:
            yield instance


@contextmanager
def production_topology(
    root: Path,
    server_url: str,
    *,
    start_daemon: bool = True,
    storage_timezone: str | None = None,
    warehouse_port: int | None = None,
    **env: str,
) -> Iterator[Topology]:
    """Start the deployment; `start_daemon=False` leaves the daemon to the test (an outage),
    `storage_timezone` sets the storage database's TimeZone (Dagster expects UTC), and
    `warehouse_port` sends the product's warehouse connections to another port (a proxy the
    test can cut), while the test itself reaches the warehouse directly."""
    storage, warehouse = create_database(server_url, "sugars_topo"), create_database(server_url, "sugars_topo")
    product_warehouse = sa.make_url(warehouse).set(port=warehouse_port) if warehouse_port else sa.make_url(warehouse)
    if storage_timezone:
        _set_timezone(server_url, sa.make_url(storage).database, storage_timezone)
    url = sa.make_url(server_url)
    home = root / "dagster_home"
    home.mkdir(parents=True)
    shutil.copy(ROOT / "deploy" / "dagster.yaml", home / "dagster.yaml")  # as the image does
    code_port, ui_port = free_port(), free_port()
    topology = Topology(
        root=root,
        env=product_environment(
            FAST_EVENT_SETTINGS,
            {
                "TZ": "UTC",
                "DAGSTER_HOME": str(home),
                "DAGSTER_PG_HOST": url.host or "127.0.0.1",
                "DAGSTER_PG_PORT": str(url.port or 5432),
                "DAGSTER_PG_USER": url.username or "postgres",
                "DAGSTER_PG_PASSWORD": url.password or "",
                "DAGSTER_PG_DB": sa.make_url(storage).database,
                "SUGARS_CODE_SERVER_HOST": "127.0.0.1",
                "SUGARS_CODE_SERVER_PORT": str(code_port),
                "SUGARS_WAREHOUSE_URL": product_warehouse.render_as_string(hide_password=False),
                "SUGARS_DATA_DIR": str(root / "data"),
                # Step logs: written by whichever process runs a step, read by the webserver.
                "DAGSTER_COMPUTE_LOGS_DIR": str(root / "compute-logs"),
                # No internet here: the offline source instead of production's akshare.
                "SUGARS_SOURCE": "demo",
            },
            env,
        ),
        ui_port=ui_port,
        code_port=code_port,
        warehouse_url=warehouse,
    )
    try:
        # What the compose daemon does before it starts.
        assert topology.run("instance", "concurrency", "set", "market_warehouse", "1").returncode == 0
        topology.start_code_server()
        topology.start_webserver()
        if start_daemon:
            topology.start_daemon()
        yield topology
    finally:
        topology.close()
        Warehouse(url=warehouse).engine().dispose()
        drop_database(server_url, storage)
        drop_database(server_url, warehouse)


def _set_timezone(server_url: str, database: str, timezone: str) -> None:
    engine = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            # Both come from the test itself, quoted by the dialect (ALTER DATABASE takes no parameters).
            name = conn.dialect.identifier_preparer.quote(database)
            zone = sa.literal(timezone).compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True})
            conn.execute(sa.text(f"ALTER DATABASE {name} SET timezone TO {zone}"))
    finally:
        engine.dispose()
