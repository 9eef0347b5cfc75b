"""Dagster's DockerRunLauncher, handing every variable a run reads on to the run's container.

Dagster's launcher takes a fixed `env_vars` list and fails the launch when one of them is not set
in the launching process; most of this project's settings are optional. This one forwards each
name of `RUN_ENVIRONMENT` that is set where the run is launched (the daemon), so the list lives in
one place and an optional setting left unset stays unset in the run, as it is everywhere else.
Loaded by deploy/docker-runs/dagster.yaml; needs the `docker` extra (dagster-docker).
"""

import dagster as dg
from dagster_docker import DockerRunLauncher
from dagster_docker.container_context import DockerContainerContext

from sugars_dagster.settings import RUN_ENVIRONMENT, present


class ForwardingDockerRunLauncher(DockerRunLauncher):
    """A DockerRunLauncher whose run containers receive the set variables of RUN_ENVIRONMENT."""

    def get_container_context(self, dagster_run: dg.DagsterRun) -> DockerContainerContext:
        context = super().get_container_context(dagster_run)
        configured = {entry.split("=", 1)[0] for entry in context.env_vars}
        forwarded = [name for name in present(RUN_ENVIRONMENT) if name not in configured]
        return context.merge(DockerContainerContext(env_vars=forwarded))
