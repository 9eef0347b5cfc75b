"""What the old `GET /api/etl/status` answered, read from Dagster's GraphQL API.

    python -m sugars_dagster.status [--url http://127.0.0.1:3000]

prints the schedule's state and next tick and the newest run with its status, as JSON. Without
--url it asks the UI where `scripts/dev` serves it: http://127.0.0.1:$SUGARS_UI_PORT (3000).
When no UI answers there it says so in one line and exits with 1.
"""

import argparse
import datetime as dt
import json
import sys
from typing import Any
from zoneinfo import ZoneInfo

from gql import Client, GraphQLRequest, gql
from gql.transport.exceptions import TransportError
from gql.transport.requests import RequestsHTTPTransport
from requests.exceptions import RequestException

from sugars_dagster import settings
from sugars_dagster.defs.partitions import MARKET_TIMEZONE, describe_span
from sugars_dagster.errors import ConfigError

LOCATION = "sugars_dagster"
SCHEDULE = "market_daily_schedule"

STATUS_QUERY = gql(
    """
    query EtlStatus($schedule: ScheduleSelector!) {
      scheduleOrError(scheduleSelector: $schedule) {
        __typename
        ... on Schedule {
          name
          scheduleState { status }
          futureTicks(limit: 1) { results { timestamp } }
        }
        ... on PythonError { message }
        ... on ScheduleNotFoundError { message }
      }
      runsOrError(limit: 1) {
        __typename
        ... on Runs { results { runId jobName status startTime endTime tags { key value } } }
        ... on PythonError { message }
      }
    }
    """
)


def _moment(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    return dt.datetime.fromtimestamp(timestamp, ZoneInfo(MARKET_TIMEZONE)).isoformat()


def _partitions(tags: dict[str, str]) -> str | None:
    return describe_span(tags, joiner="...", unknown="")


def etl_status(ui_url: str, timeout: int = 30) -> dict[str, Any]:
    """The schedule (running or not, next tick) and the newest run (id, job, partitions, status)."""
    transport = RequestsHTTPTransport(url=f"{ui_url.rstrip('/')}/graphql", timeout=timeout)
    with Client(transport=transport, fetch_schema_from_transport=False) as session:
        selector = {"repositoryLocationName": LOCATION, "repositoryName": "__repository__", "scheduleName": SCHEDULE}
        data = session.execute(GraphQLRequest(STATUS_QUERY, variable_values={"schedule": selector}))
    schedule = data["scheduleOrError"]
    if schedule["__typename"] != "Schedule":
        raise RuntimeError(f"{SCHEDULE}: {schedule.get('message', schedule['__typename'])}")
    ticks = schedule["futureTicks"]["results"]
    runs = data["runsOrError"]
    if runs["__typename"] != "Runs":
        raise RuntimeError(f"runs: {runs.get('message', runs['__typename'])}")
    last = runs["results"][0] if runs["results"] else None
    return {
        "schedule": {
            "name": schedule["name"],
            "running": schedule["scheduleState"]["status"] == "RUNNING",
            "next_tick": _moment(ticks[0]["timestamp"])
            if ticks and schedule["scheduleState"]["status"] == "RUNNING"
            else None,
        },
        "last_run": None
        if last is None
        else {
            "run_id": last["runId"],
            "job": last["jobName"],
            "partitions": _partitions({tag["key"]: tag["value"] for tag in last["tags"]}),
            "status": last["status"],
            "started": _moment(last["startTime"]),
            "ended": _moment(last["endTime"]),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="the Dagster UI's address (default: where scripts/dev serves it)")
    try:
        url = parser.parse_args().url or settings.local_ui_url()
    except ConfigError as error:
        sys.exit(str(error))
    try:
        status = etl_status(url)
    except (RequestException, TransportError, OSError) as error:
        reason = type(error).__name__
        sys.exit(f"no Dagster UI answers at {url} ({reason}); start it with scripts/dev, or pass --url")
    print(json.dumps(status, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
