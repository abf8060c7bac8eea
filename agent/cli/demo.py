"""``minuta demo``: the furthest end-to-end path that exists, on embedded defaults.

Today that is the transcript engine on its own: an agent replica writes partial hypotheses
that it revises and finalizes, a second replica (a browser) corrects a segment while the
agent is revising it, the two sync in both directions, and the merged transcript is
exported to every format. Audio capture, ASR and the relay join as they land.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from engine import EXTENSIONS, FORMATS, Origin, TranscriptDoc, export

from ._common import CliError, write_text

# (speaker, t0, t1, the partial hypotheses in order, ending with the final text)
SCRIPT: tuple[tuple[str, float, float, tuple[str, ...]], ...] = (
    ("S1", 0.0, 4.2, ("Good morning", "Good morning everyone, let's", "Good morning everyone, let's start with the roadmap.")),
    ("S2", 4.6, 9.8, ("I'll send", "I'll send the draft to José", "I'll send the draft to José by Friday.")),
    ("S1", 10.1, 14.0, ("Great, and", "Great, and the budget review", "Great, and the budget review is next week.")),
    ("S2", 14.4, 19.5, ("Maria is going", "Maria is going to schedule the demo", "María is going to schedule the demo with the client.")),
)  # fmt: skip


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "demo",
        help="run the end-to-end demo on embedded defaults",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--out", metavar="DIR", default="minuta-demo", help="where to write the exports")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    agent = TranscriptDoc.create(
        "demo-0001", title="Weekly sync", language="en", model="demo script (no ASR yet)"
    )
    browser = TranscriptDoc()
    for n, (speaker, t0, t1, hypotheses) in enumerate(SCRIPT, start=1):
        segment_id = f"seg-{n:04d}"
        for rev, text in enumerate(hypotheses, start=1):
            final = rev == len(hypotheses)
            agent.upsert_segment(
                segment_id, rev=rev, text=text, t0=t0, t1=t1, speaker=speaker,
                conf=0.9, final=final, lang="en",
            )  # fmt: skip
        if n == 3:
            break  # segment 4 is still being revised when the browser catches up
    browser.apply_update(agent.encode_update(browser.state_vector()), origin=Origin.RELAY)

    # While offline from each other: a person fixes a name, the ASR revises that segment.
    browser.set_text("seg-0002", "I'll send the draft to José by Friday, 12 May.", user="ana")
    browser.rename_speaker("S1", "Ana")
    browser.rename_speaker("S2", "Luis")
    speaker, t0, t1, hypotheses = SCRIPT[3]
    for rev, text in enumerate(hypotheses, start=1):
        agent.upsert_segment(
            "seg-0004", rev=rev, text=text, t0=t0, t1=t1, speaker=speaker,
            conf=0.88, final=rev == len(hypotheses), lang="en",
        )  # fmt: skip
    agent.upsert_segment(
        "seg-0002", rev=4, text="I'll send the draft to Jose by Friday.", t0=4.6, t1=9.8,
        speaker="S2", conf=0.93, final=True, lang="en",
    )  # fmt: skip

    # Sync both ways; each side only sends what the other lacks.
    to_browser = agent.encode_update(browser.state_vector())
    to_agent = browser.encode_update(agent.state_vector())
    browser.apply_update(to_browser)
    agent.apply_update(to_agent)
    snapshot = agent.snapshot()
    assert snapshot == browser.snapshot(), "replicas diverged"

    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CliError(f"cannot create {out}: {exc.strerror or exc}") from None
    for fmt in FORMATS:
        write_text(export(snapshot, fmt), str(out / f"session{EXTENSIONS[fmt]}"))
    edited = next(s for s in snapshot["segments"] if s["segment_id"] == "seg-0002")
    print(f"Two replicas converged on {len(snapshot['segments'])} segments.")
    print(f"Human text kept:  {edited['text']!r} (by {edited['edited_by']})")
    print(f"ASR's later text: {edited['asr_text']!r} (kept as asr_text)")
    print(f"Exports written to {out}/: " + ", ".join(f"session{EXTENSIONS[f]}" for f in FORMATS))
    print()
    print(export(snapshot, "md"), end="")
    return 0
