"""Benchmarks of this integration against Home Assistant's built-in enphase_envoy.

Run by ``scripts/bench``; not part of the test suite (the functions are named ``bench_*``).
"""
