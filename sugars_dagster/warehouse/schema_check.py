"""Create the warehouse tables where missing; where they exist, make sure we can write them."""

from collections.abc import Mapping, Sequence

import sqlalchemy as sa

from sugars_dagster.errors import WarehouseSchemaError


def check_existing_table(
    inspector: sa.Inspector,
    table: sa.Table,
    required: Mapping[str, tuple[type[sa.types.TypeEngine], ...]],
    primary_key: Sequence[str],
) -> dict[str, sa.types.TypeEngine]:
    """The columns of `table` in the database, with their types; raises if it breaks the contract.

    Extra columns are fine unless they are NOT NULL without a default (our inserts would fail).
    """
    columns = {column["name"]: column for column in inspector.get_columns(table.name, schema=table.schema)}
    problems: list[str] = []
    for name, accepted in required.items():
        if name not in columns:
            problems.append(f"column '{name}' is missing")
        elif not isinstance(columns[name]["type"], accepted):
            expected = " or ".join(kind.__name__ for kind in accepted)
            problems.append(f"column '{name}' is {columns[name]['type']}, expected {expected}")
    actual_key = inspector.get_pk_constraint(table.name, schema=table.schema).get("constrained_columns") or []
    if list(actual_key) != list(primary_key):
        problems.append(f"primary key is {actual_key or 'missing'}, expected {list(primary_key)}")
    ours = {column.name for column in table.columns}
    for name, column in columns.items():
        if (
            name not in ours
            and not column["nullable"]
            and column.get("default") is None
            and not column.get("autoincrement")
        ):
            problems.append(f"column '{name}' is NOT NULL without a default, so no row can be inserted")
    if problems:
        raise WarehouseSchemaError(f"table '{table.name}' exists but cannot be written safely: " + "; ".join(problems))
    return {name: column["type"] for name, column in columns.items()}


def add_columns(conn: sa.Connection, table: sa.Table, columns: Sequence[sa.Column]) -> None:
    """ALTER TABLE ... ADD COLUMN for nullable columns of our own schema. The statement is compiled
    from the column definitions by the database's dialect; no outside text enters it."""
    preparer = conn.dialect.identifier_preparer
    for column in columns:
        if not column.nullable:
            raise WarehouseSchemaError(f"cannot add NOT NULL column '{column.name}' to '{table.name}'")
        definition = sa.schema.CreateColumn(column).compile(dialect=conn.dialect)
        conn.execute(sa.text(f"ALTER TABLE {preparer.format_table(table)} ADD COLUMN {definition}"))
