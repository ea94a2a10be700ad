"""Durable runs: manifest, lock, run kinds, the step scheduler."""
