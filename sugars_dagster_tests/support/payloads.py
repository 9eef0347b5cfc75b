"""Recorded-shape HTTP bodies for the four akshare calls, built from given rows.

The shapes follow what the services answer (see akshare 1.19.5's parsers): Sina's JSONP k-lines
with string values behind a `/*<script>...*/` guard, Sina's goods-index JSON in GBK, SAFE's HTML
page linking the full-history workbook, the workbook itself, and SAFE's HTML query table.
"""

import datetime as dt
import io
import json
import re
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from email.message import Message

import openpyxl
import responses
from responses import matchers

SINA_GUARD = "/*<script>location.href='//sina.com';</script>*/\n"
SR_URL = re.compile(
    r"https://stock2\.finance\.sina\.com\.cn/futures/api/jsonp\.php/.*InnerFuturesNewService\.getDailyKLine.*"
)
ICE_URL = re.compile(
    r"https://stock2\.finance\.sina\.com\.cn/futures/api/jsonp\.php/.*GlobalFuturesService\.getGlobalFuturesDailyKLine.*"
)
BDI_URL = re.compile(
    r"https://stock\.finance\.sina\.com\.cn/futures/api/openapi\.php/GoodsIndexService\.get_goods_index.*"
)
SAFE_PAGE_URL = "https://www.safe.gov.cn/safe/2020/1218/17833.html"
SAFE_WORKBOOK_PATH = "/safe/file/file/20251205/3e1f8c2a9b4d4a7e.xlsx"
SAFE_QUERY_URL = "https://www.safe.gov.cn/AppStructured/hlw/RMBQuery.do"

SAFE_CURRENCIES = ["美元", "欧元", "日元", "港元", "英镑"]

EASTMONEY_SYMBOLS_URL = "https://futsse-static.eastmoney.com/redis"
EASTMONEY_KLINE_URL = "https://push2his.eastmoney.com/api/qt/stock/kline/get"
EASTMONEY_SR_SECID = "115.SRM"
EASTMONEY_ICE_SECID = "108.SB00Y"


def _text(value: object, decimals: int) -> str:
    """Sina writes numbers as strings; anything else (a word, a blank) is passed through as is."""
    return f"{value:.{decimals}f}" if isinstance(value, int | float) else str(value)


def sr_jsonp(bars: Sequence[Mapping[str, object]]) -> str:
    """Sina getDailyKLine: objects with d,o,h,l,c,v,p,s as strings."""
    rows = [
        {
            "d": str(bar["date"]),
            "o": _text(bar["open"], 3),
            "h": _text(bar["high"], 3),
            "l": _text(bar["low"], 3),
            "c": _text(bar["close"], 3),
            "v": str(bar.get("volume", 250000)),
            "p": str(bar.get("hold", 600000)),
            "s": _text(bar.get("settle", 0), 3),
        }
        for bar in bars
    ]
    return SINA_GUARD + "var _V21052021_4_12=(" + json.dumps(rows) + ");"


def ice_jsonp(bars: Sequence[Mapping[str, object]]) -> str:
    """Sina getGlobalFuturesDailyKLine: objects with date, OHLC, volume, position, s as strings."""
    rows = [
        {
            "date": str(bar["date"]),
            "open": _text(bar["open"], 2),
            "high": _text(bar["high"], 2),
            "low": _text(bar["low"], 2),
            "close": _text(bar["close"], 2),
            "volume": str(bar.get("volume", 40000)),
            "position": str(bar.get("position", 800000)),
            "s": _text(bar["close"], 2),
        }
        for bar in bars
    ]
    return SINA_GUARD + "var _S2025_12_5=(" + json.dumps(rows) + ");"


def bdi_json(points: Sequence[tuple[dt.date, float]]) -> bytes:
    """Sina get_goods_index: result.data.data[] newest first, GBK encoded."""
    rows = [
        {"opendate": day.isoformat(), "price": f"{value:.0f}", "zde": "0", "zdf": "0.00"}
        for day, value in sorted(points, reverse=True)
    ]
    body = {"result": {"status": {"code": 0}, "data": {"data": rows, "count": len(rows)}}}
    return json.dumps(body, ensure_ascii=False).encode("gbk")


def eastmoney_sr_kline(bars: Sequence[Mapping[str, object]]) -> str:
    """Eastmoney kline/get for a domestic contract: 14 comma-separated fields per day
    (date, open, close, high, low, volume, turnover, amplitude, change %, change, turnover rate,
    -, open interest, -)."""
    klines = [
        ",".join(
            [
                str(bar["date"]),
                _text(bar["open"], 1),
                _text(bar["close"], 1),
                _text(bar["high"], 1),
                _text(bar["low"], 1),
                str(bar.get("volume", 250000)),
                "1681234567.0",
                "1.29",
                "0.22",
                "12.0",
                "0.00",
                "0",
                str(bar.get("hold", 600000)),
                "0",
            ]
        )
        for bar in bars
    ]
    return json.dumps(
        {"rc": 0, "data": {"code": "SRM", "market": 115, "name": "白糖主连", "klines": klines}}, ensure_ascii=False
    )


def eastmoney_global_kline(bars: Sequence[Mapping[str, object]]) -> str:
    """Eastmoney kline/get for an international contract (SB00Y): date, open, last, high, low,
    volume, -, -, change %, -, -, -, open interest, daily change."""
    klines = [
        ",".join(
            [
                str(bar["date"]),
                _text(bar["open"], 2),
                _text(bar["close"], 2),
                _text(bar["high"], 2),
                _text(bar["low"], 2),
                "40123",
                "0",
                "0.00",
                "0.46",
                "0",
                "0",
                "0",
                "800000",
                "120",
            ]
        )
        for bar in bars
    ]
    return json.dumps(
        {"rc": 0, "data": {"code": "SB00Y", "market": 108, "name": "原糖连续", "klines": klines}}, ensure_ascii=False
    )


