"""Settings are read in one module, and none at import time: importing any module of the package
reads no environment variable; Dagster's load of the code location reads them all, and a value
that is not usable stops that load with an error naming its variable."""

import datetime as dt
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import dagster as dg
import pytest

from sugars_dagster.errors import ConfigError
from sugars_dagster.settings import DefinitionSettings
from sugars_dagster_tests.support.definitions import product_definitions

ROOT = Path(__file__).resolve().parents[2]

# One unusable value for each setting that shapes the definitions.
BAD_DEFINITION_SETTINGS = {
    "SUGARS_PARTITIONS_START": "2006-13-01",
    "SUGARS_SCHEDULE_TIME": "25:00",
    "SUGARS_CATCHUP_INTERVAL_SECONDS": "soon",
}

# A fresh interpreter records every read of os.environ with the file that made it, imports every
# module of the package, then loads the code location as Dagster does.
PROBE = textwrap.dedent(
    """
    import importlib, json, os, pkgutil, sys
    from pathlib import Path

    reads = []
    get, iterate = os._Environ.__getitem__, os._Environ.__iter__

    def reader():
        frame = sys._getframe(2)
        while frame and (frame.f_code.co_filename in (os.__file__, "<frozen os>")
                         or frame.f_code.co_filename.endswith("_collections_abc.py")
                         or frame.f_code.co_filename.startswith("<frozen")):
            frame = frame.f_back
        return frame.f_code.co_filename if frame else "?"

    def recorded_get(self, key):
        reads.append((key, reader()))
        return get(self, key)

    def recorded_iter(self):
        reads.append(("(every variable)", reader()))
        return iterate(self)

    os._Environ.__getitem__, os._Environ.__iter__ = recorded_get, recorded_iter
    package = Path(importlib.util.find_spec("sugars_dagster").origin).parent
    modules = ["sugars_dagster"] + [
        module.name for module in pkgutil.walk_packages([str(package)], "sugars_dagster.")
    ]
    for name in modules:
        importlib.import_module(name)

    def ours():
        return sorted({(key, path) for key, path in reads if Path(path).resolve().is_relative_to(package)})

    at_import = ours()
    from sugars_dagster.definitions import defs
    try:
        defs()
        error = None
    except Exception as raised:
        error = f"{type(raised).__name__}: {raised}"
    print(json.dumps({"modules": modules, "at_import": at_import, "at_load": ours(), "error": error}))
    """
)


def probe(environ: dict[str, str], tmp_path: Path) -> dict:
    completed = subprocess.run(
        [sys.executable, "-c", PROBE],
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "SUGARS_DATA_DIR": str(tmp_path)} | environ,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(completed.stdout.splitlines()[-1])


def test_importing_every_module_reads_no_setting_and_loading_reads_them(tmp_path) -> None:
    seen = probe({}, tmp_path)
    assert len(seen["modules"]) > 50  # every module, not just the entry point
    assert seen["at_import"] == []
    assert seen["error"] is None
    read_at_load = {key for key, path in seen["at_load"] if path.endswith("sugars_dagster/settings.py")}
    assert set(BAD_DEFINITION_SETTINGS) | {"SUGARS_WAREHOUSE_URL", "SUGARS_SOURCE"} <= read_at_load


def test_unusable_settings_do_not_stop_an_import_only_the_load(tmp_path) -> None:
    seen = probe(BAD_DEFINITION_SETTINGS, tmp_path)
    assert seen["at_import"] == []
    assert seen["error"].startswith("ConfigError: SUGARS_PARTITIONS_START=")  # the first one read


@pytest.mark.parametrize(("name", "value"), list(BAD_DEFINITION_SETTINGS.items()))
def test_loading_with_an_unusable_setting_names_its_variable(name: str, value: str, monkeypatch, tmp_path) -> None:
    from sugars_dagster.definitions import defs

    monkeypatch.setenv("SUGARS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=rf"^{name}={value!r} "):
        defs()


def test_the_settings_take_effect_when_the_code_location_loads(monkeypatch, tmp_path) -> None:
    from sugars_dagster.definitions import defs

    monkeypatch.setenv("SUGARS_DATA_DIR", str(tmp_path))
    for name, value in {
        "SUGARS_PARTITIONS_START": "2016-01-04",
        "SUGARS_SCHEDULE_TIME": "03:30",
        "SUGARS_CATCHUP_INTERVAL_SECONDS": "30",
    }.items():
        monkeypatch.setenv(name, value)
    loaded = defs()
    expected = product_definitions(DefinitionSettings("2016-01-04", dt.time(3, 30), 30))
    for built in (loaded, expected):
        market_daily = built.resolve_asset_graph().get(dg.AssetKey("market_daily"))
        assert market_daily.partitions_def.get_first_partition_key() == "2016-01-04"
        assert built.resolve_schedule_def("market_daily_schedule").cron_schedule == "30 3 * * *"
        assert built.resolve_sensor_def("market_daily_catchup_sensor").minimum_interval_seconds == 30
