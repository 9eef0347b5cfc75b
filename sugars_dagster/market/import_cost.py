"""Landed cost of imported raw sugar, in CNY per tonne.

    CIF (USD/t) = (ICE No.11 c/lb + origin premium c/lb) x 22.0462 + freight USD/t
    landed      = CIF x USD/CNY x (1 + tariff) x (1 + VAT) + port and misc CNY/t

This is the one implementation of the formula; `market_daily.import_cost_estimate` uses it with
the out-of-quota tariff of the day.
"""

import bisect
import datetime as dt
from dataclasses import dataclass
from typing import Protocol

# US cents per pound -> US dollars per tonne: 2204.62 lb per tonne / 100 cents per dollar.
USC_PER_LB_TO_USD_PER_TONNE = 22.0462

IN_QUOTA_TARIFF = 0.15

# (first day, rate): out-of-quota tariff, including the 2017-05-22 -> 2020-05-21 safeguard
# duty that added 45, 40 and 35 points in its three years.
_OUT_OF_QUOTA_TARIFF_STEPS: tuple[tuple[dt.date, float], ...] = (
    (dt.date.min, 0.50),
    (dt.date(2017, 5, 22), 0.95),
    (dt.date(2018, 5, 22), 0.90),
    (dt.date(2019, 5, 22), 0.85),
    (dt.date(2020, 5, 22), 0.50),
)

# (first day, rate): VAT on sugar.
_VAT_STEPS: tuple[tuple[dt.date, float], ...] = (
    (dt.date.min, 0.17),
    (dt.date(2018, 5, 1), 0.16),
    (dt.date(2019, 4, 1), 0.13),
)


def _rate_on(day: dt.date, steps: tuple[tuple[dt.date, float], ...]) -> float:
    index = bisect.bisect_right([start for start, _ in steps], day) - 1
    return steps[index][1]


def out_of_quota_tariff(day: dt.date) -> float:
    return _rate_on(day, _OUT_OF_QUOTA_TARIFF_STEPS)


def vat_rate(day: dt.date) -> float:
    return _rate_on(day, _VAT_STEPS)


class CostSettings(Protocol):
    """The cost inputs that are not market prices (run config: `defs.config.ImportCostConfig`)."""

    origin_premium_usc_lb: float  # origin premium over ICE No.11, US cents/lb
    freight_usd_t: float  # ocean freight to China, USD/t
    port_charges_cny_t: float  # port, inspection and other landed charges, CNY/t


@dataclass(frozen=True)
class CostInputs:
    ice_usc_lb: float
    usd_cny: float
    tariff: float
    vat: float


def landed_cost_cny_t(inputs: CostInputs, config: CostSettings) -> float:
    cif_usd_t = (inputs.ice_usc_lb + config.origin_premium_usc_lb) * USC_PER_LB_TO_USD_PER_TONNE + config.freight_usd_t
    return cif_usd_t * inputs.usd_cny * (1 + inputs.tariff) * (1 + inputs.vat) + config.port_charges_cny_t


def in_quota_landed_cost_cny_t(day: dt.date, ice_usc_lb: float, usd_cny: float, config: CostSettings) -> float:
    """The in-quota (15 % tariff) landed cost on `day`, with that day's VAT."""
    return landed_cost_cny_t(CostInputs(ice_usc_lb, usd_cny, IN_QUOTA_TARIFF, vat_rate(day)), config)


def out_of_quota_landed_cost_cny_t(day: dt.date, ice_usc_lb: float, usd_cny: float, config: CostSettings) -> float:
    """The out-of-quota landed cost on `day`, with that day's tariff and VAT."""
    return landed_cost_cny_t(CostInputs(ice_usc_lb, usd_cny, out_of_quota_tariff(day), vat_rate(day)), config)