def register_eastmoney_symbols(mock: responses.RequestsMock) -> None:
    """futures_hist_em first maps contract names to market ids through three lookups."""
    mock.add(
        responses.GET,
        EASTMONEY_SYMBOLS_URL,
        json=[{"mktid": 115, "mktname": "郑商所", "mktshort": "ZCE"}],
        match=[matchers.query_param_matcher({"msgid": "gnweb"})],
    )
    mock.add(responses.GET, EASTMONEY_SYMBOLS_URL, json=[1], match=[matchers.query_param_matcher({"msgid": "115"})])
    mock.add(
        responses.GET,
        EASTMONEY_SYMBOLS_URL,
        json=[
            {"name": "白糖主连", "code": "SRM", "mktid": 115, "vcode": "SR", "vname": "白糖"},
            {"name": "白糖2605", "code": "SR605", "mktid": 115, "vcode": "SR", "vname": "白糖"},
        ],
        match=[matchers.query_param_matcher({"msgid": "115_1"})],
    )


def safe_page_html() -> str:
    return (
        "<html><head><meta charset='utf-8'><title>人民币汇率中间价</title></head><body>"
        "<div class='detail_content'><p>人民币汇率中间价历史数据：</p>"
        f"<p><a href='{SAFE_WORKBOOK_PATH}'>人民币汇率中间价历史数据.xlsx</a></p></div></body></html>"
    )


def _safe_row(day: dt.date, usd_per_100: float) -> list[object]:
    # Other currencies at fixed plausible levels: only 美元 is read.
    return [day.isoformat(), usd_per_100, 780.5, 4.91, 91.2, 905.3]


def safe_workbook(rows: Sequence[tuple[dt.date, float]]) -> bytes:
    """The full-history workbook: 日期 then one column per currency, CNY per 100 units."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["日期", *SAFE_CURRENCIES])
    for day, value in rows:
        sheet.append(_safe_row(day, value))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def safe_query_html(rows: Sequence[tuple[dt.date, float]]) -> str:
    """SAFE's RMBQuery.do answer: a page whose last table lists the days after the workbook."""
    header = "".join(f"<th>{name}</th>" for name in ["日期", *SAFE_CURRENCIES])
    body = "".join(
        "<tr>" + "".join(f"<td>{cell}</td>" for cell in _safe_row(day, value)) + "</tr>" for day, value in rows
    )
    return (
        "<html><body><table><tr><td>查询条件</td></tr></table>"
        f"<table id='InfoTable'><tr>{header}</tr>{body}</table></body></html>"
    )


class _WorkbookHandler(urllib.request.BaseHandler):
    """pandas.read_excel fetches the workbook with urllib, not requests: answer it here.

    It runs before urllib's own HTTPS handler and refuses any URL it has no body for, so nothing
    reaches the network.
    """

    handler_order = 100

    def __init__(self, files: Mapping[str, bytes]):
        self.files = files
        self.requested: list[str] = []

    def https_open(self, request: urllib.request.Request):  # noqa: ANN201 - urllib's protocol
        url = request.full_url
        self.requested.append(url)
        if url not in self.files:
            raise urllib.error.URLError(f"no recorded response for {url}")
        headers = Message()
        headers["Content-Type"] = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        response = urllib.response.addinfourl(io.BytesIO(self.files[url]), headers, url, 200)
        response.msg = "OK"
        return response


@contextmanager
def urllib_files(files: Mapping[str, bytes]) -> Iterator[_WorkbookHandler]:
    handler = _WorkbookHandler(files)
    previous = urllib.request._opener  # restored afterwards; urllib offers no getter
    urllib.request.install_opener(urllib.request.build_opener(handler))
    try:
        yield handler
    finally:
        urllib.request.install_opener(previous)


@contextmanager
def recorded_sources(
    *,
    sr: str | bytes | None = None,
    ice: str | bytes | None = None,
    bdi: str | bytes | None = None,
    fx_history: Sequence[tuple[dt.date, float]] | None = None,
    fx_recent: Sequence[tuple[dt.date, float]] = (),
    sr_status: int = 200,
    eastmoney_sr: str | None = None,
    eastmoney_ice: str | None = None,
) -> Iterator[responses.RequestsMock]:
    """Serve the given bodies at the services' addresses; any other request fails the test."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        if sr is not None:
            mock.add(responses.GET, SR_URL, body=sr, status=sr_status)
        if eastmoney_sr is not None:
            register_eastmoney_symbols(mock)
            mock.add(
                responses.GET,
                EASTMONEY_KLINE_URL,
                body=eastmoney_sr,
                match=[matchers.query_param_matcher({"secid": EASTMONEY_SR_SECID}, strict_match=False)],
            )
        if eastmoney_ice is not None:
            mock.add(
                responses.GET,
                EASTMONEY_KLINE_URL,
                body=eastmoney_ice,
                match=[matchers.query_param_matcher({"secid": EASTMONEY_ICE_SECID}, strict_match=False)],
            )
        if ice is not None:
            mock.add(responses.GET, ICE_URL, body=ice)
        if bdi is not None:
            mock.add(responses.GET, BDI_URL, body=bdi)
        files: dict[str, bytes] = {}
        if fx_history is not None:
            mock.add(responses.GET, SAFE_PAGE_URL, body=safe_page_html())
            mock.add(responses.POST, SAFE_QUERY_URL, body=safe_query_html(fx_recent))
            files["https://www.safe.gov.cn" + SAFE_WORKBOOK_PATH] = safe_workbook(fx_history)
        with urllib_files(files):
            yield mock
