"""Benchmark the web page in headless Chromium against a real relay.

1. **Render**: a 2-hour transcript (``bench/engine.py``'s: 1,500 segments, each revised
   10 times by the ASR, 5% corrected by a person) is in the relay; the time from
   opening it in the page to its rows painted, split into sync (websocket, doc received)
   and the rest (views built, list laid out and painted).
2. **Scroll**: the list scrolled end to end, 300 px per frame: frame times.
3. **Typing latency** while an agent streams 5 updates/s (a partial revised, or a final
   added, as the ASR does): from each keydown to the next frame painted with the
   character, for keys typed every 120 ms into a segment.

Needs Debian's chromium and ``npm ci --prefix web``. Prints a Markdown table.

    python bench/web.py [--segments 1500] [--keys 60]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import sys
import tempfile
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# This file is named like nothing it imports, but the tests' helpers live in tests/.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent.resolve()]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import anyio  # noqa: E402
import anyio.to_thread  # noqa: E402
from _browser import Browser, missing  # noqa: E402
from _relay import PASSWORD, RelayProcess, connected, prepare, relay_env  # noqa: E402

import bench.engine as engine_bench  # noqa: E402
from engine import TranscriptDoc  # noqa: E402

SENTENCE = (
    "el presupuesto del trimestre depende de la propuesta del proveedor y de la fecha de "
    "entrega que acordamos con el equipo de ventas la semana pasada"
)
WORDS = SENTENCE.split(" ")

OPEN = """async ([hash, n]) => {
  const t0 = performance.now()
  location.hash = hash
  const frame = () => new Promise(r => requestAnimationFrame(r))
  while (!(window.minuta && minuta.list.items.length === n && document.querySelector('.seg'))) await frame()
  await new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)))
  const synced = performance.getEntriesByName('minuta:synced').at(-1)?.startTime ?? NaN
  return {total: performance.now() - t0, sync: synced - t0, rows: document.querySelectorAll('.seg').length}
}"""

SCROLL = """async () => {
  const s = document.querySelector('#segments')
  s.scrollTop = 0
  const frame = () => new Promise(r => requestAnimationFrame(r))
  await frame(); await frame()
  const times = []
  let last = performance.now()
  while (s.scrollTop + s.clientHeight < s.scrollHeight - 2) {
    s.scrollTop += 300
    await frame()
    const now = performance.now()
    times.push(now - last)
    last = now
  }
  return times
}"""

# Each keydown's time to the frame that paints its character.
WATCH_KEYS = """() => {
  window.keyLatencies = []
  document.addEventListener('keydown', (e) => {
    const t0 = performance.now()
    requestAnimationFrame(() => setTimeout(() => keyLatencies.push(performance.now() - t0), 0))
  }, true)
  window.longFrames = 0
  let last = performance.now()
  const tick = (now) => { if (now - last > 50) longFrames++; last = now; requestAnimationFrame(tick) }
  requestAnimationFrame(tick)
}"""


def revise(d: TranscriptDoc, *, seg: str, rev: int, text: str, t0: float) -> None:
    """What the ASR does as someone speaks: a partial revised, then made final."""
    d.upsert_segment(
        seg, rev=rev, text=text, t0=t0, t1=t0 + 3.5, speaker="S1", conf=0.8, final=rev == 5
    )


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def run(segments: int, keys: int, repeat: int) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        env = relay_env()
        relay = RelayProcess(data, env, prepare(data, env)).start()
        browser = Browser(relay.url)
        try:
            token = relay.token("root", "acme", "admin")
            transcript_id = relay.create_transcript(token, title="Comité", client_doc=True)
            url = f"{relay.ws}/sync/{transcript_id}?token={token}&client=agent"
            async with connected(url) as agent:
                # bench/engine.py's: 10 ASR revisions per segment, 5% corrected by a person.
                doc = engine_bench.build(segments, 10)
                await agent.change(lambda d: d.apply_update(doc.encode_update()))
                await anyio.sleep(1)
                totals, syncs = [], []
                for i in range(repeat):
                    tab = f"open{i}"
                    await anyio.to_thread.run_sync(browser.open, tab)
                    await anyio.to_thread.run_sync(browser.login, tab, "ana", PASSWORD)
                    result = await anyio.to_thread.run_sync(
                        browser.eval, tab, OPEN, [f"#/t/{transcript_id}", segments]
                    )
                    totals.append(result["total"])
                    syncs.append(result["sync"])
                    if i < repeat - 1:
                        await anyio.to_thread.run_sync(partial(browser.call, "close", tab=tab))
                tab = f"open{repeat - 1}"
                rows.append((f"open a {segments}-segment transcript: painted (median of {repeat})",
                             f"{statistics.median(totals):.0f} ms (sync {statistics.median(syncs):.0f} ms, rest {statistics.median(totals) - statistics.median(syncs):.0f} ms)"))  # fmt: skip
                rows.append(("rows in the DOM", str(result["rows"])))
                frames = await anyio.to_thread.run_sync(browser.eval, tab, SCROLL)
                rows.append((f"scroll end to end ({len(frames)} frames, 300 px each): frame p50 / p95 / max",
                             f"{pct(frames, 0.5):.1f} / {pct(frames, 0.95):.1f} / {max(frames):.1f} ms"))  # fmt: skip

                # Typing while the agent streams 5 updates/s.
                await anyio.to_thread.run_sync(browser.eval, tab, WATCH_KEYS)
                target = f'.seg[data-segment-id="seg-{segments - 1:05d}"] textarea'
                await anyio.to_thread.run_sync(
                    lambda: browser.call("caret", tab=tab, selector=target, index=None)
                )
                stop = anyio.Event()

                async def stream() -> None:
                    n = 0
                    while not stop.is_set():
                        n += 1
                        seg, rev = f"live{n // 5:04d}", n % 5 + 1
                        text = " ".join(WORDS[: 4 + rev * 2])
                        t0 = segments * 4.8 + n // 5 * 4.0
                        await agent.change(partial(revise, seg=seg, rev=rev, text=text, t0=t0))
                        await anyio.sleep(0.2)

                typed = "".join(WORDS)[:keys]
                async with anyio.create_task_group() as tg:
                    tg.start_soon(stream)
                    await anyio.sleep(1)
                    await anyio.to_thread.run_sync(
                        lambda: browser.call(
                            "type", tab=tab, selector=target, text=typed, delay_ms=120
                        )
                    )
                    await anyio.sleep(0.5)
                    stop.set()
                latencies = await anyio.to_thread.run_sync(browser.eval, tab, "() => keyLatencies")
                long_frames = await anyio.to_thread.run_sync(browser.eval, tab, "() => longFrames")
                rows.append((f"typing latency, {len(latencies)} keys at 5 updates/s: keydown to paint p50 / p95 / max",
                             f"{pct(latencies, 0.5):.1f} / {pct(latencies, 0.95):.1f} / {max(latencies):.1f} ms"))  # fmt: skip
                rows.append(("frames over 50 ms while typing and streaming", str(long_frames)))
                shown = await anyio.to_thread.run_sync(
                    browser.eval, tab, f"() => document.querySelector('{target}').value"
                )
                assert shown.endswith(typed), shown
        finally:
            browser.close()
            relay.stop()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--segments", type=int, default=1500)
    parser.add_argument("--keys", type=int, default=60)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if missing():
        sys.exit(f"bench/web.py: {missing()}")
    rows = anyio.run(run, args.segments, args.keys, args.repeat)
    chromium = subprocess.run(["chromium", "--version"], capture_output=True, text=True).stdout
    print(f"\nWeb page, headless {chromium.strip()}, {platform.machine()}, "
          f"{len(__import__('os').sched_getaffinity(0))} cores\n")  # fmt: skip
    print("| figure | measured |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")


if __name__ == "__main__":
    main()
