"""``python -m agent.cli`` is ``minuta`` (for a child process when ``minuta`` is not on PATH).

Worker processes (``anyio.to_process``) import the parent's main module again under
another name: hence the absolute import and the guard, or they would fail, or run the CLI.
"""

import sys

from agent.cli import main

if __name__ == "__main__":
    sys.exit(main())
