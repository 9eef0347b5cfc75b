"""The production deployment: docker-compose.yml's promises, and every way users drive the
product, end to end against the same processes and configuration files on a real PostgreSQL."""

import datetime as dt
import ipaddress
import json
import os
import re
import subprocess
from pathlib import Path

import dagster as dg
import pytest
import yaml

from sugars_dagster.market.calendar import trading as trading_calendar
from sugars_dagster.status import etl_status
from sugars_dagster_tests.support.browser import browser_page, open_ui, screenshot
from sugars_dagster_tests.support.pg import postgres_server_url
from sugars_dagster_tests.support.processes import ROOT, free_port, wait_for
from sugars_dagster_tests.support.topology import Topology, production_topology

D = dt.date
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
CORE = {"postgres", "code-server", "webserver", "daemon"}


# --- docker-compose.yml --------------------------------------------------------------------


def test_compose_runs_the_four_services_each_with_a_health_check() -> None:
    assert set(SERVICES) >= CORE
    optional = set(SERVICES) - CORE
    assert optional == {"webserver-read-only"} and SERVICES["webserver-read-only"]["profiles"] == ["read-only"]
    checks = {name: " ".join(SERVICES[name]["healthcheck"]["test"]) for name in CORE}
    assert "pg_isready" in checks["postgres"]
    assert "dagster api grpc-health-check -p 4000" in checks["code-server"]
    assert "/server_info" in checks["webserver"]
    assert "dagster-daemon liveness-check" in checks["daemon"]
    for name in CORE:
        assert SERVICES[name]["restart"] == "unless-stopped"
    for name, upstream in {"code-server": "postgres", "webserver": "code-server", "daemon": "code-server"}.items():
        assert SERVICES[name]["depends_on"][upstream]["condition"] == "service_healthy"


def test_compose_serves_the_definitions_and_runs_one_daemon() -> None:
    assert "sugars_dagster.definitions" in SERVICES["code-server"]["command"]
    assert SERVICES["code-server"]["command"][:3] == ["dagster", "code-server", "start"]
    assert "dagster-daemon run" in " ".join(SERVICES["daemon"]["command"])
    assert "deploy" not in SERVICES["daemon"] and "scale" not in SERVICES["daemon"]  # a singleton


def test_compose_publishes_only_the_ui_and_only_on_loopback() -> None:
    published = {name: service.get("ports", []) for name, service in SERVICES.items() if service.get("ports")}
    assert set(published) == {"webserver", "webserver-read-only"}
    for ports in published.values():
        assert all(str(port).startswith("127.0.0.1:") for port in ports), ports
    assert "--read-only" in SERVICES["webserver-read-only"]["command"]


def test_compose_mounts_no_docker_socket_and_keeps_postgres_on_a_volume() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    assert "docker.sock" not in text
    assert "postgres-data:/var/lib/postgresql/data" in SERVICES["postgres"]["volumes"]
    assert "postgres-data" in COMPOSE["volumes"]


def test_compose_holds_no_secret_and_pins_what_it_runs() -> None:
    def environments():
        for service in SERVICES.values():
            yield service.get("environment", {})

    for environment in environments():
        for key, value in environment.items():
            if re.search(r"PASSWORD|SECRET|TOKEN|WAREHOUSE_URL", key):
                assert str(value).startswith("${"), f"{key} must come from .env, not the file"
    assert SERVICES["code-server"]["environment"]["SUGARS_SOURCE"] == "akshare"
    image = SERVICES["postgres"]["image"]
    assert re.fullmatch(r"postgres:\d+\.\d+-\w+", image), image
    assert all("latest" not in str(service.get("image", "")) for service in SERVICES.values())
    # TZ: the containers and PostgreSQL keep UTC, which Dagster's storage expects.
    assert SERVICES["postgres"]["environment"]["TZ"] == "UTC" and "timezone=UTC" in SERVICES["postgres"]["command"]
    assert SERVICES["daemon"]["environment"]["TZ"] == "UTC"
    committed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    # Production's secrets live in deploy/compose.env, never committed; the committed .env at the
    # root holds only the local instance's settings, which must never reach a container.
    assert "deploy/compose.env" not in committed and "deploy/compose.env.example" in committed
    assert [entry["path"] for entry in SERVICES["code-server"]["env_file"]] == ["deploy/compose.env"]
    example = dict(
        line.split("=", 1)
        for line in (ROOT / "deploy" / "compose.env.example").read_text().splitlines()
        if "=" in line and not line.startswith("#")
    )
    assert example["POSTGRES_PASSWORD"] == "" and example["SUGARS_WAREHOUSE_URL"] == ""


