"""Benchmarks: the desk (HTTP and SQL against plain SQL, list/detail at scale) and the simulation."""
