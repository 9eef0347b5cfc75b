"""Stands in for the Docker engine: every Python process started with this folder on PYTHONPATH
gets a docker client that records what it is asked to do (one JSON line per call, in the file
named by SUGARS_TEST_DOCKER_RECORD) and starts nothing. The run launcher above it is Dagster's own."""

import json
import os

import docker.client


def _record(call: str, **fields) -> None:
    with open(os.environ["SUGARS_TEST_DOCKER_RECORD"], "a") as record:
        record.write(json.dumps({"call": call, **fields}) + "\n")


class _Container:
    def __init__(self, container_id: str) -> None:
        self.id = container_id
        self.status = "running"
        self.attrs: dict = {}

    def start(self) -> None:
        _record("start", id=self.id)

    def stop(self, timeout=None) -> None:
        _record("stop", id=self.id)


class _Containers:
    def create(self, **kwargs) -> _Container:
        _record("create", **kwargs)
        return _Container(f"container-of-{kwargs['labels']['dagster/run_id']}")

    def get(self, container_id: str) -> _Container:
        return _Container(container_id)


class _Client:
    containers = _Containers()

    def login(self, **kwargs) -> None:
        _record("login", registry=kwargs.get("registry"))


docker.client.from_env = lambda **kwargs: _Client()
