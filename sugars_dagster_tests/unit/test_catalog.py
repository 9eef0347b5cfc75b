"""What the UI's catalog shows: owners, each table's column schema from its one declaration, the
file that defines each asset, and descriptions that say what a row means."""

import dagster as dg
import pytest

from sugars_dagster.market.series import Series
from sugars_dagster.market.tables import MARKET_DAILY, RAW_SERIES, RAW_TRADING_CALENDAR, SUGAR_IMPORT_MARGIN
from sugars_dagster.warehouse.tables import metadata
from sugars_dagster_tests.support.definitions import product_definitions

defs = product_definitions()

GRAPH = defs.resolve_asset_graph()
TABLES = {
    "market_daily": MARKET_DAILY,
    "sugar_import_margin": SUGAR_IMPORT_MARGIN,
    "mainland_trading_calendar": RAW_TRADING_CALENDAR,
    **{series.value: RAW_SERIES[series] for series in Series},
}


def node(asset: str):
    return GRAPH.get(dg.AssetKey(asset))


@pytest.mark.parametrize("asset", sorted(key.to_user_string() for key in GRAPH.get_all_asset_keys()))
def test_every_asset_has_an_owner_and_a_code_reference(asset: str) -> None:
    assert node(asset).owners == ["team:sugar-market-data"]
    [reference] = node(asset).metadata["dagster/code_references"].code_references
    assert reference.file_path.endswith(".py") and "sugars_dagster/defs/assets/" in reference.file_path


@pytest.mark.parametrize("asset", list(TABLES))
def test_each_table_asset_shows_the_columns_its_table_has(asset: str) -> None:
    contract = TABLES[asset]
    shown = node(asset).metadata["dagster/column_schema"]
    assert node(asset).metadata["dagster/table_name"] == contract.name
    # The schema in the UI, the declaration and the SQL table agree column for column.
    assert [column.name for column in shown.columns] == [column.name for column in contract.columns]
    assert [column.name for column in shown.columns] == [
        column.name for column in metadata.tables[contract.name].columns
    ]
    assert all(column.description for column in shown.columns)


@pytest.mark.parametrize("asset", ["market_daily", "sugar_import_margin"])
def test_a_table_assets_description_says_what_a_row_means(asset: str) -> None:
    assert f"One row of `{asset}`: one ZCE trading day" in node(asset).description


def test_the_api_contract_columns_are_marked() -> None:
    shown = {column.name: column for column in node("market_daily").metadata["dagster/column_schema"].columns}
    contract = {
        "record_date",
        "sugar_close",
        "sugar_open",
        "usd_cny_rate",
        "bdi_index",
        "import_cost_estimate",
        "updated_at",
    }
    assert {name for name, column in shown.items() if column.description.endswith("(API contract)")} == contract
    assert shown["record_date"].constraints.unique and not shown["record_date"].constraints.nullable
