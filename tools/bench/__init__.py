"""twinsock benchmarks: `python -m tools.bench` (see tools/bench/run.py)."""
