"""The hallucination guard's rules, on text and on stand-ins for faster-whisper's segment scores."""

from __future__ import annotations

import zlib
from types import SimpleNamespace

import pytest

from agent.guard import GuardOptions, compression_ratio, judge, longest_repeat

EN_PARAGRAPH = (
    "Before we dive in, I want to flag that the vendor contract renewal is due on the "
    "fifteenth and legal still hasn't signed off on the data processing addendum. Marta will "
    "chase them this afternoon, and if we do not hear back by Thursday we escalate to the "
    "director, so that the launch in March does not slip again like it did last year."
)
ES_PARAGRAPH = (
    "¿Podemos revisar el presupuesto del segundo trimestre antes del viernes? La señora Núñez "
    "dijo que el año pasado la compañía gastó más de lo previsto en diseño, y que este año "
    "quiere que cada equipo explique sus gastos. ¡Es una buena idea! Mañana preparo las cifras "
    "y se las envío a todos por correo."
)


def words(text: str) -> list[str]:
    return text.split()


def seg(no_speech_prob: float, avg_logprob: float) -> SimpleNamespace:
    """The two scores the guard reads from a faster-whisper segment."""
    return SimpleNamespace(no_speech_prob=no_speech_prob, avg_logprob=avg_logprob)


@pytest.mark.parametrize(
    "text",
    [
        "Thanks for watching!",
        "Thank you for watching.",
        "thank you so much for watching",
        "Please subscribe!",
        "Subtitles by the Amara.org community",
        "Subtítulos realizados por la comunidad de Amara.org",
        "Subtítulos realizados por la comunidad de Amara.org.",
        "¡Gracias por ver el video!",
        "Suscríbete",
    ],
)
def test_stock_phrases_are_dropped(text: str) -> None:
    assert judge(text, []).reason == "stock phrase"
    # Whatever the model's confidence in them.
    assert judge(text, [seg(0.01, -0.1)]).reason == "stock phrase"


def test_a_stock_phrase_inside_real_speech_is_kept() -> None:
    text = "Thanks for watching the demo yesterday, it helped a lot."
    assert judge(text, [seg(0.02, -0.2)]).keep


@pytest.mark.parametrize(
    "text",
    [
        "no no no no",
        "No, no, no, no, no, no.",
        "we will we will we will we will",
        "Gracias. Gracias. Gracias. Gracias.",
        "one two three four one two three four one two three four one two three four",
    ],
)
def test_repeated_ngrams_are_dropped(text: str) -> None:
    assert judge(text, []).reason in ("repeated n-gram", "compression")


def test_short_repetition_is_the_repeated_ngram_rule() -> None:
    """Under 41 characters the compression rule does not apply: the n-gram rule decides."""
    assert judge("yes yes yes yes", []).reason == "repeated n-gram"
    assert judge("we will we will we will we will", []).reason == "repeated n-gram"


def test_up_to_max_repeats_is_speech() -> None:
    assert judge("no no no", []).keep  # three times in a row: people say that
    assert judge("we will we will we will", []).keep
    assert judge("no no no no no", [], GuardOptions(max_repeats=5)).keep
    assert judge("no no no no no no", [], GuardOptions(max_repeats=5)).reason == "repeated n-gram"


def test_a_loop_longer_than_max_ngram_is_caught_by_compression() -> None:
    loop = "I am going to the store right now. " * 6  # an 8-word loop: past max_ngram
    assert longest_repeat(loop.lower().replace(".", "").split(), 4) == 1
    assert compression_ratio(loop) > GuardOptions().compression_ratio
    assert judge(loop, []).reason == "compression"


@pytest.mark.parametrize(
    "text",
    [
        "And so my fellow Americans, ask not what your country can do for you.",
        "¿Dónde está la señora Núñez? ¡Llega mañana con el niño!",
        "El año pasado la compañía vendió más que nunca.",
        EN_PARAGRAPH,
        ES_PARAGRAPH,
    ],
)
def test_normal_speech_is_kept(text: str) -> None:
    assert judge(text, []).keep
    assert judge(text, [seg(0.05, -0.3), seg(0.2, -0.5)]).keep


def test_long_paragraphs_do_not_look_like_loops() -> None:
    for text in (EN_PARAGRAPH, ES_PARAGRAPH, EN_PARAGRAPH + " " + ES_PARAGRAPH):
        assert compression_ratio(text) < GuardOptions().compression_ratio
        assert longest_repeat(text.lower().split(), 4) <= GuardOptions().max_repeats


def test_silence_verdict_needs_no_speech_and_low_confidence() -> None:
    text = "I think so."
    assert judge(text, [seg(0.9, -1.2)]).reason == "silence"
    # The average over the segments decides.
    assert judge(text, [seg(0.95, -1.5), seg(0.5, -0.9)]).reason == "silence"
    # Probably no speech, but the model is sure of the words: kept.
    assert judge(text, [seg(0.9, -0.3)]).keep
    # Unsure of the words, but speech: kept.
    assert judge(text, [seg(0.1, -1.5)]).keep
    # Thresholds are options.
    assert judge(text, [seg(0.5, -1.2)]).keep
    assert judge(text, [seg(0.5, -1.2)], GuardOptions(no_speech_prob=0.4)).reason == "silence"


@pytest.mark.parametrize("text", ["", "   ", "...", "♪", "¿?¡!", "♪ ♪ ♪"])
def test_text_without_words_is_silence(text: str) -> None:
    assert judge(text, []).reason == "silence"


def test_rules_apply_in_order() -> None:
    """A stock phrase from a segment that was probably silence is reported as silence."""
    assert judge("Thanks for watching!", [seg(0.9, -1.2)]).reason == "silence"


def test_longest_repeat() -> None:
    assert longest_repeat([], 4) == 1
    assert longest_repeat(["a"], 4) == 1
    assert longest_repeat(words("a b c d"), 4) == 1
    assert longest_repeat(words("a a a"), 4) == 3
    assert longest_repeat(words("x a b a b a b y"), 4) == 3  # bigram at an odd offset
    assert longest_repeat(words("a b c a b c"), 2) == 1  # trigram not looked for
    assert longest_repeat(words("a b c a b c"), 3) == 2
    assert longest_repeat(words("uno dos tres cuatro uno dos tres cuatro"), 4) == 2


def test_compression_ratio() -> None:
    assert compression_ratio("") == 0.0
    assert compression_ratio("la " * 50) > 5
    assert compression_ratio(EN_PARAGRAPH) < 2.0
    # Bytes, not characters: accented text is measured on its UTF-8 encoding.
    assert compression_ratio("ñ") == 2 / len(zlib.compress("ñ".encode()))
