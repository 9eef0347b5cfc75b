"""What the Dagster UI's catalog shows about each table asset: who owns it, its table name and
column schema (derived from the table's one declaration in `market.tables`)."""

import dagster as dg

from sugars_dagster.market.tables import TableContract

# The team that answers for these numbers; shown on every asset.
OWNERS = ["team:sugar-market-data"]


def table_metadata(contract: TableContract) -> dict[str, object]:
    """`dagster/table_name` and `dagster/column_schema` for an asset that writes `contract`."""
    return {
        "dagster/table_name": contract.name,
        "dagster/column_schema": dg.TableSchema(
            columns=[
                dg.TableColumn(
                    name=column.name,
                    type=column.kind.value,
                    description=column.meaning + (" (API contract)" if column.contract else ""),
                    constraints=dg.TableColumnConstraints(
                        nullable=column.nullable, unique=column.name in contract.key and len(contract.key) == 1
                    ),
                )
                for column in contract.columns
            ]
        ),
    }


def row_description(summary: str, contract: TableContract) -> str:
    """An asset's description: what it is, and what one row of its table means."""
    return f"{summary}\n\nOne row of `{contract.name}`: {contract.row}."
