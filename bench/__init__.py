"""Latency, throughput and contention benchmarks of the booking pipeline, with two yardsticks.

`python -m bench` (or `make bench`) starts its own embedded stack on free ports, runs every
scenario against the real API and worker processes, the Temporal floor (bench/floor.py) and a
hand-written one-transaction baseline (bench/baseline.py), prints markdown tables and writes
the JSON and the latency plot under bench/results/.
"""
