"""The market warehouse: SQLite on a laptop, PostgreSQL in production, same code."""
