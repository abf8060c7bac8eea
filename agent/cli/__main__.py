"""``python -m agent.cli`` is ``minuta`` (for a child process when ``minuta`` is not on PATH)."""

import sys

from . import main

sys.exit(main())
