"""The workers' heuristics: action items, due dates and summaries, in Spanish and English.

Scored on the shared dev set and on our own labelled sets (``tests/data``), through
the real ``minuta actions`` command and the shared scorer.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from engine.insights import extract_actions, resolve_due, summarize

DATA = Path(__file__).parent / "data"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "eval"
MINUTA = Path(sys.executable).parent / "minuta"


def score(path: Path, *, min_precision: float, min_recall: float) -> str:
    run = subprocess.run(
        [sys.executable, str(SHARED / "score_actions.py"), str(path),
         "--cmd", f"{MINUTA} actions {{path}} --today {{today}}",
         "--min-precision", str(min_precision), "--min-recall", str(min_recall)],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout


def test_the_shared_dev_set_passes_the_scorer() -> None:
    assert "precision 1.00 recall 1.00" in score(
        SHARED / "actions_dev.json", min_precision=0.9, min_recall=0.8
    )


@pytest.mark.parametrize("name", ["actions_eval.json", "actions_heldout.json"])
def test_our_labelled_sets_pass_with_a_higher_bar(name: str) -> None:
    if not (DATA / name).exists():
        pytest.fail(f"missing labelled set {name}")
    score(DATA / name, min_precision=0.9, min_recall=0.8)


# Written blind for issue 13 (16 meetings, es from Spain and Latin America, en from the
# US and the UK, ~40% actions): the rules were tuned on the first half only.
BLIND_TARGETS = {"precision": 0.90, "recall": 0.85, "owner": 0.90, "due": 0.90}


@pytest.mark.parametrize("name", ["actions_blind_tune.json", "actions_blind_test.json"])
def test_the_blind_sets_meet_the_targets(name: str) -> None:
    out = score(DATA / name, min_precision=0.90, min_recall=0.85)
    last = out.strip().splitlines()[-1]  # "actions: precision P recall R owner a/b due c/d"
    fields = last.split()
    owner_ok, correct = map(int, fields[6].split("/"))
    due_ok, _ = map(int, fields[8].split("/"))
    assert owner_ok / correct >= BLIND_TARGETS["owner"], last
    assert due_ok / correct >= BLIND_TARGETS["due"], last


MONDAY = date(2025, 6, 16)


@pytest.mark.parametrize(
    ("text", "due"),
    [
        ("Lo mando mañana", "2025-06-17"),
        ("mañana por la mañana", "2025-06-17"),
        ("Esta mañana hablamos", None),
        ("antes del viernes", "2025-06-20"),
        ("el lunes", "2025-06-23"),  # today is Monday: the next one
        ("esta semana", "2025-06-23"),
        ("la semana que viene", "2025-06-23"),
        ("a fin de mes", "2025-06-30"),
        ("by end of the month", "2025-06-30"),
        ("by Thursday", "2025-06-19"),
        ("today, please", "2025-06-16"),
        ("pronto", None),
        ("soon", None),
    ],
)
def test_due_dates_are_prudent(text: str, due: str | None) -> None:
    found = resolve_due(text, "es", MONDAY)
    assert (found.isoformat() if found else None) == due


def segs(*lines: str) -> list[dict[str, Any]]:
    out = []
    for i, line in enumerate(lines):
        speaker, text = line.split(": ", 1)
        out.append({"segment_id": f"s{i}", "speaker": speaker, "text": text})
    return out


@pytest.mark.parametrize(
    "line",
    [
        "Ana: Ya enviamos el presupuesto al cliente.",
        "Ana: Si tuviéramos tiempo, revisaríamos el contrato.",
        "Ana: Sería bueno actualizar la web algún día.",
        "Ana: ¿Quién puede llamar al proveedor?",
        "Ana: Hay riesgo de que el proveedor se retrase.",
        "Ana: No voy a enviar nada hasta tener los números.",
        "Ana: Vamos a ver qué dice el informe.",
        "Bo: I sent the deck yesterday.",
        "Bo: If we had budget we could hire a designer.",
        "Bo: We should really clean up the wiki someday.",
        "Bo: Who's handling the invoices?",
        "Bo: The launch depends on legal sign-off.",
        "Bo: I won't send anything before Friday.",
        "Bo: I'll be out on Friday.",
        "Bo: Let's go through the checklist.",
        "Bo: Marta, did you like the demo?",
    ],
)
def test_what_must_produce_no_action(line: str) -> None:
    assert extract_actions(segs(line), language=None, today=MONDAY) == []


@pytest.mark.parametrize(
    ("line", "owner", "due"),
    [
        ("Carmen: Jorge, llama al arquitecto mañana.", "Jorge", "2025-06-17"),
        ("Carmen: Marta, ¿puedes revisar el contrato antes del jueves?", "Marta", "2025-06-19"),
        ("Carmen: Me encargo de enviar las actas esta semana.", "Carmen", "2025-06-23"),
        ("Carmen: Luis va a preparar la demo.", "Luis", None),
        ("Carmen: Programaremos la reunión con el cliente.", None, None),
        ("Carmen: Yo reservo la sala mañana.", "Carmen", "2025-06-17"),
        ("Lee: Ana, please write the postmortem by Thursday.", "Ana", "2025-06-19"),
        ("Lee: I'll ping the vendor tomorrow.", "Lee", "2025-06-17"),
        ("Lee: Raj is going to set up the staging server next week.", "Raj", "2025-06-23"),
        ("Lee: Action item: update the runbook by end of the month.", None, "2025-06-30"),
        ("Lee: We'll schedule the retro on Friday.", None, "2025-06-20"),
        ("Lee: Mei, can you pull the cohort data?", "Mei", None),
    ],
)
def test_commitments_owners_and_dues(line: str, owner: str | None, due: str | None) -> None:
    [item] = extract_actions(segs(line), language=None, today=MONDAY)
    assert (item.owner, item.due) == (owner, due)
    assert item.conf >= 0.65
    assert item.source_span is None  # these segments have no times


def test_a_summary_has_facts_and_decisions_risks_and_topics() -> None:
    meeting = segs(
        "Ana: Buenos días a todos.",
        "Ana: Acordamos lanzar la campaña de verano el 3 de junio con un presupuesto de 20.000 euros.",
        "Luis: La campaña de verano llevará anuncios en radio y en redes.",
        "Luis: Hay riesgo de que la imprenta se retrase con los carteles de la campaña.",
        "Eva: El presupuesto de la campaña de verano incluye la agencia.",
        "Ana: ¿Alguna pregunta?",
        "Eva: Vale.",
    )
    result = summarize(meeting, language="es")
    assert result.bullets[0].startswith("Acordamos lanzar")
    assert not any(b.endswith("?") or b.startswith(("Buenos", "Vale")) for b in result.bullets)
    assert result.risks == [
        "Hay riesgo de que la imprenta se retrase con los carteles de la campaña."
    ]
    assert "campana verano" in result.topics or "campana" in " ".join(result.topics)
    assert json.dumps(result.as_json())


def test_the_cli_reads_an_export_and_reports_bad_input(tmp_path: Path) -> None:
    case = json.loads((SHARED / "actions_dev.json").read_text(encoding="utf-8"))[0]
    path = tmp_path / "t.json"
    path.write_text(json.dumps(case["transcript"], ensure_ascii=False), encoding="utf-8")
    run = subprocess.run([str(MINUTA), "actions", str(path)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    actions = json.loads(run.stdout)  # --today defaults to the meeting's date
    assert {a["segment_id"] for a in actions} == {g["segment_id"] for g in case["gold"]}
    assert set(actions[0]) == {"segment_id", "owner", "text", "due", "conf", "source_span"}
    summary = subprocess.run([str(MINUTA), "summary", str(path)], capture_output=True, text=True)
    assert summary.returncode == 0 and set(json.loads(summary.stdout)) == {
        "bullets",
        "risks",
        "topics",
    }
    bad = subprocess.run(
        [str(MINUTA), "actions", str(path), "--today", "ayer"], capture_output=True, text=True
    )
    assert bad.returncode == 2 and "not a date" in bad.stderr
    missing = subprocess.run(
        [str(MINUTA), "summary", str(tmp_path / "no.json")], capture_output=True, text=True
    )
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1


def test_source_span_is_the_seconds_the_sentence_was_said() -> None:
    segment: dict[str, Any] = {
        "segment_id": "s1", "speaker": "Elena", "t0": 62.0, "t1": 68.0,
        "text": "Vale, perfecto. Yo prepararé el calendario antes del viernes.",
    }  # fmt: skip
    [item] = extract_actions([segment], language="es", today=MONDAY)
    # No word times: the segment's 6 s shared out by characters.
    assert item.source_span is not None
    assert 62.0 < item.source_span[0] < 64.0 and item.source_span[1] == 68.0
    assert item.as_json()["source_span"] == {"from": item.source_span[0], "to": 68.0}
    timed = {**segment, "words": [
        (w, 62.0 + i * 0.5, 62.4 + i * 0.5, 0.9) for i, w in enumerate(segment["text"].split())
    ]}  # fmt: skip
    [item] = extract_actions([timed], language="es", today=MONDAY)
    assert item.source_span == (63.0, 66.4)  # from "Yo" to "viernes."
