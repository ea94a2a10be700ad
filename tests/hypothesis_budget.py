"""How hard the property tests look: one switch, HYPOTHESIS_PROFILE, for every test that uses Hypothesis.

- `ci` (the default when `CI` is set): derandomized and without the example database, so every CI run
  tries the same examples and a red build reproduces on any machine.
- `dev` (the default otherwise): random examples, and the local example database replays a failure
  found earlier until it is fixed.
- `thorough`: random and `THOROUGH_FACTOR` times the examples (and the model test's steps), for a
  deeper run before a release or after touching the engine:
  `HYPOTHESIS_PROFILE=thorough .venv/bin/pytest tests/shared/engine/test_*replication_model.py`.

tests/conftest.py loads the profile before any test module builds its settings, so a test's own
`settings(...)` inherits it and sets only what it needs (its budget, through `examples`).
"""

from __future__ import annotations

import os

from hypothesis import settings

THOROUGH_FACTOR = 10
PROFILES = ("ci", "dev", "thorough")

settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
settings.register_profile("dev")
settings.register_profile("thorough", max_examples=settings.default.max_examples * THOROUGH_FACTOR)


def profile_name(environ: dict[str, str] | None = None) -> str:
    environ = dict(os.environ) if environ is None else environ
    name = environ.get("HYPOTHESIS_PROFILE") or ("ci" if environ.get("CI") else "dev")
    if name not in PROFILES:
        raise ValueError(f"HYPOTHESIS_PROFILE: unknown profile (one of {', '.join(PROFILES)})")
    return name


def load() -> str:
    name = profile_name()
    settings.load_profile(name)
    return name


def thorough() -> bool:
    return profile_name() == "thorough"


def examples(usual: int) -> int:
    """A test's own budget, `THOROUGH_FACTOR` times larger under the thorough profile."""
    return usual * THOROUGH_FACTOR if thorough() else usual
