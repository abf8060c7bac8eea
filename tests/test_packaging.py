"""The wheel holds every module and data file (CI installs editable, which would hide it)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_wheel_has_every_module_and_data_file(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
         "-w", str(tmp_path), str(ROOT)],
        check=True, capture_output=True,
    )  # fmt: skip
    (wheel,) = tmp_path.glob("minuta-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {
        str(p.relative_to(ROOT))
        for top in ("engine", "agent", "relay", "migrations")
        for p in (ROOT / top).rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    # The web page's folder is installed as minuta_web, with the built page.
    expected |= {
        f"minuta_web/{p.relative_to(ROOT / 'web')}" for p in (ROOT / "web" / "dist").iterdir()
    }
    expected.add("minuta_web/__init__.py")
    assert expected - names == set()
    assert "minuta_web/dist/index.html" in names
