"""The code location: assets, the job, the schedule, the sensors and their resources.

Importing this module reads no setting. Dagster calls `defs` when it loads the code location (the
code server, `dagster dev`, the CLI, each run's process): the settings are read then, and a value
that is not usable stops the load with an error naming its variable.
"""

import dagster as dg

from sugars_dagster.defs.build import build_definitions
from sugars_dagster.defs.resources import resources_from_env
from sugars_dagster.settings import DefinitionSettings


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions(DefinitionSettings.from_env(), resources_from_env())
