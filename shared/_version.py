"""The product's version, in one place: pyproject.toml reads it, and so do the engine and the health probe.

A plain module with no imports, so the deployed app (which installs requirements.txt, not this package)
and setuptools (which reads the literal without importing) both find it.
"""

__version__ = "0.1.0"
