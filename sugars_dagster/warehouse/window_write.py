"""Write a frame over the rows of one window, in one of two ways.

`replace_window` makes the window exactly what the new frame says (derived tables, rebuilt from
the raw ones): rows whose values did not change are left alone (their timestamps and run ids
keep telling when the values last changed); changed rows are rewritten, new ones inserted and
rows the frame no longer has deleted.

`merge_rows` only grows or revises (raw tables, the one copy of what a source once said): a row
the frame lacks stays, and each changed value is reported as a revision for the caller to keep.

The caller runs either inside one transaction, so a failure leaves the window as it was.
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


@dataclass(frozen=True)
class Revision:
    """One stored value that a later answer changed."""

    key: Any
    column: str
    old: Any
    new: Any


@dataclass(frozen=True)
class MergeCounts:
    inserted: int
    revised: int
    unchanged: int
    # Keys of stored rows in the scope that the frame lacks; they were kept.
    absent: tuple[Any, ...] = ()
    revisions: tuple[Revision, ...] = ()

    @property
    def kept_absent(self) -> int:
        return len(self.absent)

    def as_metadata(self) -> dict[str, int]:
        return {
            "rows_inserted": self.inserted,
            "rows_revised": self.revised,
            "rows_unchanged": self.unchanged,
            "rows_kept_absent": self.kept_absent,
            "values_revised": len(self.revisions),
        }


def _differs(name: str, decimals: int | None) -> pl.Expr:
    return ~_rounded(pl.col(name), decimals).eq_missing(_rounded(pl.col(f"{name}__stored"), decimals))


def _without(frame: pl.DataFrame, key: str) -> Iterable[tuple[Any, dict[str, Any]]]:
    """Each row's key, and the row without it (the columns an UPDATE sets)."""
    for row in frame.iter_rows(named=True):
        yield row.pop(key), row


def merge_rows(
    conn: sa.Connection,
    table: sa.Table,
    scope: sa.ColumnElement[bool],
    key: str,
    frame: pl.DataFrame,
    compared: Mapping[str, int | None],
    stamp: Mapping[str, Any],
) -> MergeCounts:
    """Insert the frame's new rows and rewrite its changed ones; never delete.

    `compared` and `stamp` mean what they mean for `replace_window`. Stored rows in `scope` that
    the frame lacks are kept and returned as `absent`; each changed value as a `Revision`.
    """
    names = [key, *compared]
    rows = conn.execute(sa.select(*(table.c[name] for name in names)).where(scope)).all()
    existing = pl.DataFrame(
        [tuple(row) for row in rows], schema={name: frame.schema[name] for name in names}, orient="row", strict=False
    )
    joined = frame.join(
        existing.rename({name: f"{name}__stored" for name in compared}), on=key, how="left"
    ).with_columns(pl.col(key).is_in(existing[key].implode()).alias("__stored"))
    stored = joined.filter(pl.col("__stored"))
    revisions = tuple(
        Revision(row[key], name, row[f"{name}__stored"], row[name])
        for name, decimals in compared.items()
        for row in stored.filter(_differs(name, decimals)).iter_rows(named=True)
    )
    revised_keys = {revision.key for revision in revisions}
    revised = stored.filter(pl.col(key).is_in(list(revised_keys))).select(frame.columns)
    new = joined.filter(~pl.col("__stored")).select(frame.columns)
    absent = existing.filter(~pl.col(key).is_in(frame[key].implode())).sort(key)[key].to_list()

    if revised.height:
        # The key is bound under another name: a bind parameter may not share a SET column's name.
        rewrite = sa.update(table).where(scope, table.c[key] == sa.bindparam("merge_key"))
        conn.execute(
            rewrite,
            [{**row, **stamp, "merge_key": key_value} for key_value, row in _without(revised, key)],
        )
    if new.height:
        conn.execute(sa.insert(table), [{**row, **stamp} for row in new.iter_rows(named=True)])
    return MergeCounts(
        inserted=new.height,
        revised=revised.height,
        unchanged=stored.height - revised.height,
        absent=tuple(absent),
        revisions=revisions,
    )
