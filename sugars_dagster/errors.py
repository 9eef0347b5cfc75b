"""Errors that name what went wrong, where, and in which field, so a failed run explains itself."""


class SugarsError(Exception):
    """Base class for every failure this code location raises on purpose."""


class SourceError(SugarsError):
    """A source could not be fetched, or what it returned cannot be trusted."""

    def __init__(self, source: str, message: str, field: str | None = None):
        self.source = source
        self.field = field
        self.detail = message
        where = f"{source}, field '{field}'" if field else source
        super().__init__(f"{where}: {message}")


class SourceFetchError(SourceError):
    """The call itself failed (network, timeout, a body the parser could not read)."""


class SourceDataError(SourceError):
    """The call returned a table, but its contents break the series' contract."""


class MissingDataError(SugarsError):
    """The warehouse lacks an input that a market day needs (a bar, or a fresh enough value)."""


class WarehouseSchemaError(SugarsError):
    """An existing warehouse table does not match the contract this pipeline writes."""


class WriteRefusedError(SugarsError):
    """A write that would destroy data it must not touch (real rows under synthetic ones)."""


class ConfigError(SugarsError):
    """A configuration value (environment or run config) is not usable."""
