"""Pure tests: no Dagster instance, no run, no database server, no product process."""
