"""`market_daily_failure_alert_sensor`: one message per failed run, through apprise."""

import re

import dagster as dg
from dagster_shared.error import SerializableErrorInfo

from sugars_dagster import clock
from sugars_dagster.defs.alerts import Alerter
from sugars_dagster.defs.partitions import describe_span, run_days
from sugars_dagster.defs.sensors.alert_ledger import alerted_days, mark_alerted
from sugars_dagster.errors import SugarsError

WILL_RETRY_TAG = "dagster/will_retry"
_OUR_ERRORS = f"{SugarsError.__module__}."
_MODULE_PATH = re.compile(r"^(?:[A-Za-z_]\w*\.)+(?=[A-Za-z_]\w*: )")


def partitions_of(tags: dict[str, str] | dg.DagsterRun) -> str:
    tags = tags.tags if isinstance(tags, dg.DagsterRun) else tags
    return describe_span(tags) or "none"


def error_summary(error: SerializableErrorInfo | None) -> str:
    """First line of the error that explains the failure, without its module path: the error this
    package raised (it names the source and field, and carries its causes' gist), else the
    innermost cause."""
    if error is None:
        return "no error recorded"
    chain = [error]
    while chain[-1].cause is not None:
        chain.append(chain[-1].cause)
    ours = [link for link in chain if link.message.startswith(_OUR_ERRORS)]
    chosen = ours[0] if ours else chain[-1]
    first_line = (chosen.message.strip().splitlines() or [""])[0]
    return _MODULE_PATH.sub("", first_line)


def failure_alert(
    run: dg.DagsterRun, step_failures: list[tuple[str, str]], run_error: str, link: str
) -> tuple[str, str]:
    """(title, body) of the alert for a failed run."""
    partitions = partitions_of(run)
    lines = [f"Job: {run.job_name}", f"Partition(s): {partitions}"]
    if step_failures:
        lines += [f"Failed step: {step} - {error}" for step, error in step_failures]
    else:
        lines.append(f"Error: {run_error}")
    lines.append(f"Run: {link}")
    return f"sugars_dagster: {run.job_name} failed for {partitions}", "\n".join(lines)


@dg.run_failure_sensor(
    name="market_daily_failure_alert_sensor",
    default_status=dg.DefaultSensorStatus.RUNNING,
    # Runs launched from the CLI carry their own code origin; watch every run of the instance.
    monitor_all_code_locations=True,
    description="Sends one alert per failed run to SUGARS_ALERT_URLS, not per retry attempt, and not "
    "again for days an earlier alert reported that have not loaded since.",
)
def market_daily_failure_alert_sensor(context: dg.RunFailureSensorContext, alerter: Alerter) -> None:
    run = context.dagster_run
    if run.tags.get(WILL_RETRY_TAG) == "true":
        context.log.info(f"run {run.run_id} failed but will be retried; no alert for this attempt")
        return
    if not alerter.enabled:
        context.log.info(f"run {run.run_id} failed; alerts are off (SUGARS_ALERT_URLS is empty)")
        return
    days = run_days(run.tags)
    reported = alerted_days(context.instance, days, clock.now()) if days else {}
    if days and set(days) <= set(reported):
        context.log.info(
            f"run {run.run_id} failed for days already reported (run {sorted(set(reported.values()))[0]}) "
            "that have not loaded since; no new alert"
        )
        return
    step_failures = [
        (event.step_key or "?", error_summary(event.step_failure_data.error))
        for event in context.get_step_failure_events()
    ]
    title, body = failure_alert(run, step_failures, context.failure_event.message or "", alerter.run_link(run.run_id))
    alerter.send(title, body)
    mark_alerted(context.instance, run.run_id)
    context.log.info(f"alert sent for run {run.run_id}")
