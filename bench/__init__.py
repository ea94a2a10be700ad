"""Benchmarks: speed targets live here, never in timed tests. Run each as `python -m bench.<name>`."""

# localdev puts this checkout's failover client (failover_client/) on sys.path, before any benchmark
# imports language_failover.
import localdev  # noqa: F401
