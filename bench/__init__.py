"""Benchmarks: speed targets live here, never in timed tests. Run each as `python -m bench.<name>`."""
