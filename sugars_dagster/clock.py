"""The current time, in one place, so that tests can move it."""

import datetime as dt


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
