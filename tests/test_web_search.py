"""The list page's search in real Chromium against a real relay: the text of every
transcript of the org (``GET /search``), each hit opening its transcript at its segment."""

from __future__ import annotations

from typing import Any

import anyio
import httpx
from _browser import Browser
from _relay import PASSWORD, RelayProcess, connected, wait_until
from test_web import _browser_present, blocking, sync_url, write_asr
from test_web import relay as relay

# Two transcripts of acme, one of another org, all saying "presupuesto".
BUDGET = {
    "s1": (0.0, 2.0, "S1", "hola a todos", True),
    # Text that looks like HTML: the page must show it, not parse it.
    "s2": (2.0, 5.0, "S2", "el <b>presupuesto</b> está aprobado para marzo", True),
}
LONG = 200  # segments of the retro; every 8th mentions the budget (25 of them)
RETRO = {
    f"s{i:03d}": (i * 4.0, i * 4.0 + 3.5, "S1",
                  f"punto {i} del presupuesto" if i % 8 == 0 else f"otra cosa {i}", True)
    for i in range(LONG)
}  # fmt: skip
OURS = 1 + LONG // 8  # hits in acme

__all__ = ["_browser_present", "relay"]  # fixtures, shared with test_web

HITS = """() => [...document.querySelectorAll('#hit-list .hit')].map(li => ({
  transcript_id: li.dataset.transcriptId, segment_id: li.dataset.segmentId,
  href: li.querySelector('a').getAttribute('href'),
  title: li.querySelector('.hit-title').textContent,
  time: li.querySelector('.hit-time').textContent,
  speaker: li.querySelector('.hit-speaker').textContent,
  text: li.querySelector('.hit-snippet').textContent,
  marks: [...li.querySelectorAll('.hit-snippet mark')].map(m => m.textContent),
  tags: [...li.querySelectorAll('.hit-snippet *')].map(e => e.tagName)}))"""
COUNT = "(n) => document.querySelectorAll('#hit-list .hit').length === n"
NO_HITS = (
    "() => document.querySelector('#hits-state').textContent === 'Nothing was said like that.'"
)
REFUSED = """() => { const s = document.querySelector('#hits-state');
  return s.classList.contains('error') && s.textContent }"""
SHOWN_A1 = """() => minuta.sync.synced && document.querySelector('.seg[data-segment-id="a1"]')"""
# The row of a segment, marked as the one a hit opened, and on screen in its list.
FOUND = """(id) => { const row = document.querySelector(`.seg[data-segment-id="${id}"]`);
  if (!row || !row.classList.contains('found')) return false;
  const box = document.querySelector('#segments').getBoundingClientRect();
  const r = row.getBoundingClientRect();
  return r.top >= box.top && r.bottom <= box.bottom }"""


