"""Past one machine: the compose files against the compose spec, runs in their own containers
(docker-compose.runs.yml) through Dagster's DockerRunLauncher with a recording Docker client,
step logs in S3-compatible storage, and the refusal of one-host storage in a multi-host deployment."""

import ast
import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa
import yaml

from sugars_dagster.defs.resources import export_target_from_env, warehouse_from_env
from sugars_dagster.errors import ConfigError
from sugars_dagster.settings import RUN_ENVIRONMENT
from sugars_dagster_tests.support.cli import FAST_EVENT_SETTINGS, instance_at
from sugars_dagster_tests.support.environment import product_environment
from sugars_dagster_tests.support.pg import create_database, drop_database, postgres_server_url
from sugars_dagster_tests.support.processes import BIN, ROOT

COMPOSE_FILES = ["docker-compose.yml", "docker-compose.runs.yml"]
PRODUCTION_INSTANCE = ROOT / "deploy" / "dagster.yaml"
DOCKER_RUNS_INSTANCE = ROOT / "deploy" / "docker-runs" / "dagster.yaml"
RECORDING_DOCKER = Path(__file__).resolve().parents[1] / "support" / "recording_docker"
ENV_NAME = re.compile(r"(SUGARS|DAGSTER|AWS)_[A-Z0-9_]+")


def check_compose(*paths: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.compose-spec", *map(str, paths)],
        capture_output=True,
        text=True,
    )


# --- the compose files -----------------------------------------------------------------------


def test_the_compose_files_follow_the_compose_spec() -> None:
    checked = check_compose(*(ROOT / name for name in COMPOSE_FILES))
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_a_misspelled_compose_key_fails_the_check(tmp_path) -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    misspelled = tmp_path / "docker-compose.yml"
    misspelled.write_text(text.replace("    healthcheck:\n", "    healtcheck:\n", 1))
    checked = check_compose(misspelled)
    assert checked.returncode == 1
    assert "'healtcheck' was unexpected" in checked.stdout


def test_the_dagster_processes_log_json() -> None:
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    for name in ("code-server", "webserver", "webserver-read-only", "daemon"):
        assert "--log-format json" in " ".join(services[name]["command"]), name


def test_step_logs_are_on_a_volume_the_webservers_read() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    logs_dir = services["code-server"]["environment"]["DAGSTER_COMPUTE_LOGS_DIR"]
    assert "compute-logs" in compose["volumes"]
    assert f"compute-logs:{logs_dir}" in services["code-server"]["volumes"]
    for name in ("webserver", "webserver-read-only"):
        assert f"compute-logs:{logs_dir}:ro" in services[name]["volumes"]
    instance = yaml.safe_load(PRODUCTION_INSTANCE.read_text())
    assert instance["compute_logs"]["config"]["base_dir"] == {"env": "DAGSTER_COMPUTE_LOGS_DIR"}


def test_only_the_daemon_and_the_webserver_reach_the_docker_engine() -> None:
    override = yaml.safe_load((ROOT / "docker-compose.runs.yml").read_text())["services"]
    with_socket = {
        name
        for name, service in override.items()
        if "/var/run/docker.sock:/var/run/docker.sock" in service.get("volumes", [])
    }
    # The daemon launches and monitors run containers; the webserver terminates them.
    assert with_socket == {"daemon", "webserver"}
    assert all(override[name]["group_add"] for name in with_socket)
    for name, service in override.items():
        assert service["environment"]["DAGSTER_HOME"] == "/opt/dagster/docker-runs", name
    assert (
        "COPY deploy/docker-runs/dagster.yaml /opt/dagster/docker-runs/dagster.yaml"
        in (ROOT / "Dockerfile").read_text()
    )


# --- the image -------------------------------------------------------------------------------


def test_the_image_installs_its_dependencies_before_it_copies_the_package() -> None:
    lines = (ROOT / "Dockerfile").read_text().splitlines()
    base = next(line for line in lines if line.startswith("FROM "))
    assert re.fullmatch(r"FROM python:3\.1[23]\.\d+-slim-\w+", base), base
    install = next(i for i, line in enumerate(lines) if "pip install -c constraints.txt -r" in line)
    copy_package = lines.index("COPY sugars_dagster ./sugars_dagster")
    assert install < copy_package
    assert "pip install --no-deps" in lines[copy_package + 1]


