"""Pure check outcomes (`market.quality`) as Dagster asset check results, the offending rows in
their metadata."""

import dagster as dg

from sugars_dagster.market.quality import SHOWN_ROWS, CheckOutcome, markdown_table


def as_check_result(outcome: CheckOutcome, asset: str) -> dg.AssetCheckResult:
    metadata: dict[str, object] = {"offending_rows": outcome.offending.height}
    if outcome.offending.height:
        metadata["rows"] = dg.MetadataValue.md(markdown_table(outcome.offending.head(SHOWN_ROWS)))
    return dg.AssetCheckResult(
        asset_key=asset,
        check_name=outcome.name,
        passed=outcome.passed,
        severity=dg.AssetCheckSeverity.ERROR if outcome.blocking else dg.AssetCheckSeverity.WARN,
        description=outcome.summary,
        metadata=metadata,
    )
