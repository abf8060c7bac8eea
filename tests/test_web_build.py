"""The committed page (``web/dist``) is what ``web/src`` builds to, and the relay serves it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

WEB = Path(__file__).resolve().parents[1] / "web"


def need_node(package: str) -> None:
    """Fail, not skip: the README's test command installs Node's packages, so their
    absence is a broken set-up, and a skip would hide it."""
    assert shutil.which("node"), "these tests need Node.js 20+ (see the README's test command)"
    assert (WEB / "node_modules" / package).is_dir(), f"{package} is missing: npm ci --prefix web"


def test_the_committed_build_is_current(tmp_path: Path) -> None:
    need_node("esbuild")
    subprocess.run(["node", str(WEB / "build.mjs"), str(tmp_path)], check=True, cwd=WEB)
    built = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    committed = {p.name: p.read_bytes() for p in (WEB / "dist").iterdir()}
    stale = sorted(name for name in built if committed.get(name) != built[name])
    assert not stale, f"web/dist is out of date ({stale}): run `npm run build --prefix web`"
    assert set(committed) == set(built)


def test_the_page_loads_only_its_own_files() -> None:
    # No CDN: the page must work with no internet, like everything else here.
    html = (WEB / "dist" / "index.html").read_text()
    assert "http://" not in html and "https://" not in html
    assert '<script type="module" src="/static/app.js">' in html


def test_the_relay_serves_the_page(tmp_path: Path) -> None:
    import httpx
    from _relay import RelayProcess, prepare, relay_env

    env = relay_env()
    relay = RelayProcess(tmp_path, env, prepare(tmp_path, env)).start()
    try:
        page = httpx.get(relay.url + "/")
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        assert page.text == (WEB / "dist" / "index.html").read_text()
        script = httpx.get(relay.url + "/static/app.js")
        assert script.status_code == 200 and "javascript" in script.headers["content-type"]
        assert (
            httpx.get(relay.url + "/static/app.css").headers["content-type"].startswith("text/css")
        )
        for name in ("../pyproject.toml", "%2e%2e%2fREADME.md", "index.html", "nope.js"):
            assert httpx.get(f"{relay.url}/static/{name}").status_code == 404, name
    finally:
        relay.stop()


def test_the_pages_doc_rules() -> None:
    """``web/test/*.test.mjs`` under Node's test runner (no browser needed)."""
    need_node("yjs")
    run = subprocess.run(
        ["node", "--test", "test/"], cwd=WEB, capture_output=True, text=True, check=False
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
