"""Minuta's web page, built into ``dist/`` by ``npm run build`` in ``web/`` (and committed,
so an install needs no Node.js). Installed as the package ``minuta_web``.

Example:
    >>> (DIST / "index.html").is_file()
    True
"""

from pathlib import Path

DIST = Path(__file__).parent / "dist"
