"""What third-party editors have written into a transcript's roots: the malformed forms
the relay must read around, and the seed's flat segment form it must read as a segment.

Each builder returns a fresh value (a pycrdt prelim can be integrated only once).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pycrdt import Map, Text

from engine import TranscriptDoc

NAN, INF = float("nan"), float("inf")


def asr(**over: Any) -> dict[str, Any]:
    """Well-formed ASR fields, with ``over`` replacing some."""
    fields: dict[str, Any] = {
        "rev": 1,
        "text": "texto malo",
        "t0": 20.0,
        "t1": 21.0,
        "speaker": "S1",
        "conf": 0.9,
        "final": True,
        "words": [],
        "lang": "es",
        "text_key": None,
        "deleted": False,
    }
    return {**fields, **over}


def _seg(key: str, *, texts: Any = None, **fields: Any) -> Callable[[], Any]:
    def build() -> Any:
        value: dict[str, Any] = {"segment_id": key, "texts": Map() if texts is None else texts()}
        for name, v in fields.items():
            value[name] = v() if callable(v) else v
        return Map(value)

    return build


def _final_text(text: str) -> Callable[[], Map[Any]]:
    return lambda: Map({"1": Text(text)})


# segment key -> the value an editor wrote for it.
BAD_SEGMENTS: dict[str, Callable[[], Any]] = {
    "bad-string": lambda: "not a segment",
    "bad-number": lambda: 42,
    "bad-null": lambda: None,
    "bad-empty-map": lambda: Map(),
    "bad-ytext": lambda: Text("a text, not a map"),
    "bad-asr-string": _seg("bad-asr-string", asr="not a map"),
    "bad-asr-list": _seg("bad-asr-list", asr=[1, 2, 3]),
    "bad-word-string-time": _seg(
        "bad-word-string-time", asr=asr(words=[["hola", "0.5", 1.0, 0.9]])
    ),
    "bad-word-nan-prob": _seg("bad-word-nan-prob", asr=asr(words=[["hola", 0.0, 1.0, NAN]])),
    "bad-nan-t0": _seg("bad-nan-t0", asr=asr(t0=NAN)),
    "bad-inf-t1": _seg("bad-inf-t1", asr=asr(t1=INF)),
    "bad-nan-conf": _seg("bad-nan-conf", asr=asr(conf=NAN)),
    "bad-string-t0": _seg("bad-string-t0", asr=asr(t0="20")),
    # Item 1 of the issue: these broke the workers' change check (final_texts).
    "bad-texts-not-map": _seg(
        "bad-texts-not-map", texts=lambda: "not a map", asr=asr(text_key="1")
    ),
    "bad-human-key-map": _seg(
        "bad-human-key-map",
        texts=_final_text("hola"),
        asr=asr(text_key="1"),
        human_key=lambda: Map({"x": 1}),
    ),
    "bad-human-key-number": _seg(
        "bad-human-key-number", texts=_final_text("hola"), asr=asr(text_key="1"), human_key=7
    ),
    "bad-human-key-missing": _seg(
        "bad-human-key-missing",
        texts=_final_text("hola"),
        asr=asr(text_key="1"),
        human_key="no-such-text",
    ),
    "bad-text-key-missing": _seg("bad-text-key-missing", asr=asr(text_key="9")),
    "bad-text-key-number": _seg(
        "bad-text-key-number", texts=_final_text("hola"), asr=asr(text_key=1)
    ),
}

# The seed's flat delta form, as a y-websocket client writes it.
FLAT_SEGMENTS: dict[str, tuple[Callable[[], Any], str]] = {
    "flat-str": (
        lambda: Map(
            {
                "segment_id": "flat-str",
                "rev": 2,
                "t0": 5.0,
                "t1": 6.5,
                "text": "texto plano del cliente",
                "speaker": "S2",
                "conf": 0.8,
            }
        ),
        "texto plano del cliente",
    ),
    "flat-ytext": (
        lambda: Map(
            {
                "segment_id": "flat-ytext",
                "rev": 1,
                "t0": 7.0,
                "t1": 8.0,
                "text": Text("texto compartido"),
                "speaker": None,
                "conf": None,
            }
        ),
        "texto compartido",
    ),
}

BAD_ACTIONS: dict[str, Callable[[], Any]] = {
    "act-string": lambda: "not an action",
    "act-span": lambda: Map({"action_id": "act-span", "text": "x", "source_span": {"from": "q"}}),
    "act-nan-conf": lambda: Map({"action_id": "act-nan-conf", "text": "y", "conf": NAN}),
    "act-status": lambda: Map({"action_id": "act-status", "text": "z", "status": 5}),
}

GOOD_TEXT = "Hola equipo, enviad el informe el viernes."


def write_good(doc: TranscriptDoc) -> None:
    doc.upsert_segment(
        "good-1", rev=1, text=GOOD_TEXT, t0=1.0, t1=3.0, speaker="S1", final=True, conf=0.9
    )
    doc.upsert_action("a-good", text="Enviar el informe", owner="Ana")


def writer(root: str, key: str, build: Callable[[], Any]) -> Callable[[TranscriptDoc], None]:
    """A change that writes ``build()`` raw at ``root[key]``."""

    def write(doc: TranscriptDoc) -> None:
        doc.doc.get(root, type=Map)[key] = build()

    return write


def every_bad_write() -> list[Callable[[TranscriptDoc], None]]:
    """One change per malformed or flat form (each its own editor update)."""
    writes = [writer("segments", k, b) for k, b in BAD_SEGMENTS.items()]
    writes += [writer("segments", k, b) for k, (b, _) in FLAT_SEGMENTS.items()]
    writes += [writer("actions", k, b) for k, b in BAD_ACTIONS.items()]
    writes.append(writer("summary", "bullets", lambda: 5))
    return writes