def api_search(relay: RelayProcess, token: str, **params: Any) -> list[dict[str, Any]]:
    """Every hit of a search, page after page, as the relay ranks them."""
    hits: list[dict[str, Any]] = []
    offset: int | None = 0
    while offset is not None:
        response = httpx.get(
            f"{relay.url}/search",
            params={**params, "limit": 100, "offset": offset},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 200, response.text
        page = response.json()
        hits += page["items"]
        offset = page["next_offset"]
    return hits


def fill_wait(browser: Browser, selector: str, text: str, js: str, arg: Any) -> Any:
    """Type into a field of ana's tab, then wait for ``js(arg)``."""
    browser.call("fill", tab="ana", selector=selector, text=text)
    return browser.wait("ana", js, arg)


def keys(hits: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(h["transcript_id"], h["segment_id"]) for h in hits]


def searchable(relay: RelayProcess, token: str, q: str, count: int, timeout_s: float = 30) -> None:
    """Wait until the relay has projected (and indexed) ``count`` hits of ``q``."""
    anyio.run(wait_until, lambda: len(api_search(relay, token, q=q)) == count, timeout_s)


def test_a_search_finds_the_orgs_words_and_opens_the_segment(relay: RelayProcess) -> None:
    ana = relay.token("ana", "acme", "editor")
    zed = relay.token("zed", "other", "editor")
    budget = relay.create_transcript(ana, title="Presupuesto anual")
    retro = relay.create_transcript(ana, title="Retro")
    late = relay.create_transcript(ana, title="Llega tarde")
    theirs = relay.create_transcript(zed, title="Secreto")

    async def write() -> None:
        async with (
            connected(sync_url(relay, budget)) as one,
            connected(sync_url(relay, retro)) as two,
            connected(f"{relay.ws}/sync/{theirs}?token={zed}") as three,
        ):
            await one.change(lambda d: write_asr(d, BUDGET))
            await two.change(lambda d: write_asr(d, RETRO))
            await three.change(
                lambda d: write_asr(d, {"x1": (0.0, 2.0, "S1", "el presupuesto de ellos", True)})
            )
            await wait_until(lambda: one.acked() and two.acked() and three.acked(), 30)

    anyio.run(write)
    searchable(relay, ana, "presupuesto", OURS)
    want = api_search(relay, ana, q="presupuesto")
    assert {h["transcript_id"] for h in want} == {budget, retro}
    assert len(api_search(relay, zed, q="presupuesto")) == 1

    browser = Browser(relay.url)
    try:
        browser.open("ana")
        browser.login("ana", "ana", PASSWORD)
        fill_wait(browser, "#q", "presupuesto", COUNT, 20)
        shown = browser.eval("ana", HITS)
        # The relay's first page, in its order, each hit with its marks and no markup.
        assert keys(shown) == keys(want[:20])
        for hit, api in zip(shown, want, strict=False):
            assert hit["marks"] and all(m.lower() == "presupuesto" for m in hit["marks"])
            assert set(hit["tags"]) == {"MARK"}
            assert hit["text"] == api["snippet"] and hit["speaker"] == api["speaker"]
            assert hit["href"] == f"#/t/{hit['transcript_id']}?segment={hit['segment_id']}"
        assert browser.eval("ana", "() => location.hash") == "#/?q=presupuesto"
        assert browser.eval("ana", "() => document.querySelector('#list-body').hidden")
        browser.screenshot("ana", "search-1-hits")

        # More: the next page, then no more.
        browser.call("click", tab="ana", selector="#hits-more")
        browser.wait("ana", COUNT, OURS)
        everything = browser.eval("ana", HITS)
        assert keys(everything) == keys(want)
        browser.wait("ana", "() => document.querySelector('#hits-more').hidden")
        s2 = next(h for h in everything if h["segment_id"] == "s2")
        assert "<b>presupuesto</b>" in s2["text"] and s2["title"] == "Presupuesto anual"
        assert s2["time"] == "00:02" and set(s2["tags"]) == {"MARK"}

        # The speaker filter asks the relay; the dates too (nothing before 2000).
        speaker = s2["speaker"]
        by_speaker = api_search(relay, ana, q="presupuesto", speaker=speaker)
        assert 0 < len(by_speaker) < OURS
        fill_wait(browser, "#q-speaker", speaker, COUNT, len(by_speaker))
        assert keys(browser.eval("ana", HITS)) == keys(by_speaker)
        browser.call("fill", tab="ana", selector="#q-speaker", text="")
        fill_wait(browser, "#q-to", "2000-01-01", COUNT, 0)
        browser.wait("ana", NO_HITS)
        fill_wait(browser, "#q-to", "", COUNT, 20)

        # A hit deep in the retro opens it there: scrolled to, and marked.
        shown = browser.eval("ana", HITS)
        deepest = max(h["segment_id"] for h in shown if h["transcript_id"] == retro)
        assert deepest >= "s080", shown  # far below the first screen
        browser.call("click", tab="ana",
                     selector=f'.hit[data-segment-id="{deepest}"][data-transcript-id="{retro}"] a')  # fmt: skip
        browser.wait("ana", FOUND, deepest)
        browser.screenshot("ana", "search-2-opened")
        # Another hit of the same transcript moves the mark, without opening it again.
        browser.eval("ana", "() => { window.before = minuta.doc }")
        browser.call("goto", tab="ana", hash=f"#/t/{retro}?segment=s008")
        browser.wait("ana", FOUND, "s008")
        assert browser.eval("ana", "() => minuta.doc === window.before")
        # Back, twice: the results again, as they were.
        browser.eval("ana", "() => history.go(-2)")
        browser.wait("ana", COUNT, 20)
        assert browser.eval("ana", "() => document.querySelector('#q').value") == "presupuesto"
        assert browser.errors("ana") == []

        # A segment the doc gets only after the page opened it: marked when it comes.
        async def arrives_late() -> None:
            async with connected(sync_url(relay, late)) as agent:
                await agent.change(lambda d: write_asr(d, {"a1": (0.0, 1.0, "S1", "uno", True)}))
                await blocking(browser.call, "goto", tab="ana", hash=f"#/t/{late}?segment=b2")
                await blocking(browser.wait, "ana", SHOWN_A1)
                await agent.change(lambda d: write_asr(d, {"b2": (1.0, 2.0, "S1", "dos", True)}))
                await blocking(browser.wait, "ana", FOUND, "b2")

        anyio.run(arrives_late)

        # A query the relay refuses (no word in it): its 400 says why, on the page.
        browser.call("goto", tab="ana", hash="#/")
        browser.call("fill", tab="ana", selector="#q", text="¡¡!!")
        message = browser.wait("ana", REFUSED)
        refused = httpx.get(f"{relay.url}/search", params={"q": "¡¡!!"},
                            headers={"Authorization": f"Bearer {ana}"})  # fmt: skip
        assert refused.status_code == 400 and message == refused.json()["error"]
        assert browser.eval("ana", COUNT, 0)
    finally:
        browser.close()
