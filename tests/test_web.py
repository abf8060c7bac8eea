"""The web page in real Chromium against a real relay, with a Python agent writing.

Each test opens tabs (separate browser contexts: separate people) through
``tests/_browser.py`` and keeps screenshots in ``test-artifacts/web/``. The agent is a
pycrdt replica (``SyncClient``) writing ASR hypotheses as ``minuta transcribe`` does.
Needs Debian's ``chromium`` and ``npm ci --prefix web`` (the README's test command).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import anyio
import anyio.to_thread
import httpx
import pytest
from _browser import Browser, missing
from _relay import PASSWORD, RelayProcess, SyncClient, connected, prepare, relay_env, wait_until

from engine import Origin, TranscriptDoc


@pytest.fixture(autouse=True)
def _browser_present() -> None:
    """Chromium and the web bundle are part of the test install: missing, the test fails."""
    if (why := missing()) is not None:
        pytest.fail(why)


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
RENAMED_S1 = f"() => {{ const s = ({SHOWN})(); return s.s1?.speaker === 'Ana' }}"
# Whether the page's doc (every segment, mounted or not) shows these [segment_id, text].
SAME_TEXTS = """(want) => { const t = minuta.transcript;
  const have = [...t.segments.keys()].sort().map(id => [id, t.view(id)?.text ?? null]);
  return JSON.stringify(have) === JSON.stringify(want) }"""
PRESENT = (
    "(name) => [...document.querySelectorAll('#people li')].some(li => li.textContent === name)"
)
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


@contextlib.asynccontextmanager
async def transcript_open(
    relay: RelayProcess, browser: Browser, tab: str = "ana", user: str = "ana"
) -> AsyncIterator[tuple[SyncClient, str]]:
    """A new transcript with :data:`ASR` written by an agent, open in ``tab``."""
    transcript_id = new_transcript(relay)
    async with connected(sync_url(relay, transcript_id)) as agent:
        await agent.change(lambda d: write_asr(d, ASR))
        await blocking(open_transcript, browser, tab, user, transcript_id)
        await blocking(browser.wait, tab, "() => document.querySelectorAll('.seg').length === 4")
        yield agent, transcript_id


def entries(texts: dict[str, str]) -> list[list[str]]:
    return [[k, v] for k, v in sorted(texts.items())]


def row(segment_id: str) -> str:
    return f'.seg[data-segment-id="{segment_id}"] textarea'


def test_two_people_and_the_agent_converge(relay: RelayProcess, browser: Browser) -> None:
    transcript_id = new_transcript(relay)

    async def main() -> dict[str, str]:
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
                # The rename is its own update: it may land after the texts.
                await blocking(browser.wait, tab, RENAMED_S1)
                shown = await blocking(browser.eval, tab, SHOWN)
                assert {k: v["text"] for k, v in shown.items()} == expected
                assert shown["s1"]["speaker"] == shown["s3"]["speaker"] == "Ana"
                assert shown["s2"]["human"] and not shown["s4"]["partial"]
                await blocking(browser.wait, tab, SAVED)
            # Presence: each sees the other, and where the other's caret is.
            people = await blocking(
                browser.eval, "root", "() => document.querySelector('#people').innerText"
            )
            assert "ana" in people
            await blocking(browser.call, "caret", tab="ana", selector=row("s3"), index=2)
            await blocking(
                browser.wait, "root",
                """() => document.querySelector('.seg[data-segment-id="s3"] .peers').textContent === 'ana'
                  && document.querySelector('.seg[data-segment-id="s3"] .caret')?.previousSibling?.textContent === 'Jo'""",
            )  # fmt: skip
            await blocking(browser.screenshot, "root", "converge-2-merged")
            # ana's connection closes: the relay tells root she left (not 30 s later, at
            # her timeout), and that she is back when she reconnects (not 15 s later);
            # back, she sees root at once too.
            await blocking(browser.eval, "ana", "() => minuta.sync.provider.disconnect()")
            await blocking(browser.wait, "root", f"(name) => !({PRESENT})(name)", "ana", 5000)
            await blocking(browser.eval, "ana", "() => minuta.sync.provider.connect()")
            await blocking(browser.wait, "root", PRESENT, "ana", 5000)
            await blocking(browser.wait, "ana", PRESENT, "root", 5000)  # and she sees root
            assert await blocking(browser.errors, "ana") == []

        return expected

    expected = anyio.run(main)
    export = httpx.get(
        f"{relay.url}/transcripts/{transcript_id}/export?fmt=json",
        headers={"Authorization": f"Bearer {relay.token('ana', 'acme', 'editor')}"},
    ).json()
    assert {s["segment_id"]: s["text"] for s in export["segments"]} == expected


def test_a_human_edit_survives_later_asr_revisions(relay: RelayProcess, browser: Browser) -> None:
    async def main() -> None:
        async with transcript_open(relay, browser) as (agent, _):
            # A final (s1) and a partial (s4), corrected by hand.
            await blocking(browser.call, "caret", tab="ana", selector=row("s1"), index=0)
            await blocking(browser.call, "press", tab="ana", selector=row("s1"), key="Delete")
            await blocking(browser.call, "type", tab="ana", selector=row("s1"), text="H")
            await blocking(browser.call, "caret", tab="ana", selector=row("s4"), index=None)
            await blocking(browser.call, "type", tab="ana", selector=row("s4"), text=" técnicos")
            await wait_until(lambda: texts(agent.doc)["s4"] == "y ahora los riesgos técnicos", 15)
            # The ASR revises both afterwards, and finalizes the partial.
            await agent.change(
                lambda d: write_asr(
                    d,
                    {
                        "s1": (0.0, 2.5, "S1", "hola a todos, bienvenidos", True),
                        "s4": (8.0, 9.5, "S2", "y ahora los riesgos del proyecto", True),
                    },
                    rev=2,
                )
            )
            await blocking(
                browser.wait,
                "ana",
                "() => document.querySelector('.seg[data-segment-id=\"s4\"]').dataset.rev === '2'",
            )
            shown = await blocking(browser.eval, "ana", SHOWN)
            assert shown["s1"]["text"] == "Hola a todos bienvenidos a la reunión"
            assert shown["s4"]["text"] == "y ahora los riesgos técnicos"
            assert shown["s4"]["human"] and not shown["s4"]["partial"]
            segments = {s["segment_id"]: s for s in agent.doc.snapshot()["segments"]}
            assert segments["s1"]["text"] == "Hola a todos bienvenidos a la reunión"
            assert segments["s1"]["asr_text"] == "hola a todos, bienvenidos"
            assert segments["s4"]["edited_by"] == "ana"
            await blocking(browser.screenshot, "ana", "human-edit-survives")

    anyio.run(main)


def test_a_viewer_cannot_edit(relay: RelayProcess, browser: Browser) -> None:
    async def main() -> None:
        async with transcript_open(relay, browser, "vi", "vi") as (agent, _):
            await agent.change(
                lambda d: d.upsert_action(
                    "a-1", text="Llamar al proveedor", owner="Jorge", segment_ids=["s3"]
                )
            )
            await blocking(browser.wait, "vi", "() => document.querySelector('.a-owner')")
            shown = await blocking(browser.eval, "vi", SHOWN)
            assert all(s["readOnly"] for s in shown.values())
            state = await blocking(
                browser.eval,
                "vi",
                """() => ({status: document.querySelector('#status').textContent,
                  add: document.querySelector('.add-action') !== null,
                  regenerate: document.querySelector('.regenerate').hidden,
                  owner: document.querySelector('.a-owner').disabled,
                  rename: document.querySelector('.seg .speaker').disabled,
                  actions: document.querySelector('#actions').innerText})""",
            )
            assert "null" not in state.pop("actions")  # nothing stands in for the add form
            assert state == {"status": "Live · Read only", "add": False, "regenerate": True,
                             "owner": True, "rename": True}  # fmt: skip
            await blocking(browser.call, "type", tab="vi", selector=row("s1"), text="zzz")
            assert (await blocking(browser.eval, "vi", SHOWN))["s1"]["text"] == ASR["s1"][3]
            # Past the page, straight into its doc: the relay drops it and says so.
            await blocking(
                browser.eval, "vi", "() => minuta.transcript.editText('s1', 0, 4, 'ADIÓS', 'vi')"
            )
            await blocking(
                browser.wait,
                "vi",
                "() => /read-only/.test(document.querySelector('#toast').textContent)",
            )
            await blocking(browser.screenshot, "vi", "viewer-read-only")
            # The agent's replica (and so the relay) never got it.
            await agent.change(lambda d: write_asr(d, {"s5": (9.5, 11.0, "S1", "fin", True)}))
            await blocking(
                browser.wait, "vi", "() => document.querySelectorAll('.seg').length === 5"
            )
            assert texts(agent.doc)["s1"] == ASR["s1"][3]

    anyio.run(main)


def test_an_offline_edit_syncs_after_reconnecting(relay: RelayProcess, browser: Browser) -> None:
    async def main() -> None:
        async with transcript_open(relay, browser) as (agent, _):
            await blocking(browser.call, "offline", tab="ana", offline=True)
            await blocking(browser.wait, "ana", "() => minuta.sync.status === 'offline'")
            await blocking(browser.call, "caret", tab="ana", selector=row("s3"), index=None)
            await blocking(browser.call, "type", tab="ana", selector=row("s3"), text=" sin falta")
            # Meanwhile the agent goes on.
            await agent.change(
                lambda d: write_asr(d, {"s5": (9.5, 11.0, "S1", "siguiente punto", True)})
            )
            status = await blocking(
                browser.eval, "ana", "() => document.querySelector('#status').textContent"
            )
            assert status == "Offline · Unsaved changes", status
            await blocking(browser.screenshot, "ana", "offline-1-edited")
            await anyio.sleep(1)
            assert texts(agent.doc)["s3"] == ASR["s3"][3]
            await blocking(browser.call, "offline", tab="ana", offline=False)
            await wait_until(lambda: texts(agent.doc)["s3"] == ASR["s3"][3] + " sin falta", 20)
            await blocking(browser.wait, "ana", SAVED)
            await blocking(
                browser.wait, "ana", "() => document.querySelectorAll('.seg').length === 5"
            )
            await blocking(browser.screenshot, "ana", "offline-2-synced")

    anyio.run(main)


PENDING = "() => Object.keys(localStorage).filter((k) => k.startsWith('minuta.pending.'))"


def test_an_offline_edit_survives_closing_the_tab(relay: RelayProcess, browser: Browser) -> None:
    async def main() -> None:
        async with transcript_open(relay, browser) as (agent, transcript_id):
            await blocking(browser.call, "offline", tab="ana", offline=True)
            await blocking(browser.wait, "ana", "() => minuta.sync.status === 'offline'")
            await blocking(browser.call, "caret", tab="ana", selector=row("s1"), index=0)
            await blocking(browser.call, "type", tab="ana", selector=row("s1"), text="Bueno, ")
            await blocking(browser.wait, "ana", f"() => ({PENDING})().length === 1")
            # The tab is closed offline; the agent revises the segment meanwhile.
            await blocking(browser.call, "reopen", tab="ana", online=True)
            await agent.change(
                lambda d: write_asr(d, {"s1": (0.0, 2.0, "S1", "hola a todas", True)}, rev=2)
            )
            assert texts(agent.doc)["s1"] == "hola a todas"
            # Back later, signed in again (the tokens went with the tab): the edit is sent.
            await blocking(browser.login, "ana", "ana", PASSWORD)
            await blocking(browser.call, "goto", tab="ana", hash=f"#/t/{transcript_id}")
            want = "Bueno, " + ASR["s1"][3]
            await wait_until(lambda: texts(agent.doc)["s1"] == want, 20)
            await blocking(browser.wait, "ana", SAVED)
            await blocking(browser.wait, "ana", f"() => ({PENDING})().length === 0")
            shown = await blocking(browser.eval, "ana", SHOWN)
            assert shown["s1"]["text"] == want

    anyio.run(main)


def test_a_refused_token_returns_to_login_without_retrying(
    relay: RelayProcess, browser: Browser
) -> None:
    transcript_id = new_transcript(relay)
    browser.open("ana")
    browser.login("ana", "ana", PASSWORD)
    # The session's tokens, both expired (as after a night with the laptop closed).
    stale = {
        "access_token": relay.token("ana", "acme", "editor", hours=30),
        "refresh_token": relay.token("ana", "acme", "editor", hours=30),
        "token_type": "bearer",
    }
    browser.eval(
        "ana",
        "(tokens) => { sessionStorage.setItem('minuta.session', JSON.stringify(tokens)); }",
        stale,
    )
    browser.call("goto", tab="ana", hash=f"#/t/{transcript_id}")
    browser.eval("ana", "() => location.reload()")
    browser.wait("ana", "() => document.querySelector('#login-form') !== null")
    message = browser.eval("ana", "() => document.querySelector('#login-error').textContent")
    assert message == "Your session ended. Please sign in again."
    sockets = browser.call("sockets", tab="ana")
    browser.call("eval", tab="ana", js="() => new Promise(r => setTimeout(r, 3000))")
    assert browser.call("sockets", tab="ana") == sockets <= 2
    browser.screenshot("ana", "session-ended")
    # Signing in again leads back to the transcript.
    browser.login("ana", "ana", PASSWORD)
    browser.wait("ana", "() => window.minuta && minuta.sync.status === 'live'")


def test_summary_and_actions_panels(relay: RelayProcess, browser: Browser) -> None:
    def worker_results(d: TranscriptDoc, owner: str = "Jorge") -> None:
        d.upsert_action(
            "a-1", text="Llamar al proveedor", owner=owner, due="2026-11-26",
            conf=0.8, segment_ids=["s3"], origin=Origin.WORKER,
        )  # fmt: skip
        d.set_summary(bullets=["Presupuesto aprobado para marzo"], risks=["Depende del proveedor"])

    async def main() -> None:
        async with transcript_open(relay, browser) as (agent, _):
            await agent.change(worker_results)  # as the workers write them: live
            await blocking(
                browser.wait, "ana", "() => document.querySelector('.a-owner')?.value === 'Jorge'"
            )
            panel = await blocking(
                browser.eval, "ana", "() => document.querySelector('.panels').innerText"
            )
            assert "Presupuesto aprobado para marzo" in panel and "Depende del proveedor" in panel
            # ana changes the owner and the status, then adds an action by hand.
            await blocking(browser.call, "fill", tab="ana", selector=".a-owner", text="Rocío")
            await blocking(browser.call, "press", tab="ana", selector=".a-owner", key="Tab")
            await blocking(browser.call, "select", tab="ana", selector=".a-status", value="done")
            await blocking(
                browser.call, "fill", tab="ana", selector=".new-text", text="Enviar el acta"
            )
            await blocking(browser.call, "fill", tab="ana", selector=".new-owner", text="Ana")
            await blocking(browser.call, "press", tab="ana", selector=".new-owner", key="Enter")
            await wait_until(lambda: len(agent.doc.snapshot()["actions"]) == 2, 15)
            await wait_until(lambda: agent.doc.snapshot()["actions"][0]["status"] == "done", 15)
            first, added = agent.doc.snapshot()["actions"]
            assert first["owner"] == "Rocío" and first["edited_fields"] == ["owner", "status"]
            assert added["origin"] == "human" and added["owner"] == "Ana"
            # A later worker run keeps ana's fields.
            await agent.change(lambda d: worker_results(d, owner="Jorge"))
            await anyio.sleep(0.5)
            assert (
                await blocking(
                    browser.eval, "ana", "() => document.querySelector('.a-owner').value"
                )
                == "Rocío"
            )
            # The evidence button leads to the segment.
            await blocking(browser.call, "click", tab="ana", selector=".evidence")
            await blocking(
                browser.wait,
                "ana",
                "() => document.activeElement?.closest('.seg')?.dataset.segmentId === 's3'",
            )
            await blocking(browser.screenshot, "ana", "panels")
            # Every field fits the panel's width: nothing to scroll sideways to.
            widths = await blocking(
                browser.eval,
                "ana",
                "() => { const p = document.querySelector('.panels');"
                " return [p.scrollWidth, p.clientWidth, p.scrollLeft] }",
            )
            assert widths[0] <= widths[1] and widths[2] == 0, widths
            # Regenerate: the relay's workers run now and write their results into the doc.
            await agent.change(lambda d: d.set_summary(bullets=[]))
            await blocking(
                browser.wait, "ana", "() => document.querySelector('#summary .empty') !== null"
            )
            await blocking(browser.call, "click", tab="ana", selector=".regenerate")
            await blocking(
                browser.wait,
                "ana",
                "() => document.querySelectorAll('#summary .bullets li').length > 0",
            )

    anyio.run(main)


def test_exports_print_and_spanish(relay: RelayProcess, browser: Browser) -> None:
    async def main() -> None:
        async with transcript_open(relay, browser) as (_, transcript_id):
            for fmt, marker in (
                ("md", "# "),
                ("srt", "-->"),
                ("vtt", "WEBVTT"),
                ("json", '"segments"'),
            ):
                file = await blocking(
                    browser.call, "download", tab="ana", selector=f'[data-fmt="{fmt}"]'
                )
                assert file["name"] == f"{transcript_id}.{fmt}"
                assert marker in file["text"] and "presupuesto" in file["text"]
            # A timestamp copies itself.
            await blocking(
                browser.call, "click", tab="ana", selector='.seg[data-segment-id="s2"] .ts'
            )
            await blocking(
                browser.wait,
                "ana",
                "() => document.querySelector('#toast').textContent === 'Copied 00:02'",
            )
            assert (
                await blocking(browser.eval, "ana", "() => navigator.clipboard.readText()")
                == "00:02"
            )
            # The keyboard: down from the end of a segment goes to the next one.
            await blocking(browser.call, "caret", tab="ana", selector=row("s1"), index=None)
            await blocking(browser.call, "press", tab="ana", selector=row("s1"), key="ArrowDown")
            focused = "() => document.activeElement.closest('.seg')?.dataset.segmentId"
            assert await blocking(browser.eval, "ana", focused) == "s2"
            # Print: every segment, without the controls.
            await blocking(browser.eval, "ana", "() => dispatchEvent(new Event('beforeprint'))")
            await blocking(browser.call, "media", tab="ana", media="print")
            printed = await blocking(
                browser.eval, "ana", "() => document.querySelector('#print-copy').innerText"
            )
            assert all(text in printed for *_, text, _ in ASR.values())
            await blocking(browser.screenshot, "ana", "print")
            await blocking(browser.call, "media", tab="ana", media="screen")
            # Spanish.
            await blocking(browser.call, "select", tab="ana", selector="#lang", value="es")
            await blocking(
                browser.wait, "ana", "() => window.minuta && minuta.sync.status === 'live'"
            )
            text = await blocking(browser.eval, "ana", "() => document.body.innerText")
            assert "Resumen" in text and "Acciones" in text and "En directo" in text
            await blocking(browser.screenshot, "ana", "spanish")

    anyio.run(main)


def test_a_two_hour_transcript_is_virtualized(relay: RelayProcess, browser: Browser) -> None:
    transcript_id = new_transcript(relay)

    def two_hours(d: TranscriptDoc) -> None:
        for i in range(1500):
            d.upsert_segment(
                f"s{i:04d}", rev=1, text=f"segmento número {i} sobre el presupuesto del trimestre",
                t0=i * 4.8, t1=i * 4.8 + 4.5, speaker=f"S{i % 3 + 1}", conf=0.5 + (i % 50) / 100,
                final=True,
            )  # fmt: skip

    async def main() -> None:
        async with connected(sync_url(relay, transcript_id)) as agent:
            await agent.change(two_hours)
            await blocking(open_transcript, browser, "ana", "ana", transcript_id)
            await blocking(browser.wait, "ana", "() => minuta.list.items.length === 1500")
            rows = await blocking(
                browser.eval, "ana", "() => document.querySelectorAll('.seg').length"
            )
            assert rows < 100
            # It follows the live end: the last segment is on screen.
            await blocking(
                browser.wait,
                "ana",
                "() => document.querySelector('.seg[data-segment-id=\"s1499\"]') !== null",
            )
            # Filters: a keyword, then a speaker and a confidence threshold.
            await blocking(
                browser.call, "fill", tab="ana", selector="#f-keyword", text="número 1234 "
            )
            await blocking(browser.wait, "ana", "() => minuta.list.items.length === 1")
            await blocking(browser.call, "fill", tab="ana", selector="#f-keyword", text="")
            await blocking(browser.call, "select", tab="ana", selector="#f-speaker", value="S2")
            await blocking(
                browser.eval,
                "ana",
                "() => { const r = document.querySelector('#f-conf'); r.value = '0.9'; r.dispatchEvent(new Event('input')) }",
            )
            count = await blocking(browser.eval, "ana", "() => minuta.list.items.length")
            assert count == sum(
                1 for i in range(1500) if i % 3 == 1 and 0.5 + (i % 50) / 100 >= 0.9
            )
            await blocking(browser.screenshot, "ana", "two-hours-filtered")

    anyio.run(main)


def test_the_list_shows_live_and_ended_transcripts(relay: RelayProcess, browser: Browser) -> None:
    live = new_transcript(relay, "Comité en directo")
    ended = new_transcript(relay, "Retro de ayer")

    async def main() -> None:
        async with connected(sync_url(relay, live) + "&client=agent"):
            browser.open("ana")
            await blocking(browser.login, "ana", "ana", PASSWORD)
            await blocking(
                browser.wait,
                "ana",
                "(ids) => ids.every(id => document.querySelector(`a[href='#/t/${id}']`))",
                [live, ended],
            )
            badges = await blocking(
                browser.eval, "ana",
                """() => Object.fromEntries([...document.querySelectorAll('#transcripts li')].map(li =>
                  [li.querySelector('.title').textContent, li.querySelector('.badge').textContent]))""",
            )  # fmt: skip
            assert badges["Comité en directo"] == "Live" and badges["Retro de ayer"] == "Ended"
            # The relay searches the titles (all of them, not only the page loaded).
            await blocking(browser.call, "fill", tab="ana", selector="#search", text="RETRO")
            titles = await blocking(
                browser.wait,
                "ana",
                """() => { const t = [...document.querySelectorAll('#transcripts .title')]
                  .map(a => a.textContent); return t.length === 1 && t }""",
            )
            assert titles == ["Retro de ayer"]
            await blocking(browser.screenshot, "ana", "list")

    anyio.run(main)


def test_no_layout_jumps_while_text_streams_in(relay: RelayProcess, browser: Browser) -> None:
    """Someone reading the middle of a long transcript: the ASR revises segments above the
    screen (changing their heights) and adds new ones below; what they read stays put."""
    transcript_id = new_transcript(relay)

    def write(d: TranscriptDoc, rev: int, words: int, upto: int = 200) -> None:
        for i in range(upto):
            d.upsert_segment(
                f"s{i:03d}", rev=rev, text=" ".join(["palabra"] * words) + f" {i}",
                t0=i * 5.0, t1=i * 5.0 + 4.0, speaker="S1", conf=0.9, final=True,
            )  # fmt: skip

    where = """() => { const row = document.querySelector('.seg[data-segment-id="s100"]');
      return row ? Math.round(row.getBoundingClientRect().top) : null }"""

    async def main() -> None:
        async with connected(sync_url(relay, transcript_id)) as agent:
            await agent.change(lambda d: write(d, 1, 5))
            await blocking(open_transcript, browser, "ana", "ana", transcript_id)
            await blocking(browser.wait, "ana", "() => minuta.list.items.length === 200")
            await blocking(browser.eval, "ana", "() => minuta.list.reveal('s100')")
            await blocking(
                browser.call, "eval", tab="ana", js="() => new Promise(r => setTimeout(r, 300))"
            )
            before = await blocking(browser.eval, "ana", where)
            assert before is not None
            # Longer texts above the screen (rows grow to several lines, both rows never
            # drawn and rows drawn off screen) and a new segment below.
            await agent.change(lambda d: write(d, 2, 60, upto=90))
            await agent.change(
                lambda d: d.upsert_segment(
                    "s999", rev=1, text="nuevo", t0=5000.0, t1=5001.0, final=True
                )
            )
            await blocking(browser.wait, "ana", "() => minuta.list.items.length === 201")
            await blocking(
                browser.call, "eval", tab="ana", js="() => new Promise(r => setTimeout(r, 300))"
            )
            assert await blocking(browser.eval, "ana", where) == before
            await blocking(browser.screenshot, "ana", "no-layout-jumps")

    anyio.run(main)


def test_a_phone_sized_screen_never_scrolls_sideways(relay: RelayProcess, browser: Browser) -> None:
    transcript_id = new_transcript(relay)

    def write(d: TranscriptDoc) -> None:
        write_asr(d, ASR)
        d.upsert_action(
            "a-1", text="Llamar al proveedor antes del jueves", owner="Jorge",
            due="2026-11-26", segment_ids=["s3"],
        )  # fmt: skip
        d.set_summary(bullets=["Presupuesto aprobado para marzo"], risks=["El proveedor"])

    async def main() -> None:
        async with connected(sync_url(relay, transcript_id)) as agent:
            await agent.change(write)
            await blocking(browser.open, "phone", viewport={"width": 390, "height": 844})
            await blocking(browser.login, "phone", "ana", PASSWORD)
            await blocking(browser.call, "goto", tab="phone", hash=f"#/t/{transcript_id}")
            await blocking(browser.wait, "phone", "() => document.querySelector('.a-owner')")
            await blocking(browser.call, "offline", tab="phone", offline=True)
            await blocking(browser.wait, "phone", "() => minuta.sync.status === 'offline'")
            await blocking(browser.screenshot, "phone", "phone")
            overflowing = await blocking(
                browser.eval,
                "phone",
                """() => ['.top', '.doc-head', '.panels', '.segments'].filter((s) => {
                  const e = document.querySelector(s)
                  return e.scrollWidth > e.clientWidth
                }).concat(document.scrollingElement.scrollWidth > innerWidth ? ['page'] : [])""",
            )
            assert overflowing == []
            await blocking(browser.call, "offline", tab="phone", offline=False)

    anyio.run(main)


def test_refusals_and_oversized_text_are_explained(relay: RelayProcess, browser: Browser) -> None:
    theirs = relay.create_transcript(relay.token("zed", "other", "editor"), title="De otros")
    browser.open("ana")
    browser.login("ana", "ana", PASSWORD)
    browser.call("goto", tab="ana", hash="#/t/no-such-transcript")
    browser.wait("ana", "() => !document.querySelector('#banner').hidden")
    banner = "() => document.querySelector('#banner').textContent"
    assert browser.eval("ana", banner) == "This transcript does not exist."
    # Another org's transcript answers as an unknown one: the page cannot tell them apart.
    browser.call("goto", tab="ana", hash="#/t/no-such-transcript-either")
    browser.call("goto", tab="ana", hash=f"#/t/{theirs}")
    browser.wait("ana", "() => !document.querySelector('#banner').hidden")
    assert browser.eval("ana", banner) == "This transcript does not exist."
    # Nothing to filter, export or act on, and no claim that anything is saved.
    shown = "(s) => document.querySelector(s).checkVisibility()"
    assert not browser.eval("ana", shown, ".tools") and not browser.eval("ana", shown, ".panels")
    assert browser.eval("ana", "() => document.querySelector('#status').textContent") == (
        "Not connected"
    )
    browser.screenshot("ana", "refused")

    transcript_id = new_transcript(relay)

    async def main() -> None:
        async with connected(sync_url(relay, transcript_id)) as agent:
            await agent.change(lambda d: write_asr(d, ASR))
            await blocking(browser.call, "goto", tab="ana", hash=f"#/t/{transcript_id}")
            await blocking(
                browser.wait, "ana", "() => document.querySelectorAll('.seg').length === 4"
            )
            # A whole document pasted into a segment is cut at 10,000 characters, so the
            # update stays far below the relay's frame limit.
            await blocking(browser.call, "fill", tab="ana", selector=row("s1"), text="x" * 50_000)
            await wait_until(lambda: texts(agent.doc)["s1"] == "x" * 10_000, 15)
            await blocking(browser.wait, "ana", SAVED)
            # Escape leaves the segment; then "/" goes to the keyword filter.
            await blocking(browser.call, "press", tab="ana", selector=row("s1"), key="Escape")
            await blocking(browser.call, "press", tab="ana", selector="body", key="/")
            assert (
                await blocking(browser.eval, "ana", "() => document.activeElement.id")
                == "f-keyword"
            )

    anyio.run(main)
