"""Assets: one raw asset per source series, and `market_daily` built from them."""
