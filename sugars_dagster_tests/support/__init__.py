"""Helpers shared by the tests, the simulation and the benchmarks."""
