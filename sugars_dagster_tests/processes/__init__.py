"""Tests that start the real processes: the dagster CLI, webserver, daemon, code server, a browser."""
