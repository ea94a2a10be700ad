"""Local development tools: start Azurite and emulator regions, the demo, sample data.

Never deployed (see .funcignore); used by scripts/, tests/ and bench/.
"""

import sys
from pathlib import Path

# The demo and the benchmarks use this checkout's failover client, which .venv does not install: it is
# its own distribution in failover_client/ (tests find it through pytest's `pythonpath`).
_FAILOVER_CLIENT = str(Path(__file__).resolve().parents[1] / "failover_client")
if _FAILOVER_CLIENT not in sys.path:
    sys.path.insert(1, _FAILOVER_CLIENT)
