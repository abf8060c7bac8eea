"""Action items read from the grammar of a commitment, one construction at a time, in
Spanish and English: what commits someone, who, and what takes it back.

The meeting is on Monday 2025-06-16. Each case is one segment of a small meeting whose
speakers are Ana, Luis and Marta, spoken by Ana unless it says otherwise.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from engine.insights import extract_actions

MONDAY = date(2025, 6, 16)
SPEAKERS = ("Ana", "Luis", "Marta")


def meeting(*turns: tuple[str, str], language: str | None = None) -> list[dict[str, Any]]:
    """Segments from (speaker, text), with the other speakers present in a greeting."""
    segments: list[dict[str, Any]] = [
        {"segment_id": f"g{i}", "speaker": s, "text": "Hola."} for i, s in enumerate(SPEAKERS)
    ]
    segments += [
        {"segment_id": f"s{i}", "speaker": who, "text": text, "t0": 10.0 * i, "t1": 10.0 * i + 5}
        for i, (who, text) in enumerate(turns)
    ]
    return segments


def actions(text: str, speaker: str = "Ana") -> list[tuple[str | None, str | None]]:
    found = extract_actions(meeting((speaker, text)), language=None, today=MONDAY)
    return [(a.owner, a.due) for a in found]


@pytest.mark.parametrize(
    ("text", "owner", "due"),
    [
        # Simple futures, every person; a named third person.
        ("Marta enviará el presupuesto antes del martes.", "Marta", "2025-06-17"),
        ("Prepararé el informe mañana.", "Ana", "2025-06-17"),
        ("Prepararemos las cuentas esta semana.", None, "2025-06-23"),
        ("Luis revisará los planos el jueves.", "Luis", "2025-06-19"),
        ("Sam will send the invoice on Friday.", "Sam", "2025-06-20"),
        ("I'll book the room for Thursday.", "Ana", "2025-06-19"),
        # Periphrastic futures.
        ("Voy a llamar al proveedor mañana.", "Ana", "2025-06-17"),
        ("Luis va a subir las fotos al drive.", "Luis", None),
        ("I'm going to draft the contract this week.", "Ana", "2025-06-23"),
        ("we're gonna run the survey next week", None, "2025-06-23"),
        # Obligation.
        ("Tengo que pasarme por el ayuntamiento el viernes.", "Ana", "2025-06-20"),
        ("Hay que renovar el seguro de la furgoneta.", None, None),
        ("I need to send the invoice to the client by Friday.", "Ana", "2025-06-20"),
        ("someone needs to ring the council", None, None),
        # Requests and imperatives to a person.
        ("Luis, ¿podrías revisar el contrato?", "Luis", None),
        ("¿Me pasas el enlace, Marta?", "Marta", None),
        ("Marta, llama al arquitecto mañana.", "Marta", "2025-06-17"),
        ("Luis, can you book the van for Wednesday?", "Luis", "2025-06-18"),
        ("marta vos armá la presentación para mañana", "Marta", "2025-06-17"),
        ("Please, Luis, chase the supplier today.", "Luis", "2025-06-16"),
        # Volunteering and agreed next steps.
        ("Yo me encargo de la reserva del hotel.", "Ana", None),
        ("déjalo de mi cuenta, hablo yo con el banco", "Ana", None),
        ("Leave it with me, I'll sort the badges.", "Ana", None),
        ("Acordamos que Luis mande las facturas el viernes.", "Luis", "2025-06-20"),
        ("The next step will be to email the landlord.", None, None),
        ("Let's have Marta call the printers.", "Marta", None),
        # Conditional but committed; the present for the future with a time.
        ("si me mandas el contrato lo reviso mañana", "Ana", "2025-06-17"),
        ("If you send me the figures I'll update the deck by Monday.", "Ana", "2025-06-23"),
        ("te lo mando hoy", "Ana", "2025-06-16"),
        # Spoken-language noise.
        ("eh o sea yo yo voy a s- voy a mandar el eh el acta mañana", "Ana", "2025-06-17"),
        ("um so I'll s- I'll send the the deck tomorrow you know", "Ana", "2025-06-17"),
        ("bueno lo del almacén está parado y pues nada yo llamo al técnico el jueves y lo vemos",
         "Ana", "2025-06-19"),
    ],
)  # fmt: skip
def test_a_commitment_is_found_with_its_owner_and_due(
    text: str, owner: str | None, due: str | None
) -> None:
    assert actions(text) == [(owner, due)]


@pytest.mark.parametrize(
    "text",
    [
        # The past, and past plans reported.
        "Ya envié el informe al cliente.",
        "I sent the invoice yesterday.",
        "Luis dijo que lo iba a mandar pero no lo mandó.",
        "She was going to call them last week.",
        # Hypotheses and wishes.
        "Ojalá pudiéramos cambiar de proveedor.",
        "Sería bueno revisar el contrato algún día.",
        "It would be nice to redo the website.",
        "Maybe one day we could open a second office.",
        # Negated commitments.
        "No podré ir a la feria el viernes.",
        "I won't be able to send it this week.",
        "Nobody is going to do that.",
        # Risks, worries, habits, predictions, things done now in the meeting.
        "Me preocupa que el camión no llegue el lunes.",
        "There's a risk the supplier won't deliver.",
        "Normalmente mandamos el informe los lunes.",
        "Va a llover mañana.",
        "The market will grow next year.",
        "Voy a ser breve.",
        "I'm going to share my screen now.",
        # Questions nobody is asked; opinions with an obligation's form.
        "¿Quién tiene las llaves de la nave?",
        "Hay que ver cómo está el mercado.",
        "You have to love this team.",
    ],
)
def test_what_takes_a_commitment_back(text: str) -> None:
    assert actions(text) == []


def test_an_owner_named_in_the_next_turn_owns_the_question() -> None:
    found = extract_actions(
        meeting(("Ana", "¿Quién se encarga de llamar al proveedor?"), ("Luis", "Yo.")),
        language="es", today=MONDAY,
    )  # fmt: skip
    assert [(a.segment_id, a.owner) for a in found] == [("s0", "Luis")]


def test_an_open_question_nobody_takes_is_no_action() -> None:
    found = extract_actions(
        meeting(("Ana", "Who can take the board report?"), ("Luis", "The sales are up, by the way.")),
        language="en", today=MONDAY,
    )  # fmt: skip
    assert found == []


def test_an_acknowledgement_is_not_a_second_action() -> None:
    found = extract_actions(
        meeting(("Ana", "Luis, revisa el inventario el viernes."), ("Luis", "Vale, lo hago.")),
        language="es", today=MONDAY,
    )  # fmt: skip
    assert [(a.segment_id, a.owner, a.due) for a in found] == [("s0", "Luis", "2025-06-20")]


def test_the_text_is_the_clause_not_the_run_on_segment() -> None:
    [item] = extract_actions(
        meeting(("Ana", "el muro de la nave está terminado y la pintura llegó ayer pero "
                        "Luis va a pedir los azulejos el martes")),
        language="es", today=MONDAY,
    )  # fmt: skip
    assert item.text == "Luis va a pedir los azulejos el martes"
    assert item.source_span is not None and 0.0 < item.source_span[0] < item.source_span[1] <= 5.0


def test_confidence_is_graded_by_how_explicit_the_commitment_is() -> None:
    def conf(text: str) -> float:
        [item] = extract_actions(meeting(("Ana", text)), language=None, today=MONDAY)
        return item.conf

    assert conf("Luis, revisa el contrato mañana.") > conf("Revisaremos el contrato mañana.")
    assert conf("I'll send the deck.") > conf("I think I'll send the deck.") >= 0.65
