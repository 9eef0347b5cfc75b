"""Sensors: catch-up of missing days, failure alerts, and the freshness alarm."""
