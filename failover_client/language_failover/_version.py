"""The distribution's version: read by pyproject.toml at build time, exported as `__version__`."""

__version__ = "0.1.0"
