"""Dagster code location that loads the Chinese sugar-market `market_daily` table."""
