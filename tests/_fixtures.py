"""Deterministic transcripts for the export, JSON and CLI tests.

Every timestamp is fixed (``started_at``, ``edited_at``, ``updated_at``), so the exports of
these transcripts never change between runs and can be compared with the golden files.
"""

from __future__ import annotations

from engine import Origin, TranscriptDoc, Word


def timed_words(text: str, t0: float, t1: float, *, prob: float = 0.9) -> list[Word]:
    """Word timestamps for ``text``, evenly spread over [t0, t1], to the millisecond.

    Each word gets 80% of its slot and a short pause follows it, as an ASR would report.

    Example:
        >>> timed_words("hola mundo", 1.0, 2.0)
        [('hola', 1.0, 1.4, 0.9), ('mundo', 1.5, 1.9, 0.9)]
    """
    words = text.split()
    step = (t1 - t0) / len(words)
    return [
        (w, round(t0 + i * step, 3), round(t0 + (i + 0.8) * step, 3), prob)
        for i, w in enumerate(words)
    ]


# English meeting ---------------------------------------------------------------------

EN_LONG = (
    "Before we dive in, I want to flag that the vendor contract renewal is due on the "
    "fifteenth and legal still hasn't signed off on the data processing addendum."
)
EN_EDIT_ASR = "I'll send the draft to Jose by Friday."
EN_EDIT_HUMAN = "I'll send the draft to José by Friday, 12 May."
EN_EDIT_ASR2 = "I'll send the draft to Jose by friday."


def english_transcript() -> TranscriptDoc:
    """A short English meeting with a Spanish aside, edits, renames, summary and actions.

    Segments, in order:

    ``seg-0001`` S1, with word timestamps that match its text.
    ``seg-0002`` S2, Spanish (``¿ ¡ ñ``), no word timestamps.
    ``seg-0003`` S1, longer than two subtitle lines, with word timestamps.
    ``seg-0004`` S2, corrected by a person; its (ASR) words no longer match the text, and a
    later ASR revision is kept as ``asr_text``.
    ``seg-0005`` no speaker; Markdown and WebVTT special characters.
    ``seg-0006`` S1 again.

    S1 is renamed "Ana Núñez" and S2 "Luis Peña".
    """
    t = TranscriptDoc.create(
        "weekly-2026-03-02",
        title="Weekly sync: Q2 roadmap",
        language="en",
        started_at="2026-03-02T15:00:00+00:00",
        model="whisper-large-v3-turbo",
        org_id="acme",
        retention_days=30,
    )
    first = "Good morning, everyone. Let's get started."
    t.upsert_segment(
        "seg-0001",
        rev=1,
        text=first,
        t0=0.0,
        t1=3.2,
        speaker="S1",
        conf=0.97,
        final=True,
        words=timed_words(first, 0.0, 3.2, prob=0.97),
        lang="en",
    )
    t.upsert_segment(
        "seg-0002",
        rev=1,
        text="¿Empezamos con el presupuesto? ¡Sí, señor! Mañana lo reviso.",
        t0=3.6,
        t1=8.4,
        speaker="S2",
        conf=0.88,
        final=True,
        lang="es",
    )
    t.upsert_segment(
        "seg-0003",
        rev=1,
        text=EN_LONG,
        t0=8.9,
        t1=21.7,
        speaker="S1",
        conf=0.93,
        final=True,
        words=timed_words(EN_LONG, 8.9, 21.7, prob=0.93),
        lang="en",
    )
    t.upsert_segment(
        "seg-0004",
        rev=1,
        text=EN_EDIT_ASR,
        t0=22.0,
        t1=26.5,
        speaker="S2",
        conf=0.9,
        final=True,
        words=timed_words(EN_EDIT_ASR, 22.0, 26.5),
        lang="en",
    )
    t.set_text("seg-0004", EN_EDIT_HUMAN, user="luis", at="2026-03-02T15:20:00+00:00")
    # The ASR revises the segment after the person's fix: the fix stays, this is asr_text.
    t.upsert_segment(
        "seg-0004",
        rev=2,
        text=EN_EDIT_ASR2,
        t0=22.0,
        t1=26.5,
        speaker="S2",
        conf=0.92,
        final=True,
        words=timed_words(EN_EDIT_ASR2, 22.0, 26.5),
        lang="en",
    )
    t.upsert_segment(
        "seg-0005",
        rev=1,
        text="Sorry, was that the <draft> or the *final* deck? Q2 budget is 5% over & rising.",
        t0=27.0,
        t1=31.5,
        conf=0.61,
        final=True,
        lang="en",
    )
    t.upsert_segment(
        "seg-0006",
        rev=1,
        text="The draft, please. Thanks, Luis!",
        t0=32.0,
        t1=34.25,
        speaker="S1",
        conf=0.95,
        final=True,
        lang="en",
    )
    t.rename_speaker("S1", "Ana Núñez")
    t.rename_speaker("S2", "Luis Peña")
    t.set_summary(
        bullets=[
            "Luis sends the draft to José by Friday, 12 May.",
            "The vendor contract renewal is due on the 15th.",
        ],
        risks=["Legal has not signed the data processing addendum yet."],
        topics=["roadmap", "budget", "contracts"],
        model="summarizer-v1",
        updated_at="2026-03-02T15:45:00+00:00",
    )
    t.upsert_action(
        "act-01",
        text="Send the draft to José",
        owner="Luis Peña",
        due="2026-05-12",
        status="open",
        conf=0.91,
        segment_ids=["seg-0004"],
        source_span={"from": 0, "to": 38},
    )
    t.upsert_action(
        "act-02",
        text="Chase legal about the DPA",
        owner="Ana Núñez",
        status="done",
        segment_ids=["seg-0003"],
        origin=Origin.HUMAN,
    )
    t.upsert_action(
        "act-03",
        text="Book a room for the offsite",
        status="dismissed",
        conf=0.42,
    )
    return t


