"""Errors that name what went wrong, where, and in which field, so a failed run explains itself."""

from collections.abc import Sequence


class SugarsError(Exception):
    """Base class for every failure this code location raises on purpose."""


class SourceError(SugarsError):
    """A source could not be fetched, or what it returned cannot be trusted."""

    def __init__(
        self,
        source: str,
        message: str,
        field: str | None = None,
        offending: Sequence[str] = (),
        causes: Sequence["SourceError"] = (),
    ):
        self.source = source
        self.field = field
        self.detail = message
        # Every offending value ("2025-12-02: 'n/a'"), where the message shows only a few.
        self.offending = list(offending)
        # For an error that sums up several providers' failures: each of them.
        self.causes = list(causes)
        where = f"{source}, field '{field}'" if field else source
        super().__init__(f"{where}: {message}")

    def contract_failures(self) -> list["SourceDataError"]:
        """The answers that broke their contract, among this error and the ones it sums up."""
        own = [self] if isinstance(self, SourceDataError) and not self.causes else []
        return own + [failure for cause in self.causes for failure in cause.contract_failures()]


class SourceFetchError(SourceError):
    """The call itself failed (network, timeout, a body the parser could not read)."""


class SourceDataError(SourceError):
    """The call returned a table, but its contents break the series' contract."""


class MissingDataError(SugarsError):
    """The warehouse lacks an input that a market day needs (a bar, or a fresh enough value)."""


class QualityError(SugarsError):
    """A blocking data-quality check failed; nothing was written."""


class WarehouseSchemaError(SugarsError):
    """An existing warehouse table does not match the contract this pipeline writes."""


class WriteRefusedError(SugarsError):
    """A write that would destroy data it must not touch (real rows under synthetic ones)."""


class ConfigError(SugarsError):
    """A configuration value (environment or run config) is not usable."""
