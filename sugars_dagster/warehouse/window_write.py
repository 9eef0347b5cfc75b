"""Replace the rows of one window so that the table ends up exactly as the new frame says.

Rows whose values did not change are left alone (their timestamps and run ids keep telling when
the values last changed); changed rows are rewritten, new ones inserted and rows the frame no
longer has deleted. The caller runs this inside one transaction, so a failure leaves the window
as it was.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl
import sqlalchemy as sa

# Keeps every DELETE ... IN (...) under SQLite's bound-parameter limit.
_DELETE_CHUNK = 500


@dataclass(frozen=True)
class WriteCounts:
    inserted: int
    updated: int
    unchanged: int
    deleted: int

    def as_metadata(self) -> dict[str, int]:
        return {
            "rows_inserted": self.inserted,
            "rows_updated": self.updated,
            "rows_unchanged": self.unchanged,
            "rows_deleted": self.deleted,
        }


def _rounded(column: pl.Expr, decimals: int | None) -> pl.Expr:
    return column if decimals is None else column.cast(pl.Float64).round(decimals)


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def replace_window(
    conn: sa.Connection,
    table: sa.Table,
    scope: sa.ColumnElement[bool],
    key: str,
    frame: pl.DataFrame,
    compared: Mapping[str, int | None],
    stamp: Mapping[str, Any],
) -> WriteCounts:
    """Make the rows matching `scope` equal `frame` (keyed by `key`).

    `compared` maps each column that decides "changed" to its stored decimals (None: exact).
    `stamp` holds the columns written only on inserted or changed rows (time, run id).
    """
    key_column = table.c[key]
    names = [key, *compared]
    rows = conn.execute(sa.select(*(table.c[name] for name in names)).where(scope)).all()
    existing = pl.DataFrame(
        [tuple(row) for row in rows], schema={name: frame.schema[name] for name in names}, orient="row", strict=False
    ).rename({name: f"{name}__stored" for name in compared})
    joined = frame.join(existing, on=key, how="left").with_columns(
        pl.col(key).is_in(existing[key].implode()).alias("__stored")
    )
    same = pl.all_horizontal(
        _rounded(pl.col(name), decimals).eq_missing(_rounded(pl.col(f"{name}__stored"), decimals))
        for name, decimals in compared.items()
    )
    joined = joined.with_columns((pl.col("__stored") & same).alias("__unchanged"))
    unchanged = int(joined["__unchanged"].sum())
    changed = joined.filter(~pl.col("__unchanged"))
    replaced = changed.filter(pl.col("__stored"))[key].to_list()
    to_write = [{**row, **stamp} for row in changed.select(frame.columns).iter_rows(named=True)]
    removed = existing.filter(~pl.col(key).is_in(frame[key].implode()))[key].to_list()

    for chunk in _chunks(replaced + removed, _DELETE_CHUNK):
        conn.execute(sa.delete(table).where(scope, key_column.in_(chunk)))
    if to_write:
        conn.execute(sa.insert(table), to_write)
    return WriteCounts(
        inserted=len(to_write) - len(replaced),
        updated=len(replaced),
        unchanged=unchanged,
        deleted=len(removed),
    )
