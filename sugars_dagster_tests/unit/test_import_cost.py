import datetime as dt

import pytest

from sugars_dagster.defs.config import ImportCostConfig
from sugars_dagster.market.import_cost import (
    USC_PER_LB_TO_USD_PER_TONNE,
    CostInputs,
    landed_cost_cny_t,
    out_of_quota_landed_cost_cny_t,
    out_of_quota_tariff,
    vat_rate,
)


@pytest.mark.parametrize(
    ("day", "tariff"),
    [
        (dt.date(2006, 1, 6), 0.50),
        (dt.date(2017, 5, 21), 0.50),
        (dt.date(2017, 5, 22), 0.95),  # safeguard year 1
        (dt.date(2018, 5, 21), 0.95),
        (dt.date(2018, 5, 22), 0.90),  # year 2
        (dt.date(2019, 5, 21), 0.90),
        (dt.date(2019, 5, 22), 0.85),  # year 3
        (dt.date(2020, 5, 21), 0.85),
        (dt.date(2020, 5, 22), 0.50),  # safeguard over
        (dt.date(2025, 12, 4), 0.50),
    ],
)
def test_out_of_quota_tariff_switches_on_the_safeguard_dates(day: dt.date, tariff: float) -> None:
    assert out_of_quota_tariff(day) == tariff


@pytest.mark.parametrize(
    ("day", "vat"),
    [
        (dt.date(2006, 1, 6), 0.17),
        (dt.date(2018, 4, 30), 0.17),
        (dt.date(2018, 5, 1), 0.16),
        (dt.date(2019, 3, 31), 0.16),
        (dt.date(2019, 4, 1), 0.13),
        (dt.date(2025, 12, 4), 0.13),
    ],
)
def test_vat_switches_on_its_dates(day: dt.date, vat: float) -> None:
    assert vat_rate(day) == vat


def test_worked_example_by_hand() -> None:
    # ICE 15 c/lb, no premium, USD 40/t freight -> CIF 15 x 22.0462 + 40 = 370.693 USD/t;
    # x 7.10 = 2,631.92 CNY; x 1.50 tariff = 3,947.88; x 1.13 VAT = 4,461.10; + 150 port = 4,611.10.
    cost = landed_cost_cny_t(
        CostInputs(ice_usc_lb=15.0, usd_cny=7.10, tariff=0.50, vat=0.13),
        ImportCostConfig(origin_premium_usc_lb=0.0, freight_usd_t=40.0, port_charges_cny_t=150.0),
    )
    assert cost == pytest.approx(4611.105, abs=0.001)


def test_one_cent_per_pound_is_22_dollars_per_tonne() -> None:
    config = ImportCostConfig(freight_usd_t=0.0, port_charges_cny_t=0.0)
    base = landed_cost_cny_t(CostInputs(15.0, 1.0, 0.0, 0.0), config)
    plus_one_cent = landed_cost_cny_t(CostInputs(16.0, 1.0, 0.0, 0.0), config)
    assert plus_one_cent - base == pytest.approx(USC_PER_LB_TO_USD_PER_TONNE)


def test_premium_freight_and_port_charges_enter_where_the_formula_says() -> None:
    day = dt.date(2025, 12, 4)  # 50 % tariff, 13 % VAT
    plain = ImportCostConfig(origin_premium_usc_lb=0.0, freight_usd_t=0.0, port_charges_cny_t=0.0)
    multiplier = 7.0 * 1.5 * 1.13
    assert out_of_quota_landed_cost_cny_t(day, 20.0, 7.0, plain) == pytest.approx(20 * 22.0462 * multiplier)
    with_premium = plain.model_copy(update={"origin_premium_usc_lb": 1.0})
    assert out_of_quota_landed_cost_cny_t(day, 20.0, 7.0, with_premium) == pytest.approx(21 * 22.0462 * multiplier)
    with_freight = plain.model_copy(update={"freight_usd_t": 50.0})
    assert out_of_quota_landed_cost_cny_t(day, 20.0, 7.0, with_freight) == pytest.approx(
        (20 * 22.0462 + 50) * multiplier
    )
    with_port = plain.model_copy(update={"port_charges_cny_t": 180.0})
    assert out_of_quota_landed_cost_cny_t(day, 20.0, 7.0, with_port) == pytest.approx(20 * 22.0462 * multiplier + 180)


def test_safeguard_year_costs_more_than_the_day_before() -> None:
    config = ImportCostConfig()
    before = out_of_quota_landed_cost_cny_t(dt.date(2017, 5, 21), 15.0, 6.9, config)
    during = out_of_quota_landed_cost_cny_t(dt.date(2017, 5, 22), 15.0, 6.9, config)
    assert during - config.port_charges_cny_t == pytest.approx((before - config.port_charges_cny_t) * 1.95 / 1.50)


@pytest.mark.parametrize("field", ["freight_usd_t", "port_charges_cny_t"])
def test_negative_costs_are_rejected(field: str) -> None:
    with pytest.raises(ValueError, match=field):
        ImportCostConfig(**{field: -1.0})
