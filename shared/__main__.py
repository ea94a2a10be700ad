"""`python -m shared`: see shared.cli.main."""

import sys

from shared.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
