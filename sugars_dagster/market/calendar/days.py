"""Day arithmetic shared by every calendar question: the days of a span, first and last included."""

import datetime as dt

ONE_DAY = dt.timedelta(days=1)


def days_between(first: dt.date, last: dt.date) -> list[dt.date]:
    """Every day from `first` to `last`, both included; empty when `last` is before `first`."""
    return [first + dt.timedelta(days=offset) for offset in range((last - first).days + 1)]