# Spanish meeting ---------------------------------------------------------------------

ES_LONG = (
    "Sí: el señor Muñoz pidió que la campaña de otoño arranque en septiembre, pero el "
    "equipo de diseño todavía no tiene las piezas finales."
)


def spanish_transcript() -> TranscriptDoc:
    """A Spanish meeting that runs past one hour.

    Segments, in order:

    ``seg-0001`` S1, ``¡…!`` with word timestamps.
    ``seg-0002`` and ``seg-0003`` S2, one turn of two segments; the second is long and has
    no word timestamps, so its cues are timed in proportion to their characters.
    ``seg-0004`` S1, a one-character human fix made with ``edit_text``.
    ``seg-0005`` S3 (never renamed), after the one-hour mark.

    S1 is renamed "Ana" and S2 "José Muñoz".
    """
    t = TranscriptDoc.create(
        "reunion-2026-04-14",
        title="Reunión semanal: ¿qué sigue?",
        language="es",
        started_at="2026-04-14T09:30:00+02:00",
        model="whisper-large-v3",
    )
    hello = "¡Buenos días a todos!"
    t.upsert_segment(
        "seg-0001",
        rev=1,
        text=hello,
        t0=0.0,
        t1=2.4,
        speaker="S1",
        conf=0.96,
        final=True,
        words=timed_words(hello, 0.0, 2.4, prob=0.96),
        lang="es",
    )
    t.upsert_segment(
        "seg-0002",
        rev=1,
        text="¿Empezamos con la revisión del año?",
        t0=2.8,
        t1=5.6,
        speaker="S2",
        conf=0.91,
        final=True,
        lang="es",
    )
    t.upsert_segment(
        "seg-0003",
        rev=1,
        text=ES_LONG,
        t0=6.0,
        t1=16.5,
        speaker="S2",
        conf=0.89,
        final=True,
        lang="es",
    )
    wrong = "La reunion con el cliente es el jueves."
    t.upsert_segment(
        "seg-0004",
        rev=1,
        text=wrong,
        t0=17.0,
        t1=20.0,
        speaker="S1",
        conf=0.8,
        final=True,
        words=timed_words(wrong, 17.0, 20.0, prob=0.8),
        lang="es",
    )
    index = wrong.index("reunion") + len("reuni")
    t.edit_text("seg-0004", index, 1, "ó", user="ana", at="2026-04-14T10:05:00+02:00")
    t.upsert_segment(
        "seg-0005",
        rev=1,
        text="Perdón, se cortó la llamada. ¿Me oyen? Sigo aquí, señora Peña.",
        t0=3600.5,
        t1=3606.25,
        speaker="S3",
        conf=0.85,
        final=True,
        lang="es",
    )
    t.rename_speaker("S1", "Ana")
    t.rename_speaker("S2", "José Muñoz")
    t.set_summary(
        bullets=[
            "La campaña de otoño arranca en septiembre.",
            "La reunión con el cliente es el jueves.",
        ],
        risks=["Diseño todavía no tiene las piezas finales."],
        topics=["campaña de otoño", "cliente"],
        model="summarizer-v1",
        updated_at="2026-04-14T10:40:00+02:00",
    )
    t.upsert_action(
        "a-1",
        text="Enviar las piezas finales a José",
        owner="Diseño",
        due="2026-09-01",
        segment_ids=["seg-0003"],
    )
    t.upsert_action(
        "a-2",
        text="Confirmar la reunión del jueves",
        owner="Ana",
        status="done",
        segment_ids=["seg-0004"],
    )
    t.upsert_action("a-3", text="Reservar sala para el año próximo", status="dismissed")
    return t


FIXTURES = {"english": english_transcript, "spanish": spanish_transcript}


def sample_transcript() -> TranscriptDoc:
    """The English fixture (the richest one)."""
    return english_transcript()