def test_the_image_installs_locked_packages_and_ships_the_instance_files() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:\d+\.\d+\.\d+-slim-\w+$", dockerfile, re.MULTILINE)
    assert "pip install -c constraints.txt" in dockerfile
    assert "COPY deploy/dagster.yaml workspace.yaml /opt/dagster/home/" in dockerfile
    assert "USER dagster" in dockerfile


# --- the topology, end to end ---------------------------------------------------------------


@pytest.fixture(scope="module")
def topology(tmp_path_factory) -> Topology:
    server = postgres_server_url()
    with production_topology(tmp_path_factory.mktemp("topology"), server) as deployment:
        # The sources land once, as the nightly job would, so that UI runs of market_daily alone
        # have raw data to build from.
        loaded = deployment.run(
            "asset",
            "materialize",
            "-m",
            "sugars_dagster.definitions",
            "--select",
            "*market_daily",
            "--partition",
            "2025-11-28",
        )
        assert loaded.returncode == 0, loaded.stderr[-3000:]
        yield deployment


def loaded_days(topology: Topology, first: dt.date, last: dt.date) -> list[dt.date]:
    return sorted(topology.warehouse.market_daily_dates(first, last))


def runs(topology: Topology, **filters) -> list[dg.DagsterRun]:
    with topology.instance() as instance:
        return list(instance.get_runs(filters=dg.RunsFilter(**filters)))


pytestmark = [pytest.mark.postgres, pytest.mark.cli]


def test_health_checks_pass_and_nothing_listens_beyond_loopback(topology: Topology) -> None:
    assert subprocess.run(["pg_isready", "-h", "127.0.0.1", "-p", "5432"], capture_output=True).returncode == 0
    assert topology.run("api", "grpc-health-check", "-p", str(topology.code_port)).returncode == 0
    import urllib.request

    with urllib.request.urlopen(f"{topology.ui_url}/server_info", timeout=10) as response:
        assert json.load(response)["dagster_webserver_version"] == "1.13.27"
    liveness = subprocess.run(
        [str(Path(os.sys.executable).with_name("dagster-daemon")), "liveness-check"],
        env=topology.env,
        cwd=topology.root,
        capture_output=True,
    )
    assert liveness.returncode == 0
    listening = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True, check=True).stdout.splitlines()
    groups = {pid for pid in topology.process_groups()}
    ours = [
        line
        for line in listening
        if any(os.getpgid(int(pid)) in groups for pid in re.findall(r"pid=(\d+)", line) if _alive(int(pid)))
    ]
    assert len(ours) >= 2  # the code server and the webserver
    assert all(_loopback(line.split()[3]) for line in ours), ours


def _loopback(address: str) -> bool:
    host = address.rsplit(":", 1)[0].strip("[]")
    parsed = ipaddress.ip_address(host)
    mapped = getattr(parsed, "ipv4_mapped", None)
    return (mapped or parsed).is_loopback


def _alive(pid: int) -> bool:
    try:
        os.getpgid(pid)
        return True
    except ProcessLookupError:
        return False


def test_ui_materializes_one_partition(topology: Topology) -> None:
    day = "2025-12-08"
    with browser_page() as page:
        open_ui(page, f"{topology.ui_url}/assets/market_daily")
        page.get_by_role("button", name="Materialize…").click()
        dialog = page.get_by_role("dialog")
        dialog.get_by_text("Show all partitions").click()
        keys = dialog.get_by_placeholder("ex: 2006-01-06", exact=False)
        keys.fill(day)
        keys.press("Enter")
        dialog.get_by_text("1 partition", exact=True).wait_for()
        dialog.get_by_role("button", name="Launch 1 run").click()
        dialog.wait_for(state="hidden")  # closed once the launch went through
    wait_for(
        lambda: loaded_days(topology, D(2025, 12, 8), D(2025, 12, 8)) == [D(2025, 12, 8)],
        180,
        "the UI's run to load the day",
    )
    [run] = runs(topology, tags={"dagster/partition": day})
    wait_for(
        lambda: runs(topology, tags={"dagster/partition": day})[0].status == dg.DagsterRunStatus.SUCCESS,
        60,
        "the run to finish",
    )
    assert run.tags.get("dagster/from_ui") == "true"