# --- what a run reads, and what reaches it -------------------------------------------------


def _names_read_by_the_package() -> set[str]:
    names = set()
    for path in (ROOT / "sugars_dagster").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and ENV_NAME.fullmatch(node.value):
                names.add(node.value)
    return names


def _env_references(node) -> set[str]:
    if isinstance(node, dict):
        found = {node["env"]} if set(node) == {"env"} else set()
        return found.union(*(_env_references(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(_env_references(value) for value in node))
    return set()


def test_every_variable_a_run_reads_is_in_the_forwarded_list() -> None:
    read = _names_read_by_the_package()
    assert {"SUGARS_WAREHOUSE_URL", "SUGARS_RETENTION_DAYS", "SUGARS_SOURCE_ATTEMPTS"} <= read  # the scan sees them
    # DAGSTER_HOME is the image's; a run's instance arrives with its command, not from there.
    # SUGARS_UI_PORT is read only by the status command, on the laptop that runs scripts/dev.
    missing = read - set(RUN_ENVIRONMENT) - {"DAGSTER_HOME", "SUGARS_UI_PORT"}
    assert not missing, f"read by sugars_dagster but not forwarded to runs: {sorted(missing)}"
    for instance_file in (PRODUCTION_INSTANCE, DOCKER_RUNS_INSTANCE):
        referenced = _env_references(yaml.safe_load(instance_file.read_text()))
        assert referenced, instance_file
        assert referenced <= set(RUN_ENVIRONMENT), f"{instance_file.name}: {sorted(referenced - set(RUN_ENVIRONMENT))}"
    assert len(set(RUN_ENVIRONMENT)) == len(RUN_ENVIRONMENT)


def test_the_docker_runs_instance_is_dagster_yaml_plus_the_launcher() -> None:
    base = yaml.safe_load(PRODUCTION_INSTANCE.read_text())
    docker_runs = yaml.safe_load(DOCKER_RUNS_INSTANCE.read_text())
    launcher = docker_runs.pop("run_launcher")
    assert docker_runs == base
    assert (launcher["module"], launcher["class"]) == ("sugars_dagster.run_launcher", "ForwardingDockerRunLauncher")
    # The run containers mount what the code server's container mounts (compose prefixes volume
    # names with the project's name), and the step logs' volume.
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    code_server_volumes = {f"{compose['name']}_{volume}" for volume in compose["services"]["code-server"]["volumes"]}
    assert set(launcher["config"]["container_kwargs"]["volumes"]) == code_server_volumes
    assert launcher["config"]["network"] == f"{compose['name']}_default"


@pytest.mark.postgres
@pytest.mark.cli
def test_the_docker_launcher_starts_a_container_that_runs_the_job_alone(tmp_path, monkeypatch) -> None:
    """The shipped launcher configuration, loaded by a real instance on PostgreSQL, launches two
    runs from the CLI through a recording Docker client. One container's command then runs as a
    process of its own, with nothing but the container's environment (and the image's): the
    code server that served the launch is gone by then, as after a redeploy. The other run is
    terminated through the launcher, as the webserver does."""
    server = postgres_server_url()
    storage, warehouse = create_database(server, "sugars_docker"), create_database(server, "sugars_docker")
    try:
        home = tmp_path / "home"
        home.mkdir()
        # Launch at once instead of through the daemon's queue: the launcher is what is tested.
        instance_yaml = yaml.safe_load(DOCKER_RUNS_INSTANCE.read_text())
        instance_yaml["run_coordinator"] = {"module": "dagster.core.run_coordinator", "class": "DefaultRunCoordinator"}
        (home / "dagster.yaml").write_text(yaml.safe_dump(instance_yaml))
        record = tmp_path / "docker.jsonl"
        url = sa.make_url(storage)
        settings = FAST_EVENT_SETTINGS | {
            "DAGSTER_PG_HOST": url.host or "127.0.0.1",
            "DAGSTER_PG_PORT": str(url.port or 5432),
            "DAGSTER_PG_USER": url.username or "postgres",
            "DAGSTER_PG_PASSWORD": url.password or "",
            "DAGSTER_PG_DB": url.database,
            "DAGSTER_COMPUTE_LOGS_DIR": str(tmp_path / "compute-logs"),
            "SUGARS_RUN_IMAGE": "sugars-dagster:0.1.0",
            "SUGARS_SOURCE": "demo",
            "SUGARS_WAREHOUSE_URL": warehouse,
            "SUGARS_DATA_DIR": str(tmp_path / "data"),
            "SUGARS_RETENTION_DAYS": "3650",
        }
        env = product_environment(
            settings,
            {
                "DAGSTER_HOME": str(home),
                "PYTHONPATH": str(RECORDING_DOCKER),
                "SUGARS_TEST_DOCKER_RECORD": str(record),
                "NOT_FOR_RUNS": "stays on the host",
            },
            without=("AWS_",),
        )
        launches = [
            subprocess.Popen(
                [
                    str(BIN / "dagster"),
                    "job",
                    "launch",
                    "-m",
                    "sugars_dagster.definitions",
                    "-j",
                    "market_daily_job",
                    "--tags",
                    json.dumps({"dagster/partition": day}),
                ],
                env=env,
                cwd=tmp_path,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for day in ("2025-11-27", "2025-11-28")
        ]
        for launch in launches:
            _, stderr = launch.communicate(timeout=120)
            assert launch.returncode == 0, stderr[-3000:]

        calls = [json.loads(line) for line in record.read_text().splitlines()]
        created = {call["labels"]["dagster/run_id"]: call for call in calls if call["call"] == "create"}
        assert len(created) == 2 and sum(call["call"] == "start" for call in calls) == 2
        for container in created.values():
            assert container["image"] == "sugars-dagster:0.1.0"
            assert container["network"] == "sugars-dagster_default"
            assert container["volumes"] == [
                "sugars-dagster_backups:/opt/dagster/data/export",
                "sugars-dagster_compute-logs:/opt/dagster/compute-logs",
            ]
            assert container["auto_remove"] is True
            assert container["command"][:3] == ["dagster", "api", "execute_run"]
            # Exactly the settings that are set, whatever else the daemon's environment holds;
            # the unset optional ones (SUGARS_EXPORT_URL, AWS_*) stay unset instead of failing the launch.
            assert container["environment"] == settings | {"DAGSTER_RUN_JOB_NAME": "market_daily_job"}

        for key, value in settings.items():  # the launcher's configuration reads them when first used
            monkeypatch.setenv(key, value)
        with instance_at(home) as instance:
            runs = {run.tags["dagster/partition"]: run for run in instance.get_runs()}
            to_run, to_terminate = runs["2025-11-28"], runs["2025-11-27"]
            assert to_run.tags["docker/container_id"] == f"container-of-{to_run.run_id}"

            # The container's process: the image's variables plus the ones the launcher passed.
            container = created[to_run.run_id]
            image_env = {"PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(tmp_path), "DAGSTER_HOME": str(home), "TZ": "UTC"}
            executed = subprocess.run(
                container["command"],
                env=image_env | container["environment"],
                cwd=tmp_path,
                capture_output=True,
                text=True,
                timeout=180,
            )
            assert executed.returncode == 0, executed.stderr[-3000:]
            assert instance.get_run_by_id(to_run.run_id).status == dg.DagsterRunStatus.SUCCESS
            with sa.create_engine(warehouse).connect() as conn:
                assert (
                    conn.execute(sa.text("SELECT count(*) FROM market_daily WHERE record_date = '2025-11-28'")).scalar()
                    == 1
                )
            # Its step logs landed where the webserver reads them.
            assert list((tmp_path / "compute-logs" / to_run.run_id).rglob("*.err"))

            # The webserver's side: terminate through the same launcher configuration.
            monkeypatch.setenv("SUGARS_TEST_DOCKER_RECORD", str(record))
            import docker.client

            monkeypatch.setattr(docker.client, "from_env", docker.client.from_env)  # restored afterwards
            spec = importlib.util.spec_from_file_location("recording_docker", RECORDING_DOCKER / "sitecustomize.py")
            spec.loader.exec_module(importlib.util.module_from_spec(spec))
            assert instance.run_launcher.terminate(to_terminate.run_id) is True
            assert instance.get_run_by_id(to_terminate.run_id).status == dg.DagsterRunStatus.CANCELING
        stopped = [json.loads(line) for line in record.read_text().splitlines()][-1]
        assert stopped == {"call": "stop", "id": f"container-of-{to_terminate.run_id}"}
    finally:
        drop_database(server, storage)
        drop_database(server, warehouse)


# --- one host or several -------------------------------------------------------------------


MULTI_HOST = {"SUGARS_DEPLOYMENT": "multi-host"}


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({}, "SUGARS_WAREHOUSE_URL is not set (a SQLite file on one host)"),
        ({"SUGARS_WAREHOUSE_URL": "sqlite:////srv/warehouse.sqlite"}, "SUGARS_WAREHOUSE_URL is a sqlite URL"),
    ],
)
def test_a_multi_host_deployment_refuses_a_sqlite_warehouse(environ, message) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)) as refused:
        warehouse_from_env(MULTI_HOST | environ)
    assert "SUGARS_DEPLOYMENT=multi-host needs a PostgreSQL warehouse" in str(refused.value)


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({}, "SUGARS_EXPORT_URL is not set (a folder on one host)"),
        ({"SUGARS_EXPORT_URL": "/srv/backups"}, "SUGARS_EXPORT_URL is a file path on one host"),
        ({"SUGARS_EXPORT_URL": "memory://backups"}, "SUGARS_EXPORT_URL is a memory path on one host"),
    ],
)
def test_a_multi_host_deployment_refuses_a_local_export_target(environ, message) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        export_target_from_env(MULTI_HOST | environ)


