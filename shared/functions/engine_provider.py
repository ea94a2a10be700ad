"""The one replication engine a Functions worker process shares across invocations.

Built on first use, never at import: the host indexes function_app.py before any setting is
checked, and a failed import shows up as "0 functions found" instead of a message naming the
setting. A failed build is not cached, so fixing a setting (which restarts the host anyway) or a
transient failure heals without a redeploy.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from shared.errors import ConfigurationError

if TYPE_CHECKING:
    from shared.engine import ReplicationEngine


class EngineUnavailable(Exception):
    """The engine cannot be built from the app settings; the message names the setting, never a value."""

    def __init__(self, message: str, settings: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.settings = settings  # the names of the settings in error, for the anonymous health probe


def engine_from_environment() -> ReplicationEngine:
    """Build the engine the way the deployed app does: app settings arrive as environment variables."""
    # Deferred: the engine pulls in the storage, identity and HTTP stacks, which the host need not
    # load to index the functions.
    from shared.engine import ReplicationEngine
    from shared.settings import load_settings

    return ReplicationEngine.from_settings(load_settings())


class EngineProvider:
    """Lazily builds and caches one engine; thread-safe (the worker runs sync handlers on a pool)."""

    def __init__(self, factory: Callable[[], ReplicationEngine] = engine_from_environment) -> None:
        self._factory = factory
        self._engine: ReplicationEngine | None = None
        self._lock = threading.Lock()

    def get(self) -> ReplicationEngine:
        """The cached engine, built now if needed; raises EngineUnavailable when settings are unusable."""
        engine = self._engine
        if engine is not None:
            return engine
        with self._lock:
            if self._engine is None:
                try:
                    self._engine = self._factory()
                except ConfigurationError as error:
                    setting = getattr(error, "setting", None)  # a SettingsError names its setting
                    raise EngineUnavailable(f"the app settings are not usable: {error.message}",
                                            (setting,) if isinstance(setting, str) else ()) from None
            return self._engine

    def use(self, engine: ReplicationEngine) -> None:
        """Serve this engine from now on (tests, or a host that builds the engine itself)."""
        with self._lock:
            self._engine = engine

    def clear(self) -> None:
        """Forget the cached engine; the next get() builds a fresh one from the factory."""
        with self._lock:
            self._engine = None


# Shared by every blueprint of this worker process.
engines = EngineProvider()
