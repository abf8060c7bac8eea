"""The two installs: ``pip install minuta`` (the agent) and ``pip install 'minuta[relay]'``.

Each install's dependency set is resolved from this install's own metadata (the
requirements of ``minuta`` and, transitively, of each distribution they name, markers
evaluated), and laid out as a site folder holding only those distributions' files (a
symlink per file of each one's RECORD, so a namespace package shared by two distributions,
``pycrdt`` and ``pycrdt.websocket``, holds only the files of those in the set). A fresh
interpreter without site-packages (``-I -S``) then imports each command's module from
that folder. The set of a clean ``pip install`` is the same one, fetched from the index
(which the machines here may not reach): the close-out checks that by hand.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from importlib.metadata import Distribution, PackageNotFoundError, distribution
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
COMMANDS: dict[str, str] = PYPROJECT["project"]["entry-points"]["minuta.commands"]
RELAY_ONLY = {"quart", "hypercorn", "sqlalchemy", "alembic", "psycopg", "argon2-cffi", "pyjwt"}


def closure(requirements: list[str], extras: frozenset[str] = frozenset()) -> set[str]:
    """The installed distributions ``requirements`` pull in, by canonical name."""
    found: set[str] = set()
    todo = [(Requirement(r), extras) for r in requirements]
    while todo:
        req, active = todo.pop()
        env_extras = active or {""}
        if req.marker is not None and not any(
            req.marker.evaluate({"extra": e}) for e in env_extras
        ):
            continue
        name = canonicalize_name(req.name)
        fresh = name not in found
        found.add(name)
        try:
            dist = distribution(name)
        except PackageNotFoundError:
            continue  # an optional dependency of a dependency, not installed here
        if fresh or req.extras:
            for sub in dist.requires or []:
                todo.append((Requirement(sub), frozenset(req.extras)))
    return found


def sides() -> dict[str, set[str]]:
    project = PYPROJECT["project"]
    agent = closure(project["dependencies"])
    relay = agent | closure(project["optional-dependencies"]["relay"])
    return {"agent": agent, "relay": relay}


def lay_out(names: set[str], site: Path) -> None:
    """A site folder with the files of ``names`` only."""
    for name in sorted(names):
        try:
            dist: Distribution = distribution(name)
        except PackageNotFoundError:
            continue
        for file in dist.files or []:
            parts = Path(file).parts
            if (
                parts[0] == ".."
                or parts[0].endswith((".dist-info", ".pth"))
                or parts[0] == "__pycache__"
            ):
                continue
            source = Path(str(dist.locate_file(file)))
            target = site / file
            if source.is_file() and not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                target.symlink_to(source)
        # Its metadata too: some packages read their own version at import.
        info = (
            Path(str(dist.locate_file("")))
            / f"{dist.metadata['Name'].replace('-', '_')}-{dist.version}.dist-info"
        )
        if info.is_dir() and not (site / info.name).exists():
            (site / info.name).symlink_to(info)


def imports(site: Path, modules: list[str]) -> subprocess.CompletedProcess[str]:
    """Import ``modules`` in a fresh interpreter that sees only ``site`` and the project."""
    code = (
        "import sys; sys.path[:0] = [sys.argv[1], sys.argv[2]]\n"
        "import importlib\n"
        "for name in sys.argv[3:]:\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "        print('ok', name)\n"
        "    except ModuleNotFoundError as exc:\n"
        "        print('missing', name, exc.name)\n"
    )
    return subprocess.run(
        [sys.executable, "-I", "-S", "-c", code, str(site), str(ROOT), *modules],
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip


def results(run: subprocess.CompletedProcess[str]) -> dict[str, str]:
    assert run.returncode == 0, run.stderr
    found = {}
    for line in run.stdout.splitlines():
        state, module, *missing = line.split()
        found[module] = state + (f" {missing[0]}" if missing else "")
    return found


@pytest.fixture(scope="module")
def dependency_sets() -> dict[str, set[str]]:
    return sides()


def test_the_agent_install_leaves_the_server_stack_out(
    dependency_sets: dict[str, set[str]],
) -> None:
    agent, relay = dependency_sets["agent"], dependency_sets["relay"]
    assert not RELAY_ONLY & agent, sorted(RELAY_ONLY & agent)
    assert relay >= RELAY_ONLY
    assert "torch" not in relay  # the CUDA build is gigabytes
    print(f"\nagent install: {len(agent)} distributions; with [relay]: {len(relay)}")


def test_each_command_imports_with_only_its_side_installed(
    dependency_sets: dict[str, set[str]], tmp_path: Path
) -> None:
    agent_commands = [m for m in COMMANDS.values() if m.startswith("agent.")]
    relay_commands = [m for m in COMMANDS.values() if m.startswith("relay.")]
    assert agent_commands and relay_commands

    lay_out(dependency_sets["agent"], tmp_path / "agent")
    alone = results(imports(tmp_path / "agent", [*agent_commands, *relay_commands, "agent.cli"]))
    assert {m: alone[m] for m in agent_commands} == {m: "ok" for m in agent_commands}
    assert alone["agent.cli"] == "ok"
    for module in relay_commands:  # the relay's commands need what only [relay] brings
        assert alone[module].startswith("missing"), (module, alone[module])

    lay_out(dependency_sets["relay"], tmp_path / "relay")
    both = results(imports(tmp_path / "relay", [*agent_commands, *relay_commands]))
    assert set(both.values()) == {"ok"}, both


def test_without_the_relay_its_commands_say_how_to_install_it(
    dependency_sets: dict[str, set[str]], tmp_path: Path
) -> None:
    """``minuta`` still runs every agent command, and a relay command says what to do."""
    site = tmp_path / "agent"
    lay_out(dependency_sets["agent"], site)
    # The entry points come from minuta's own metadata: give the sandbox a copy.
    info = site / "minuta-0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: minuta\nVersion: 0\n")
    (info / "entry_points.txt").write_text(
        distribution("minuta").read_text("entry_points.txt") or ""
    )
    code = "import sys; sys.path[:0] = [sys.argv[1], sys.argv[2]]\nfrom agent.cli import main\nsys.exit(main(sys.argv[3:]))"

    def minuta(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-I", "-S", "-c", code, str(site), str(ROOT), *args],
            capture_output=True, text=True, check=False, timeout=120,
        )  # fmt: skip

    listing = minuta("--help")
    assert listing.returncode == 0, listing.stderr
    assert "transcribe" in listing.stdout and "sync" in listing.stdout
    assert "(not installed: pip install 'minuta[relay]')" in listing.stdout
    relay = minuta("relay", "--port", "0")
    assert relay.returncode == 2
    assert "pip install 'minuta[relay]'" in relay.stderr and "Traceback" not in relay.stderr
    export = minuta("export", "--help")
    assert export.returncode == 0, export.stderr
