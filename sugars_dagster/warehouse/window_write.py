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


def _same(old: Any, new: Any, decimals: int | None) -> bool:
    if old is None or new is None:
        return old is None and new is None
    if decimals is None:
        return old == new
    return round(float(old), decimals) == round(float(new), decimals)


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
    existing = {
        row[key]: row
        for row in conn.execute(
            sa.select(key_column, *(table.c[name] for name in compared)).where(scope)
        ).mappings()
    }
    to_write: list[dict[str, Any]] = []
    replaced: list[Any] = []
    unchanged = 0
    for row in frame.iter_rows(named=True):
        old = existing.get(row[key])
        if old is not None and all(
            _same(old[name], row[name], decimals) for name, decimals in compared.items()
        ):
            unchanged += 1
            continue
        if old is not None:
            replaced.append(row[key])
        to_write.append({**row, **stamp})
    new_keys = set(frame[key].to_list())
    removed = [value for value in existing if value not in new_keys]

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
