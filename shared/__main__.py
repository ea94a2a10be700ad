"""`python -m shared`: see shared.cli.main."""

import os
import sys

from shared.cli.main import main

if __name__ == "__main__":
    try:
        code = main()
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader stopped early (`status | head`): not an error of ours, and no traceback for it.
        # Python's own advice: point stdout at devnull so the interpreter's final flush cannot fail too.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 0
    sys.exit(code)