def test_a_multi_host_deployment_takes_postgresql_and_an_object_store() -> None:
    environ = MULTI_HOST | {
        "SUGARS_WAREHOUSE_URL": "postgresql+psycopg://sugars@db/market",
        "SUGARS_EXPORT_URL": "s3://backups/sugars",
    }
    warehouse_from_env(environ)
    export_target_from_env(environ)
    with pytest.raises(ConfigError, match="is not a deployment"):
        warehouse_from_env({"SUGARS_DEPLOYMENT": "cluster"})


def test_the_code_location_does_not_load_with_one_host_storage_in_a_multi_host_deployment(tmp_path) -> None:
    """What a pod or a run container sees when the settings are wrong: the load fails, naming why."""
    loaded = subprocess.run(
        [sys.executable, "-c", "from sugars_dagster.definitions import defs; defs()"],
        env=product_environment(
            {"SUGARS_DEPLOYMENT": "multi-host", "SUGARS_SOURCE": "demo", "SUGARS_DATA_DIR": str(tmp_path)}
        ),
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert loaded.returncode != 0
    assert "SUGARS_DEPLOYMENT=multi-host needs a PostgreSQL warehouse" in loaded.stderr


# --- Kubernetes: Dagster's Helm chart --------------------------------------------------------


HELM_VALUES = yaml.safe_load((ROOT / "deploy" / "helm" / "values.yaml").read_text())


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _snake_keys(node):
    if isinstance(node, dict):
        return {_snake(key): _snake_keys(value) for key, value in node.items()}
    return node


def test_the_helm_values_make_the_instance_dagster_yaml_makes() -> None:
    instance = yaml.safe_load(PRODUCTION_INSTANCE.read_text())
    daemon = HELM_VALUES["dagsterDaemon"]
    assert _snake_keys(daemon["runRetries"]) == instance["run_retries"]
    assert _snake_keys(daemon["runMonitoring"]) == instance["run_monitoring"]
    concurrency = HELM_VALUES["concurrency"]
    assert concurrency["enabled"] is True
    assert _snake_keys(concurrency["pools"]) == instance["concurrency"]["pools"]
    assert _snake_keys(concurrency["runs"]) == instance["concurrency"]["runs"]
    assert (
        HELM_VALUES["retention"]["schedule"]["purgeAfterDays"] == instance["retention"]["schedule"]["purge_after_days"]
    )
    assert HELM_VALUES["retention"]["sensor"]["purgeAfterDays"] == instance["retention"]["sensor"]["purge_after_days"]
    assert HELM_VALUES["telemetry"] == instance["telemetry"]
    storage = instance["storage"]["postgres"]["postgres_db"]
    assert HELM_VALUES["postgresql"]["postgresqlScheme"] == storage["scheme"]
    assert HELM_VALUES["postgresql"]["postgresqlParams"] == storage["params"]
    assert HELM_VALUES["postgresql"]["enabled"] is False and HELM_VALUES["runLauncher"]["type"] == "K8sRunLauncher"


def test_the_helm_code_location_is_this_image_in_a_multi_host_deployment() -> None:
    [deployment] = HELM_VALUES["dagster-user-deployments"]["deployments"]
    assert deployment["dagsterApiGrpcArgs"][:2] == ["-m", "sugars_dagster.definitions"]
    assert "--log-format" in deployment["dagsterApiGrpcArgs"]
    env = {item["name"]: item["value"] for item in deployment["env"]}
    assert env["SUGARS_DEPLOYMENT"] == "multi-host"
    assert set(env) - {"TZ"} <= set(RUN_ENVIRONMENT)
    assert deployment["includeConfigInLaunchedRuns"]["enabled"] is True
    secret = {"name": "sugars-dagster-env"}
    for holder in (
        deployment,
        HELM_VALUES["runLauncher"]["config"]["k8sRunLauncher"],
        HELM_VALUES["dagsterWebserver"],
        HELM_VALUES["dagsterDaemon"],
    ):
        assert secret in holder["envSecrets"]


def test_step_logs_reach_s3_compatible_storage_as_the_helm_values_configure_them(tmp_path, monkeypatch) -> None:
    """dagster-aws's S3ComputeLogManager with the values' settings, against moto's S3 on loopback
    (the endpoint the backups are tested against): a step's stdout is uploaded and read back."""
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        for name, value in {
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_DEFAULT_REGION": "us-east-1",
        }.items():
            monkeypatch.setenv(name, value)
        values = HELM_VALUES["computeLogManager"]
        assert values["type"] == "S3ComputeLogManager"
        config = _snake_keys(values["config"]["s3ComputeLogManager"]) | {
            "endpoint_url": f"http://{host}:{port}",
            "use_ssl": False,
            "local_dir": str(tmp_path / "staging"),
        }
        boto3.client("s3", endpoint_url=config["endpoint_url"]).create_bucket(Bucket=config["bucket"])

        @dg.asset
        def says_hello() -> None:
            print("hello from a step")

        overrides = {
            "compute_logs": {
                "module": "dagster_aws.s3.compute_log_manager",
                "class": "S3ComputeLogManager",
                "config": config,
            }
        }
        with dg.instance_for_test(overrides=overrides) as instance:
            result = dg.materialize([says_hello], instance=instance)
            assert result.success
            [captured] = [
                event
                for event in instance.all_logs(result.run_id)
                if event.dagster_event and event.dagster_event.event_type == dg.DagsterEventType.LOGS_CAPTURED
            ]
            log_key = [result.run_id, "compute_logs", captured.dagster_event.logs_captured_data.file_key]
            assert "hello from a step" in instance.compute_log_manager.get_log_data(log_key).stdout.decode()
        listed = boto3.client("s3", endpoint_url=config["endpoint_url"]).list_objects_v2(Bucket=config["bucket"])[
            "Contents"
        ]
        assert any(
            item["Key"].startswith(f"{config['prefix']}/storage/{result.run_id}/compute_logs/")
            and item["Key"].endswith(".out")
            for item in listed
        )
    finally:
        server.stop()