def launch_backfill_of_five_days(dialog) -> None:
    """The launch dialog's *Launch backfill*, once it counts the five days typed."""
    dialog.get_by_text("5 partitions", exact=True).wait_for()
    dialog.get_by_role("button", name="Launch backfill").click()
    dialog.wait_for(state="hidden")


def range_runs_once_loaded(topology: Topology, first: dt.date, last: dt.date) -> list[dg.DagsterRun]:
    """Waits until every trading day of first..last is in market_daily; the runs over that range."""
    expected = trading_calendar.snapshot_calendar().sessions_between(first, last)
    wait_for(lambda: loaded_days(topology, first, last) == expected, 240, f"the backfill to load {first}..{last}")
    return [run for run in runs(topology) if run.tags.get("dagster/asset_partition_range_start") == first.isoformat()]


def test_ui_backfills_a_range_from_the_partitions_view(topology: Topology) -> None:
    with browser_page() as page:
        open_ui(page, f"{topology.ui_url}/assets/market_daily?view=partitions")
        keys = page.get_by_placeholder("ex: 2006-01-06", exact=False)
        keys.fill("[2025-12-15...2025-12-19]")
        keys.press("Enter")
        page.get_by_role("button", name="Materialize…").click()
        dialog = page.get_by_role("dialog")
        dialog.get_by_text("Show all partitions").click()
        launch_backfill_of_five_days(dialog)
    backfill_runs = range_runs_once_loaded(topology, D(2025, 12, 15), D(2025, 12, 19))
    assert len(backfill_runs) == 1 and "dagster/backfill" in backfill_runs[0].tags  # one run for the range


def test_ui_job_backfill_fetches_and_builds_a_range_in_one_run(topology: Topology) -> None:
    """The README's one-run way to fetch first: *Materialize all…* on market_daily_job's page
    launches a job backfill, one run for the range with the sources in it (an asset backfill of
    `*market_daily` would run the unpartitioned sources and the range separately)."""
    with browser_page() as page:
        open_ui(page, f"{topology.ui_url}/locations/sugars_dagster/jobs/market_daily_job")
        page.get_by_role("button", name="Materialize all…").click()
        dialog = page.get_by_role("dialog")
        dialog.get_by_text("Show all partitions").click()
        keys = dialog.get_by_placeholder("ex: 2006-01-06", exact=False)
        keys.fill("[2025-09-15...2025-09-19]")
        keys.press("Enter")
        launch_backfill_of_five_days(dialog)
    [run] = range_runs_once_loaded(topology, D(2025, 9, 15), D(2025, 9, 19))
    assert run.job_name == "market_daily_job" and "dagster/backfill" in run.tags
    assert run.tags["dagster/asset_partition_range_end"] == "2025-09-19"
    with topology.instance() as instance:
        materialized = {
            event.asset_materialization.asset_key.to_user_string()
            for event in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION)
        }
    assert {"zce_sugar_bars", "usd_cny_central_parity", "baltic_dry_index", "ice_raw_sugar_bars"} <= materialized
    assert {"mainland_trading_calendar", "market_daily"} <= materialized


RUN_LOGS = """
query ($runId: ID!) { logsForRun(runId: $runId) { __typename ... on EventConnection { events { __typename
  ... on LogsCapturedEvent { fileKey stepKeys } } } } }
"""
CAPTURED_LOGS = """
query ($logKey: [String!]!) { capturedLogs(logKey: $logKey) { stdout stderr } }
"""


