"""Recorded-shape bodies of Sina's trading-calendar file, built from given dates.

Sina serves `klc_td_sh.txt` as `var datelist="<encoded>";var KLC_TD_SH=datelist;`. The encoded
string is a little-endian bit stream written six bits per character in the alphabet
`A-Za-z0-9+/`, read by the function `d` of akshare's `hk_js_decode` (format 139):

- a 12-bit format id (139) and a 6-bit version (63, read as version 0);
- 18 bits each: the first and the last day, counted in days since 1990-12-19;
- then the weekdays from the first day to the last, as runs: the length of the opening run of
  trading days, then one token per closed weekday giving the number of trading days that follow
  it (0 when the next weekday is closed too).

Each token is an unsigned number of `3 * width` bits, preceded by one bit that says whether the
width changes; a change is written as a sign bit (1 for wider) and the size of the step in
unary (`step - 1` one-bits and a zero). Sina uses the narrowest width that holds each token and
pads the last character with one-bits; `encode_trade_dates` does the same, so its output for
Sina's own dates is Sina's file character for character.
"""

import datetime as dt
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import responses

CALENDAR_URL = "https://finance.sina.com.cn/realstock/company/klc_td_sh.txt"

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
# Day 0 of the format: the Shanghai exchange's first session.
EPOCH = dt.date(1990, 12, 19)
FORMAT_TRADE_DATES = 139
VERSION = 63
DAY_BITS = 18


class _BitWriter:
    def __init__(self) -> None:
        self.bits: list[int] = []

    def number(self, value: int, width: int) -> None:
        """Least significant bit first, as the decoder's `w` reads it."""
        if not 0 <= value < 2**width:
            raise ValueError(f"{value} does not fit in {width} bits")
        self.bits.extend((value >> index) & 1 for index in range(width))

    def step(self, step: int) -> None:
        """A nonzero signed step as the decoder's `N` reads it: sign, then |step| in unary."""
        self.bits.append(1 if step > 0 else 0)
        self.bits.extend([1] * (abs(step) - 1) + [0])

    def text(self) -> str:
        # The decoder stops at the last day and never reads the padding; Sina pads with ones.
        padded = self.bits + [1] * (-len(self.bits) % 6)
        return "".join(
            ALPHABET[sum(bit << index for index, bit in enumerate(padded[start : start + 6]))]
            for start in range(0, len(padded), 6)
        )


def _day_number(day: dt.date) -> int:
    number = (day - EPOCH).days
    if not 0 <= number < 2**DAY_BITS:
        raise ValueError(f"{day} is outside the days the format can express")
    return number


def _weekdays(first: dt.date, last: dt.date) -> Iterator[dt.date]:
    day = first
    while day <= last:
        if day.weekday() < 5:
            yield day
        day += dt.timedelta(days=1)


def _checked(dates: Sequence[dt.date]) -> list[dt.date]:
    """The format can only say 'increasing weekdays, from 1990-12-19 on'."""
    days = list(dates)
    if not days:
        raise ValueError("the format cannot express an empty calendar")
    for earlier, later in zip(days, days[1:], strict=False):
        if not earlier < later:
            raise ValueError(f"dates must increase: {earlier} then {later}")
    weekend = [day for day in days if day.weekday() >= 5]
    if weekend:
        raise ValueError(f"the format holds weekdays only, not {weekend[0]}")
    _day_number(days[0])
    _day_number(days[-1])
    return days


def run_lengths(dates: Sequence[dt.date]) -> list[int]:
    """The opening run of trading days, then per closed weekday the run that follows it."""
    trading = set(dates)
    runs = [0]
    for day in _weekdays(dates[0], dates[-1]):
        if day in trading:
            runs[-1] += 1
        else:
            runs.append(0)
    return runs


def _width(value: int) -> int:
    """The narrowest width, in 3-bit units, that holds `value` (0 holds only 0)."""
    width = 0
    while value >= 8**width:
        width += 1
    return width


def encode_trade_dates(dates: Sequence[dt.date]) -> str:
    """The encoded string that `d` of akshare's `hk_js_decode` decodes to exactly `dates`."""
    days = _checked(dates)
    writer = _BitWriter()
    writer.number(FORMAT_TRADE_DATES, 12)
    writer.number(VERSION, 6)
    writer.number(_day_number(days[0]), DAY_BITS)
    writer.number(_day_number(days[-1]), DAY_BITS)
    width = 0
    for run in run_lengths(days):
        wanted = _width(run)
        writer.number(int(wanted != width), 1)
        if wanted != width:
            writer.step(wanted - width)
            width = wanted
        writer.number(run, 3 * width)
    return writer.text()


def klc_td_sh_body(dates: Sequence[dt.date]) -> str:
    """The whole file as Sina serves it."""
    return f'var datelist="{encode_trade_dates(dates)}";var KLC_TD_SH=datelist;'


@contextmanager
def serving_body(body: str | bytes, status: int = 200) -> Iterator[responses.RequestsMock]:
    """Serve any body (an HTML error page, nothing, a 502) at the calendar's address."""
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock.add(responses.GET, CALENDAR_URL, body=body, status=status, content_type="text/plain")
        yield mock


@contextmanager
def serving_calendar(dates: Sequence[dt.date]) -> Iterator[responses.RequestsMock]:
    """Serve a calendar file that decodes to `dates`; any other request fails the test."""
    with serving_body(klc_td_sh_body(dates)) as mock:
        yield mock
