"""How the extractive summary's choices compare with a person's, on a labelled set.

``tests/data/summary_picks.json`` (written blind, by someone who had not seen
``engine/insights/``) holds 8 meetings of ASR-like speech (es from Spain and Latin
America, en from the US and the UK) and, per meeting, the 5 segments a person would draw
the bullets from (``picked``), other fine choices (``acceptable``), the risks, and the
segments the ASR garbled. Each bullet is traced back to the segment it came from.

    python bench/summary.py [SET.json]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

# The bench folder holds an engine.py: keep it off the import path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent.resolve()]
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.insights import summarize  # noqa: E402

DEFAULT = Path(__file__).resolve().parent.parent / "tests" / "data" / "summary_picks.json"


def source(sentence: str, segments: list[dict[str, Any]]) -> str | None:
    """The segment a bullet quotes."""
    for segment in segments:
        if sentence.strip() and sentence.strip() in segment["text"]:
            return str(segment["segment_id"])
    return None


def score(case: dict[str, Any]) -> dict[str, Any]:
    transcript = case["transcript"]
    segments = transcript["segments"]
    result = summarize(segments, language=transcript["language"])
    bullets = [source(b, segments) for b in result.bullets]
    risks = [source(r, segments) for r in result.risks]
    picked, fine = set(case["picked"]), set(case["acceptable"])
    return {
        "meeting": transcript["transcript_id"],
        "bullets": len(bullets),
        "picked": sum(b in picked for b in bullets),
        "acceptable": sum(b in fine for b in bullets),
        "garbled": sum(b in set(case["garbled"]) for b in bullets + risks),
        "risks_found": sum(r in set(case["risks"]) for r in risks),
        "risks_said": len(risks),
        "risks_labelled": len(case["risks"]),
    }


def main(path: Path = DEFAULT) -> None:
    cases = json.loads(path.read_text(encoding="utf-8"))
    rows = [score(case) for case in cases]
    print(f"summary picks: {path.name}, {len(cases)} meetings\n")
    print(
        "| meeting | bullets | a person's pick | also fine | garbled quoted | risks right / said / labelled |"
    )
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['meeting']} | {r['bullets']} | {r['picked']} | {r['acceptable']} | {r['garbled']} "
              f"| {r['risks_found']} / {r['risks_said']} / {r['risks_labelled']} |")  # fmt: skip
    total = {k: sum(r[k] for r in rows) for k in rows[0] if k != "meeting"}
    good = total["picked"] + total["acceptable"]
    print(f"| all | {total['bullets']} | {total['picked']} | {total['acceptable']} | "
          f"{total['garbled']} | {total['risks_found']} / {total['risks_said']} / "
          f"{total['risks_labelled']} |")  # fmt: skip
    print(f"\nbullets a person would accept: {good}/{total['bullets']} "
          f"({good / max(total['bullets'], 1):.0%}); a person's own 5: "
          f"{total['picked']}/{5 * len(rows)}")  # fmt: skip


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT)