def test_step_logs_of_a_queued_run_show_in_the_ui(topology: Topology) -> None:
    """The run is launched by the daemon and executed beside the code server; the webserver reads
    its steps' output back from the compute-log storage that deploy/dagster.yaml configures."""
    day = "2025-11-21"
    launched = topology.run(
        "job",
        "launch",
        "-w",
        str(ROOT / "workspace.yaml"),
        "-j",
        "market_daily_job",
        "--tags",
        json.dumps({"dagster/partition": day}),
    )
    assert launched.returncode == 0, launched.stderr[-3000:]
    wait_for(
        lambda: runs(topology, tags={"dagster/partition": day})[0].status == dg.DagsterRunStatus.SUCCESS,
        240,
        "the daemon to run it",
    )
    [run] = runs(topology, tags={"dagster/partition": day})
    events = topology.graphql(RUN_LOGS, {"runId": run.run_id})["data"]["logsForRun"]["events"]
    captured = [event for event in events if event["__typename"] == "LogsCapturedEvent"]
    assert captured and "market_daily" in {key for event in captured for key in event["stepKeys"]}
    logs = topology.graphql(CAPTURED_LOGS, {"logKey": [run.run_id, "compute_logs", captured[0]["fileKey"]]})["data"][
        "capturedLogs"
    ]
    # The step's own output: Dagster's log lines for each step it ran, as the UI shows them.
    assert "market_daily" in logs["stderr"] and "STEP_SUCCESS" in logs["stderr"], logs
    assert Path(topology.env["DAGSTER_COMPUTE_LOGS_DIR"], run.run_id).is_dir()


SCHEDULE_STATE = """
query { scheduleOrError(scheduleSelector: {repositoryLocationName: "sugars_dagster", repositoryName: "__repository__",
  scheduleName: "market_daily_schedule"}) { ... on Schedule { scheduleState { status } } } }
"""


def schedule_status(topology: Topology) -> str:
    return topology.graphql(SCHEDULE_STATE)["data"]["scheduleOrError"]["scheduleState"]["status"]


def test_ui_toggles_the_schedule_and_the_state_survives_a_restart(topology: Topology) -> None:
    page_url = f"{topology.ui_url}/locations/sugars_dagster/schedules/market_daily_schedule"
    assert schedule_status(topology) == "RUNNING"
    for wanted in ("STOPPED", "RUNNING"):
        with browser_page() as page:
            open_ui(page, page_url)
            toggle = page.locator("input[type=checkbox]")
            assert toggle.is_checked() is (wanted == "STOPPED")
            toggle.locator("xpath=..").click()  # the visible switch around the hidden input
            wait_for(lambda wanted=wanted: schedule_status(topology) == wanted, 30, f"the schedule to be {wanted}")
        topology.stop("webserver")
        topology.stop("daemon")
        topology.start_webserver()
        topology.start_daemon()
        assert schedule_status(topology) == wanted
        with browser_page() as page:
            open_ui(page, page_url)
            assert page.locator("input[type=checkbox]").is_checked() is (wanted == "RUNNING")


def test_ui_lineage_shows_the_sources_upstream_and_the_assets_downstream(topology: Topology) -> None:
    names = [
        "mainland_trading_calendar",
        "zce_sugar_bars",
        "usd_cny_central_parity",
        "baltic_dry_index",
        "ice_raw_sugar_bars",
        "market_daily",
        "sugar_import_margin",
        "market_daily_export",
        "warehouse_retention",
    ]
    with browser_page() as page:
        open_ui(page, f"{topology.ui_url}/assets/market_daily?view=lineage&lineageScope=neighbors&lineageDepth=4")
        for name in names:
            page.get_by_text(name, exact=True).first.wait_for()
        shot = screenshot(page, "lineage.png")
    assert shot.stat().st_size > 20_000


