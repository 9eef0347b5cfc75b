"""The real source, fed recorded-shape HTTP answers through akshare's own parsing code."""

import datetime as dt
import json
import re
import time

import pytest
import responses

from sugars_dagster.errors import SourceDataError, SourceFetchError
from sugars_dagster.market.series import Series
from sugars_dagster.sources.demo_source import synthetic_frame
from sugars_dagster_tests.support import payloads
from sugars_dagster_tests.support.recorded_world import RecordedWorld, fast_akshare

FIRST, LAST = dt.date(2025, 11, 3), dt.date(2025, 12, 5)
WORLD = RecordedWorld(FIRST, LAST)


@pytest.mark.parametrize(
    ("series", "provider"),
    [
        (Series.ZCE_SUGAR, "sina:futures_zh_daily_sina:SR0"),
        (Series.USD_CNY, "safe:currency_boc_safe:USD"),
        (Series.BDI, "sina:spot_goods:BDI"),
        (Series.ICE_NO11, "sina:futures_foreign_hist:RS"),
    ],
)
def test_each_series_arrives_canonical_and_in_units(series: Series, provider: str) -> None:
    with WORLD.serving():
        fetched = fast_akshare().fetch(series, FIRST, LAST)
    assert fetched.provider == provider
    assert not fetched.synthetic
    expected = synthetic_frame(series, FIRST, LAST)
    assert fetched.frame["trade_date"].to_list() == expected["trade_date"].to_list()
    value = {"zce_sugar_bars": "close", "usd_cny_central_parity": "usd_cny", "baltic_dry_index": "bdi"}.get(
        series.value, "close"
    )
    # SAFE's CNY per 100 USD arrives as CNY per USD; BDI arrives oldest first like the rest.
    assert fetched.frame[value].to_list() == pytest.approx(expected[value].to_list())


def test_settle_zero_on_the_newest_bar_is_missing_not_zero() -> None:
    def unsettled_last_bar(rows: list[dict]) -> list[dict]:
        return rows[:-1] + [{**rows[-1], "settle": 0.0}]

    world = RecordedWorld(FIRST, LAST, edits={Series.ZCE_SUGAR: unsettled_last_bar})
    with world.serving():
        frame = fast_akshare().fetch(Series.ZCE_SUGAR, FIRST, LAST).frame
    assert frame["settle"][-1] is None
    assert frame["settle"][0] is not None


def test_only_the_requested_window_is_returned() -> None:
    with WORLD.serving():
        frame = fast_akshare().fetch(Series.ICE_NO11, dt.date(2025, 12, 1), dt.date(2025, 12, 3)).frame
    assert frame["trade_date"].to_list() == [dt.date(2025, 12, day) for day in (1, 2, 3)]


@pytest.mark.parametrize("status", [456, 502])
def test_an_html_answer_is_retried_then_the_fallback_serves(status: int) -> None:
    html = "<html><head><title>Error</title></head><body>Forbidden</body></html>"
    with WORLD.serving() as mock:
        mock.replace(responses.GET, payloads.SR_URL, body=html, status=status)
        fetched = fast_akshare(attempts=3).fetch(Series.ZCE_SUGAR, FIRST, LAST)
        sr_calls = [call for call in mock.calls if "getDailyKLine" in call.request.url]
    assert len(sr_calls) == 3
    assert fetched.provider == "eastmoney:futures_hist_em:白糖主连"
    [passed_over] = fetched.failed_providers
    assert passed_over.startswith("Sina futures_zh_daily_sina(symbol='SR0'): gave up after 3 attempt(s)")
    assert "IndexError" in passed_over
    expected = synthetic_frame(Series.ZCE_SUGAR, FIRST, LAST)
    assert fetched.frame["close"].to_list() == expected["close"].to_list()
    assert fetched.frame["settle"].null_count() == fetched.frame.height  # Eastmoney has no settle


def test_garbage_from_sina_falls_back_and_says_why() -> None:
    body = WORLD.ice_body().replace('"close"', '"last"')
    with WORLD.serving(ice=body):
        fetched = fast_akshare().fetch(Series.ICE_NO11, FIRST, LAST)
    assert fetched.provider == "eastmoney:futures_global_hist_em:SB00Y"
    assert fetched.failed_providers == (
        "Sina futures_foreign_hist(symbol='RS'), field 'close': column missing (renamed upstream?); "
        "the frame has ['date', 'open', 'high', 'low', 'last', 'volume', 'position', 's']",
    )
    expected = synthetic_frame(Series.ICE_NO11, FIRST, LAST)
    assert fetched.frame["close"].to_list() == pytest.approx(expected["close"].to_list())


