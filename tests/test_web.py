"""The web page in real Chromium against a real relay, with a Python agent writing.

Each test opens tabs (separate browser contexts: separate people) through
``tests/_browser.py`` and keeps screenshots in ``test-artifacts/web/``. The agent is a
pycrdt replica (``SyncClient``) writing ASR hypotheses as ``minuta transcribe`` does.
Needs Debian's ``chromium`` and ``npm ci --prefix web`` (the README's test command).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import httpx
import pytest
from _browser import Browser, missing
from _relay import PASSWORD, RelayProcess, SyncClient, connected, prepare, relay_env, wait_until

from engine import Origin, TranscriptDoc

pytestmark = pytest.mark.skipif(missing() is not None, reason=str(missing()))

# The ASR's first hypotheses: segment_id -> (t0, t1, speaker, text, final).
ASR = {
    "s1": (0.0, 2.5, "S1", "hola a todos bienvenidos a la reunión", True),
    "s2": (2.5, 6.0, "S2", "el presupuesto 👍 está aprobado para marzo", True),
    "s3": (6.0, 8.0, "S1", "Jorge, llama al proveedor mañana", True),
    "s4": (8.0, 9.5, "S2", "y ahora los riesgos", False),
}

# JS run in a tab: what the page shows, from the DOM, by segment id.
SHOWN = """() => Object.fromEntries([...document.querySelectorAll('.seg')].map(row => [
  row.dataset.segmentId,
  {text: row.querySelector('textarea').value, speaker: row.querySelector('.speaker').textContent,
   partial: row.classList.contains('partial'), human: row.classList.contains('human'),
   rev: Number(row.dataset.rev), readOnly: row.querySelector('textarea').readOnly}]))"""
# Whether the page's doc (every segment, mounted or not) shows these [segment_id, text].
SAME_TEXTS = """(want) => { const t = minuta.transcript;
  const have = [...t.segments.keys()].sort().map(id => [id, t.view(id)?.text ?? null]);
  return JSON.stringify(have) === JSON.stringify(want) }"""
SAVED = "() => document.querySelector('#status')?.dataset.saved === 'true' && minuta.sync.status === 'live'"


@pytest.fixture(scope="module")
def relay(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RelayProcess]:
    data = tmp_path_factory.mktemp("web-relay")
    env = relay_env()
    process = RelayProcess(data, env, prepare(data, env)).start()
    yield process
    process.stop()


@pytest.fixture
def browser(relay: RelayProcess) -> Iterator[Browser]:
    b = Browser(relay.url)
    yield b
    b.close()


def texts(doc: TranscriptDoc) -> dict[str, str]:
    return {s["segment_id"]: s["text"] for s in doc.snapshot()["segments"]}


def write_asr(doc: TranscriptDoc, segments: dict[str, tuple[Any, ...]], rev: int = 1) -> None:
    for segment_id, (t0, t1, speaker, text, final) in segments.items():
        doc.upsert_segment(
            segment_id, rev=rev, text=text, t0=t0, t1=t1, speaker=speaker, conf=0.9, final=final
        )


def sync_url(relay: RelayProcess, transcript_id: str, user: str = "root") -> str:
    role = {"ana": "editor", "vi": "viewer", "root": "admin"}[user]
    return f"{relay.ws}/sync/{transcript_id}?token={relay.token(user, 'acme', role)}"


async def blocking(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """A browser command, run in a thread so the agent's replica keeps syncing meanwhile."""
    return await anyio.to_thread.run_sync(lambda: fn(*args, **kwargs))


def open_transcript(browser: Browser, tab: str, user: str, transcript_id: str) -> None:
    browser.open(tab)
    browser.login(tab, user, PASSWORD)
    browser.call("goto", tab=tab, hash=f"#/t/{transcript_id}")
    browser.wait(tab, "() => window.minuta && minuta.sync.status === 'live'")


def new_transcript(relay: RelayProcess, title: str = "Reunión de presupuesto") -> str:
    return relay.create_transcript(relay.token("ana", "acme", "editor"), title=title)


def entries(texts: dict[str, str]) -> list[list[str]]:
    return [[k, v] for k, v in sorted(texts.items())]


def row(segment_id: str) -> str:
    return f'.seg[data-segment-id="{segment_id}"] textarea'


def test_two_people_and_the_agent_converge(relay: RelayProcess, browser: Browser) -> None:
    transcript_id = new_transcript(relay)

    async def main() -> None:
        async with connected(sync_url(relay, transcript_id)) as agent:
            await agent.change(lambda d: write_asr(d, ASR))
            for tab, user in (("ana", "ana"), ("root", "root")):
                await blocking(open_transcript, browser, tab, user, transcript_id)
            for tab in ("ana", "root"):
                await blocking(
                    browser.wait, tab, "() => document.querySelectorAll('.seg').length === 4"
                )
            shown = await blocking(browser.eval, "ana", SHOWN)
            assert shown["s4"]["partial"] and not shown["s1"]["partial"]
            assert shown["s2"]["text"] == ASR["s2"][3]
            await blocking(browser.screenshot, "ana", "converge-1-loaded")

            # Both people type into s2 (after the emoji, and at its end), the agent
            # meanwhile revises the partial s4 and adds s5.
            await blocking(browser.call, "caret", tab="ana", selector=row("s2"), index=18)
            await blocking(browser.call, "type", tab="ana", selector=row("s2"), text="ya ")
            await blocking(browser.call, "caret", tab="root", selector=row("s2"), index=None)
            await blocking(browser.call, "type", tab="root", selector=row("s2"), text=" y abril")
            await agent.change(
                lambda d: write_asr(
                    d, {"s4": (8.0, 9.5, "S2", "y ahora los riesgos del plan", True)}, rev=2
                )
            )
            await agent.change(
                lambda d: write_asr(d, {"s5": (9.5, 11.0, "S1", "siguiente punto", False)})
            )

            # root renames S1 in place; every S1 segment shows the name.
            await blocking(
                browser.call, "click", tab="root", selector='.seg[data-segment-id="s1"] .speaker'
            )
            await blocking(
                browser.call, "fill", tab="root", selector=".seg input.rename", text="Ana"
            )
            await blocking(
                browser.call, "press", tab="root", selector=".seg input.rename", key="Enter"
            )

            want = "el presupuesto 👍 ya está aprobado para marzo y abril"
            await wait_until(
                lambda: (
                    texts(agent.doc).get("s2") == want
                    and agent.doc.snapshot()["segments"][0]["speaker"] == "Ana"
                ),
                15,
            )
            expected = texts(agent.doc)
            assert expected["s4"] == "y ahora los riesgos del plan"
            for tab in ("ana", "root"):
                await blocking(browser.wait, tab, SAME_TEXTS, entries(expected))
                shown = await blocking(browser.eval, tab, SHOWN)
                assert {k: v["text"] for k, v in shown.items()} == expected
                assert shown["s1"]["speaker"] == shown["s3"]["speaker"] == "Ana"
                assert shown["s2"]["human"] and not shown["s4"]["partial"]
                await blocking(browser.wait, tab, SAVED)
            await blocking(browser.screenshot, "root", "converge-2-merged")
            assert await blocking(browser.errors, "ana") == []

        export = httpx.get(
            f"{relay.url}/transcripts/{transcript_id}/export?fmt=json",
            headers={"Authorization": f"Bearer {relay.token('ana', 'acme', 'editor')}"},
        ).json()
        assert {s["segment_id"]: s["text"] for s in export["segments"]} == expected

    anyio.run(main)
