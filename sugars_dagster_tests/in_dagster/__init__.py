"""In-process Dagster and warehouse tests: runs of small graphs, sensors and schedules evaluated
on real instances, SQLite and PostgreSQL warehouses."""
