"""Run config of the assets that take it: the cost inputs, the as-of staleness limits and the
thresholds of the warning checks. Dagster shows these in the launchpad; the pure functions in
`market/` read the same attribute names (`CostSettings`, `MarginSettings`)."""

import dagster as dg
from pydantic import Field

from sugars_dagster.market.build import Staleness


class ImportCostConfig(dg.Config):
    """Cost inputs that are not market prices. Defaults suit Brazilian raw sugar into south China."""

    origin_premium_usc_lb: float = Field(
        default=0.0,
        ge=-5.0,
        le=10.0,
        description="Origin premium over ICE No.11, US cents/lb (Brazil near 0, Thailand positive).",
    )
    freight_usd_t: float = Field(
        default=40.0, ge=0.0, le=300.0, description="Ocean freight to China, USD/t (typically 30-50)."
    )
    port_charges_cny_t: float = Field(
        default=150.0,
        ge=0.0,
        le=2000.0,
        description="Port, inspection and other landed charges, CNY/t (typically 100-200).",
    )


class QualityLimits(dg.Config):
    """Thresholds of the warning checks on market_daily."""

    max_move_sugar_pct: float = Field(default=9.0, gt=0, description="Largest day-over-day move of the ZCE close, %.")
    max_move_usd_cny_pct: float = Field(default=2.0, gt=0, description="Largest day-over-day move of USD/CNY, %.")
    max_move_bdi_pct: float = Field(default=15.0, gt=0, description="Largest day-over-day move of the BDI, %.")
    max_move_ice_pct: float = Field(default=10.0, gt=0, description="Largest day-over-day move of ICE No.11, %.")
    stale_warn_usd_cny_days: int = Field(
        default=3, ge=0, description="Warn when the USD/CNY fixing used is older, days."
    )
    stale_warn_bdi_days: int = Field(default=7, ge=0, description="Warn when the BDI value used is older, days.")
    stale_warn_ice_days: int = Field(default=4, ge=0, description="Warn when the ICE close used is older, days.")

    def moves(self) -> dict[str, float]:
        return {
            "sugar_close": self.max_move_sugar_pct,
            "usd_cny_rate": self.max_move_usd_cny_pct,
            "bdi_index": self.max_move_bdi_pct,
            "ice_usc_lb": self.max_move_ice_pct,
        }

    def staleness(self) -> dict[str, int]:
        return {
            "usd_cny": self.stale_warn_usd_cny_days,
            "bdi": self.stale_warn_bdi_days,
            "ice": self.stale_warn_ice_days,
        }


class MarketDailyConfig(ImportCostConfig):
    """Import-cost inputs, how stale an as-of input may be before the run refuses the day, and
    the thresholds of the warning checks."""

    usd_cny_max_staleness_days: int = Field(
        default=7, ge=0, le=60, description="Oldest USD/CNY fixing accepted for a trading day, in days."
    )
    bdi_max_staleness_days: int = Field(
        default=14,
        ge=0,
        le=60,
        description="Oldest BDI accepted, in days (the index was weekly in its early years).",
    )
    ice_max_staleness_days: int = Field(default=7, ge=0, le=60, description="Oldest ICE No.11 close accepted, in days.")
    checks: QualityLimits = Field(default_factory=QualityLimits, description="Thresholds of the warning checks.")

    def staleness(self) -> Staleness:
        return Staleness(
            usd_cny_days=self.usd_cny_max_staleness_days,
            bdi_days=self.bdi_max_staleness_days,
            ice_days=self.ice_max_staleness_days,
        )


class ImportMarginConfig(ImportCostConfig):
    """Cost inputs, plus what turning raw sugar into white sugar costs."""

    refining_cost_cny_t: float = Field(
        default=0.0,
        ge=0.0,
        le=3000.0,
        description=(
            "Refining raw into white sugar, CNY/t, added to both landed costs before the margin "
            "(ZCE trades white sugar). 0 compares the ZCE close with raw sugar as landed."
        ),
    )