def test_cli_job_launch_is_queued_then_run_by_the_daemon(topology: Topology) -> None:
    day = "2025-11-20"
    launched = topology.run(
        "job",
        "launch",
        "-w",
        str(ROOT / "workspace.yaml"),
        "-j",
        "market_daily_job",
        "--tags",
        json.dumps({"dagster/partition": day}),
    )
    assert launched.returncode == 0, launched.stderr[-3000:]
    [run] = runs(topology, tags={"dagster/partition": day})
    wait_for(
        lambda: runs(topology, tags={"dagster/partition": day})[0].status == dg.DagsterRunStatus.SUCCESS,
        240,
        "the daemon to run it",
    )
    with topology.instance() as instance:
        kinds = [entry.dagster_event.event_type for entry in instance.all_logs(run.run_id) if entry.dagster_event]
    # Queued by the CLI, started later by the daemon's run queue.
    assert kinds.index(dg.DagsterEventType.RUN_ENQUEUED) < kinds.index(dg.DagsterEventType.RUN_STARTING)
    assert loaded_days(topology, D(2025, 11, 20), D(2025, 11, 20)) == [D(2025, 11, 20)]


def test_cli_asset_materialize_with_partition_and_range(topology: Topology) -> None:
    select = ["asset", "materialize", "-m", "sugars_dagster.definitions", "--select", "*market_daily"]
    one = topology.run(*select, "--partition", "2025-11-03")
    assert one.returncode == 0, one.stderr[-3000:]
    many = topology.run(*select, "--partition-range", "2025-11-04...2025-11-07")
    assert many.returncode == 0, many.stderr[-3000:]
    assert loaded_days(
        topology, D(2025, 11, 3), D(2025, 11, 7)
    ) == trading_calendar.snapshot_calendar().sessions_between(D(2025, 11, 3), D(2025, 11, 7))


def test_cli_job_backfill(topology: Topology) -> None:
    backfill = topology.run(
        "job",
        "backfill",
        "-w",
        str(ROOT / "workspace.yaml"),
        "-j",
        "market_daily_job",
        "--from",
        "2025-10-13",
        "--to",
        "2025-10-15",
        "--noprompt",
    )
    assert backfill.returncode == 0, backfill.stderr[-3000:]
    expected = trading_calendar.snapshot_calendar().sessions_between(D(2025, 10, 13), D(2025, 10, 15))
    wait_for(lambda: loaded_days(topology, D(2025, 10, 13), D(2025, 10, 15)) == expected, 300, "the backfill's runs")


def test_graphql_status_replaces_the_old_status_endpoint(topology: Topology) -> None:
    status = etl_status(topology.ui_url)
    assert status["schedule"]["name"] == "market_daily_schedule"
    assert status["schedule"]["running"] is (schedule_status(topology) == "RUNNING")
    if status["schedule"]["running"]:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT02:00:00\+08:00", status["schedule"]["next_tick"])

    # The daemon's catch-up sensor may be running a load right now: compare a status read while
    # no run changed state between it and Dagster's own record.
    def agrees() -> bool:
        status = etl_status(topology.ui_url)
        last = {run.run_id: run for run in runs(topology)}[status["last_run"]["run_id"]]
        return status["last_run"]["status"] == last.status.value

    wait_for(agrees, 120, "the status's last run to agree with Dagster's record of it")
    printed = subprocess.run(
        [os.sys.executable, "-m", "sugars_dagster.status", "--url", topology.ui_url],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(printed.stdout)["schedule"]["name"] == "market_daily_schedule"


START_SCHEDULE = """
mutation { startSchedule(scheduleSelector: {repositoryLocationName: "sugars_dagster", repositoryName: "__repository__",
  scheduleName: "market_daily_schedule"}) { __typename ... on UnauthorizedError { message } } }
"""


def test_a_read_only_webserver_refuses_mutations(topology: Topology) -> None:
    read_only = Topology(
        root=topology.root / "read_only",
        env=topology.env,
        ui_port=free_port(),
        code_port=topology.code_port,
        warehouse_url=topology.warehouse_url,
    )
    read_only.root.mkdir(exist_ok=True)
    read_only.start_webserver("--read-only")
    try:
        answer = read_only.graphql(START_SCHEDULE)["data"]["startSchedule"]
        assert answer["__typename"] == "UnauthorizedError", answer
        # Reading works as usual.
        assert read_only.graphql(SCHEDULE_STATE)["data"]["scheduleOrError"]["scheduleState"]["status"] in {
            "RUNNING",
            "STOPPED",
        }
    finally:
        read_only.close()
