"""Latency, throughput and contention benchmarks of the booking pipeline, with a baseline.

`python -m bench` (or `make bench`) starts its own embedded stack on free ports, runs every
scenario against the real API and worker processes and against a hand-written baseline app,
prints a markdown table and writes JSON under bench/results/.
"""