def test_when_every_provider_fails_the_error_names_each() -> None:
    html = "<html><body>502 Bad Gateway</body></html>"
    with WORLD.serving(eastmoney_sr=json.dumps({"rc": 102, "data": None})) as mock:
        mock.replace(responses.GET, payloads.SR_URL, body=html, status=502)
        with pytest.raises(SourceFetchError) as error:
            fast_akshare().fetch(Series.ZCE_SUGAR, FIRST, LAST)
    message = str(error.value)
    assert message.startswith("every provider of zce_sugar_bars: ")
    assert "Sina futures_zh_daily_sina(symbol='SR0'): gave up after 2 attempt(s)" in message
    assert "Eastmoney futures_hist_em(symbol='白糖主连'): gave up after 2 attempt(s)" in message


def test_drift_in_both_providers_is_a_data_error_with_the_bad_values() -> None:
    sina = WORLD.sr_body().replace('"c": "', '"c": "x', 2)
    rows = json.loads(WORLD.eastmoney_sr_body())
    fields = rows["data"]["klines"][1].split(",")
    fields[2] = "-"  # the close of 2025-11-04
    rows["data"]["klines"][1] = ",".join(fields)
    eastmoney = json.dumps(rows, ensure_ascii=False)
    with WORLD.serving(sr=sina, eastmoney_sr=eastmoney), pytest.raises(SourceDataError) as error:
        fast_akshare().fetch(Series.ZCE_SUGAR, FIRST, LAST)
    assert "Sina futures_zh_daily_sina(symbol='SR0'), field 'close'" in str(error.value)
    assert "Eastmoney futures_hist_em(symbol='白糖主连')" in str(error.value)
    # The values that broke each contract, for the check's metadata.
    assert [(failure.source, failure.offending) for failure in error.value.contract_failures()] == [
        ("Sina futures_zh_daily_sina(symbol='SR0')", ["2025-11-03", "2025-11-04"]),
        ("Eastmoney futures_hist_em(symbol='白糖主连')", ["2025-11-04"]),
    ]


def test_a_hanging_service_hits_the_deadline() -> None:
    def slow(request):  # noqa: ANN001, ANN202 - responses' callback protocol
        time.sleep(3)
        return 200, {}, WORLD.bdi_body()

    with WORLD.serving() as mock:
        mock.remove(responses.GET, payloads.BDI_URL)
        mock.add_callback(responses.GET, payloads.BDI_URL, callback=slow)
        started = time.monotonic()
        with pytest.raises(SourceFetchError, match=r"Sina spot_goods.*no answer within 0.3 s"):
            fast_akshare(timeout_seconds=0.3).fetch(Series.BDI, FIRST, LAST)
    assert time.monotonic() - started < 2.5


# Eastmoney answering with an error too, so that Sina's problem is the one reported.
EASTMONEY_DOWN = json.dumps({"rc": 102, "data": None})


def test_a_renamed_field_is_reported_by_name() -> None:
    body = WORLD.ice_body().replace('"close"', '"last"')
    with WORLD.serving(ice=body, eastmoney_ice=EASTMONEY_DOWN), pytest.raises(SourceFetchError) as error:
        fast_akshare().fetch(Series.ICE_NO11, FIRST, LAST)
    assert "Sina futures_foreign_hist(symbol='RS'), field 'close': column missing" in str(error.value)


def test_text_where_a_price_belongs_is_reported() -> None:
    rows = json.loads(WORLD.ice_body().split("=(", 1)[1][:-2])
    rows[3]["close"] = "停牌"
    body = payloads.SINA_GUARD + "var _S2025_12_5=(" + json.dumps(rows, ensure_ascii=False) + ");"
    with WORLD.serving(ice=body, eastmoney_ice=EASTMONEY_DOWN), pytest.raises(SourceFetchError) as error:
        fast_akshare().fetch(Series.ICE_NO11, FIRST, LAST)
    assert "Sina futures_foreign_hist(symbol='RS'), field 'close': not a number on 2025-11-06: '停牌'" in str(
        error.value
    )
    [failure] = error.value.contract_failures()
    assert failure.offending == ["2025-11-06: '停牌'"]


def test_a_blank_close_becomes_nan_upstream_and_is_refused() -> None:
    body = re.sub(r'"c": "[0-9.]+"', '"c": ""', WORLD.sr_body(), count=1)
    with WORLD.serving(sr=body, eastmoney_sr=EASTMONEY_DOWN), pytest.raises(SourceFetchError) as error:
        fast_akshare().fetch(Series.ZCE_SUGAR, FIRST, LAST)
    assert "Sina futures_zh_daily_sina(symbol='SR0'), field 'close': missing values (NaN/empty) on 2025-11-03" in str(
        error.value
    )


def test_fx_quoted_per_usd_instead_of_per_100_is_refused() -> None:
    fx = [(day, value / 100) for day, value in WORLD.fx_rows()]
    with (
        payloads.recorded_sources(fx_history=fx[:-5], fx_recent=fx[-5:]),
        pytest.raises(SourceDataError, match=r"SAFE currency_boc_safe\(\), field '美元'.*unit changed"),
    ):
        fast_akshare().fetch(Series.USD_CNY, FIRST, LAST)
