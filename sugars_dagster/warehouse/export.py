"""Backups of the warehouse as Parquet, one file per table and market day, to any fsspec target."""

import datetime as dt
import io
from enum import StrEnum

import dagster as dg
import fsspec
import polars as pl
from pydantic import Field


class FileAction(StrEnum):
    WRITTEN = "written"
    UNCHANGED = "unchanged"
    REMOVED = "removed"
    ABSENT = "absent"


def parquet_bytes(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    return buffer.getvalue()


class ExportTarget(dg.ConfigurableResource):
    """A local folder or an fsspec URL: `s3://bucket/prefix` (AWS, or OSS and other S3-compatible
    endpoints through AWS_ENDPOINT_URL), `gs://…`, `memory://…` and the rest."""

    url: str = Field(description="where the Parquet backups go (SUGARS_EXPORT_URL)")

    def display(self) -> str:
        """The URL without credentials, for metadata and logs."""
        scheme, _, rest = self.url.rpartition("://")
        return f"{scheme}://{rest.rpartition('@')[2]}" if scheme else self.url

    def path(self, dataset: str, day: dt.date) -> str:
        return f"{self.url.rstrip('/')}/{dataset}/{day:%Y}/{day.isoformat()}.parquet"

    def sync_day(self, dataset: str, day: dt.date, frame: pl.DataFrame | None) -> FileAction:
        """Make the day's file hold exactly `frame` (no file when None or empty). Idempotent:
        a file with the same content is not rewritten."""
        fs, path = fsspec.core.url_to_fs(self.path(dataset, day))
        exists = fs.exists(path)
        if frame is None or frame.height == 0:
            if not exists:
                return FileAction.ABSENT
            fs.rm(path)
            return FileAction.REMOVED
        data = parquet_bytes(frame)
        if exists and fs.cat_file(path) == data:
            return FileAction.UNCHANGED
        fs.makedirs(path.rpartition("/")[0], exist_ok=True)
        # Write beside it, then move over it: a reader never sees half a file.
        partial = f"{path}.partial"
        fs.pipe_file(partial, data)
        fs.mv(partial, path)
        return FileAction.WRITTEN

    def read_day(self, dataset: str, day: dt.date) -> pl.DataFrame:
        fs, path = fsspec.core.url_to_fs(self.path(dataset, day))
        return pl.read_parquet(io.BytesIO(fs.cat_file(path)))


# A century: past it a cutoff date would leave the calendar's range.
MAX_RETENTION_DAYS = 36_500


class Retention(dg.ConfigurableResource):
    """How many market days the warehouse keeps (SUGARS_RETENTION_DAYS); 0 keeps everything."""

    days: int = Field(default=0, ge=0, le=MAX_RETENTION_DAYS, description="days kept in the warehouse; 0 = all")

    def cutoff(self, today: dt.date) -> dt.date | None:
        """The oldest day kept, or None when retention is off."""
        return today - dt.timedelta(days=self.days - 1) if self.days else None
