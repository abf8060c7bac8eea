"""The LLM backend against a real (fake) OpenAI-compatible server on a local port.

The server is a ``ThreadingHTTPServer`` in a thread: it records every request and answers
with what the test's ``reply`` function computes from the request body, or with an HTTP
error, or late.
"""

from __future__ import annotations

import itertools
import json
import logging
import math
import re
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast

import pytest

from engine.insights import ActionItem, SummaryResult, extract_actions, summarize
from relay.workers import LlmBackend, LlmConfig
from relay.workers._llm import chunk_lines, estimate_tokens, render_lines
from relay.workers._prompts import MERGE_SUMMARIES

TODAY = date(2026, 1, 14)  # a Wednesday

SEGMENTS = [
    {"segment_id": "s1", "speaker": "Carmen", "text": "Jorge, llama al arquitecto mañana."},
    {"segment_id": "s2", "speaker": "Jorge", "text": "Vale, lo hago."},
    {"segment_id": "s3", "speaker": "Lucía", "text": "Sería bueno revisar el presupuesto."},
    {"segment_id": "s4", "speaker": "Carmen", "text": "Yo preparo el informe para el viernes."},
]


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def system(self) -> str:
        return str(self.body["messages"][0]["content"])

    @property
    def user(self) -> str:
        return str(self.body["messages"][1]["content"])


@dataclass
class FakeLlm:
    url: str
    requests: list[Request] = field(default_factory=list)
    reply: Callable[[Request], str] = lambda request: "{}"
    status: int = 200
    hang: bool = False  # answer only once the test is over (or never, to the client)
    released: threading.Event = field(default_factory=threading.Event)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeLlm


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        fake = cast(_Server, self.server).fake
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        request = Request(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
        fake.requests.append(request)
        if fake.hang:
            fake.released.wait(5)
        if fake.status != 200:
            payload = b'{"error": {"message": "boom"}}'
        else:
            envelope = {
                "id": f"chatcmpl-{len(fake.requests)}",
                "object": "chat.completion",
                "model": body["model"],
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": fake.reply(request)},
                        "finish_reason": "stop",
                    }
                ],
            }
            payload = json.dumps(envelope).encode()
        try:
            self.send_response(fake.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except OSError:
            pass  # the client gave up (the timeout test)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def fake() -> Iterator[FakeLlm]:
    server = _Server(("127.0.0.1", 0), _Handler)
    server.fake = FakeLlm(url=f"http://127.0.0.1:{server.server_address[1]}/v1")
    # A short poll so that shutdown() is quick (it waits for the loop to look).
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    yield server.fake
    server.fake.released.set()
    server.shutdown()
    server.server_close()
    thread.join()


def backend(fake: FakeLlm, **options: Any) -> LlmBackend:
    return LlmBackend(LlmConfig(base_url=fake.url, model="qwen2.5-7b", **options))


def actions_reply(*actions: dict[str, Any]) -> Callable[[Request], str]:
    return lambda request: json.dumps({"actions": list(actions)})


def action(segment_id: str, conf: object = 0.9, **fields: Any) -> dict[str, Any]:
    item = {"segment_id": segment_id, "owner": "Jorge", "text": "Llamar al arquitecto"}
    return {**item, "due": "2026-01-15", "conf": conf, **fields}


def test_actions_from_the_model_keep_only_sure_ones_on_real_segments(fake: FakeLlm) -> None:
    fake.reply = actions_reply(
        action("s1", conf=0.7),
        action("s1", conf=0.9),  # the same segment twice: the surer one stays
        action("s99"),  # no such segment: made up
        action("s3", conf=0.4, owner=None, text="Revisar el presupuesto", due=None),
        action("s4", conf=0.8, owner="Carmen", text="Preparar el informe", due="2026-01-16"),
    )
    with backend(fake) as llm:
        found = llm.actions(SEGMENTS, language="es", today=TODAY)
        assert llm.last_fallback_reason is None
        assert llm.name == "llm:qwen2.5-7b"
    assert found == [
        ActionItem(
            "s1",
            "Jorge",
            "Llamar al arquitecto",
            "2026-01-15",
            0.9,
            None,  # no times: no span
        ),
        ActionItem("s4", "Carmen", "Preparar el informe", "2026-01-16", 0.8, None),
    ]
    [request] = fake.requests
    assert request.path == "/v1/chat/completions"
    assert "authorization" not in request.headers
    assert request.body["model"] == "qwen2.5-7b"
    assert request.body["temperature"] == 0
    assert request.body["response_format"] == {"type": "json_object"}
    assert [m["role"] for m in request.body["messages"]] == ["system", "user"]
    assert "Spanish" in request.system
    assert "2026-01-14 (Wednesday)" in request.system
    assert request.user.splitlines() == [
        "[s1] Carmen: Jorge, llama al arquitecto mañana.",
        "[s2] Jorge: Vale, lo hago.",
        "[s3] Lucía: Sería bueno revisar el presupuesto.",
        "[s4] Carmen: Yo preparo el informe para el viernes.",
    ]


def test_a_fenced_json_reply_is_accepted(fake: FakeLlm) -> None:
    fake.reply = lambda request: "```json\n" + json.dumps({"actions": [action("s2")]}) + "\n```"
    with backend(fake) as llm:
        found = llm.actions(SEGMENTS, language="en", today=TODAY)
        assert llm.last_fallback_reason is None
    assert [a.segment_id for a in found] == ["s2"]
    assert "English" in fake.requests[0].system


def test_the_api_key_goes_as_a_bearer_token(fake: FakeLlm) -> None:
    fake.reply = actions_reply()
    with backend(fake, api_key="sk-local-123") as llm:
        assert llm.actions(SEGMENTS, language="es", today=TODAY) == []
        assert llm.last_fallback_reason is None
    assert fake.requests[0].headers["authorization"] == "Bearer sk-local-123"


def long_meeting(n: int = 60) -> list[dict[str, Any]]:
    return [
        {
            "segment_id": f"s{i}",
            "speaker": ("Ana", "Luis", "Marta")[i % 3],
            "text": f"Point {i}: " + "we keep talking about the launch plan " * (1 + i % 4),
        }
        for i in range(n)
    ]


def ids(text: str) -> list[str]:
    return re.findall(r"^\[(s\d+)\]", text, flags=re.MULTILINE)


def test_a_long_summary_goes_in_overlapping_chunks_and_one_merge(fake: FakeLlm) -> None:
    segments = long_meeting(120)

    def reply(request: Request) -> str:
        if request.system.startswith(MERGE_SUMMARIES[:40]):
            bullets = [f"Merged {i}" for i in range(7)]  # more than asked for
            return json.dumps({"bullets": bullets, "risks": ["Late"], "topics": ["launch"]})
        first = ids(request.user)[0]
        return json.dumps({"bullets": [f"From {first}"], "risks": [], "topics": ["launch"]})

    fake.reply = reply
    with backend(fake, max_chunk_tokens=600) as llm:
        result = llm.summary(segments, language="en")
        assert llm.last_fallback_reason is None
    assert result == SummaryResult([f"Merged {i}" for i in range(5)], ["Late"], ["launch"])

    *chunks, merge = fake.requests
    assert len(chunks) >= 5
    assert all(len(ids(request.user)) >= 10 for request in chunks[:-1])  # 10% is a line or more
    windows = [ids(request.user) for request in chunks]
    assert windows[0][0] == "s0"
    assert windows[-1][-1] == "s119"
    for request in chunks:
        assert sum(estimate_tokens(line) for line in request.user.splitlines()) <= 600
    for before, after in itertools.pairwise(windows):
        repeated = math.ceil(0.10 * len(before))  # the last ~10% of the lines, again
        assert after[:repeated] == before[-repeated:]
        assert after[repeated] == f"s{int(before[-1][1:]) + 1}"  # then on, with no gap
    assert not ids(merge.user)
    partials = json.loads(merge.user)["partials"]
    assert [p["bullets"] for p in partials] == [[f"From {w[0]}"] for w in windows]


def test_a_short_summary_is_one_call(fake: FakeLlm) -> None:
    bullets = [f"Fact {i}" for i in range(6)]
    fake.reply = lambda request: json.dumps({"bullets": bullets, "risks": [], "topics": []})
    with backend(fake) as llm:
        assert llm.summary(SEGMENTS, language="es").bullets == bullets[:5]
    assert len(fake.requests) == 1


def test_chunks_overlap_by_a_tenth_and_cover_everything() -> None:
    lines = render_lines(long_meeting(200))
    chunks = chunk_lines(lines, 400, 0.10)
    assert list(dict.fromkeys(line for chunk in chunks for line in chunk)) == lines
    for before, after in itertools.pairwise(chunks):
        assert after[: math.ceil(len(before) / 10)] == before[-math.ceil(len(before) / 10) :]
    assert chunk_lines([], 400, 0.1) == []
    # A line over the budget goes alone, and is not repeated.
    assert chunk_lines(["x" * 100, "y" * 8, "z" * 8], 10, 0.5) == [["x" * 100], ["y" * 8, "z" * 8]]


BAD_ACTIONS = {
    "conf as text": {"actions": [action("s1", conf="high")]},
    "conf above 1": {"actions": [action("s1", conf=1.5)]},
    "conf a bool": {"actions": [action("s1", conf=True)]},
    "due not ISO": {"actions": [action("s1", due="next Friday")]},
    "due impossible": {"actions": [action("s1", due="2026-02-30")]},
    "owner a number": {"actions": [action("s1", owner=3)]},
    "empty text": {"actions": [action("s1", text="  ")]},
    "missing field": {"actions": [{"segment_id": "s1", "text": "x", "due": None, "conf": 1}]},
    "extra field": {"actions": [action("s1", reason="said so")]},
    "not a list": {"actions": {"s1": action("s1")}},
    "wrong top": {"items": []},
}


@pytest.mark.parametrize("reply", BAD_ACTIONS.values(), ids=BAD_ACTIONS.keys())
def test_actions_of_the_wrong_shape_fall_back_to_the_heuristics(
    fake: FakeLlm, reply: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    fake.reply = lambda request: json.dumps(reply)
    with caplog.at_level(logging.WARNING, logger="minuta.workers"), backend(fake) as llm:
        found = llm.actions(SEGMENTS, language="es", today=TODAY)
        assert llm.last_fallback_reason
    assert found == extract_actions(SEGMENTS, language="es", today=TODAY)
    assert [r.name for r in caplog.records] == ["minuta.workers"]


def test_a_summary_of_the_wrong_shape_falls_back(fake: FakeLlm) -> None:
    fake.reply = lambda request: json.dumps({"bullets": "one", "risks": [], "topics": []})
    with backend(fake) as llm:
        assert llm.summary(SEGMENTS, language="es") == summarize(SEGMENTS, language="es")
        assert llm.last_fallback_reason == "bullets is not a list"


def test_a_reply_that_is_not_json_falls_back(fake: FakeLlm) -> None:
    fake.reply = lambda request: "Sure! Jorge will call the architect tomorrow."
    with backend(fake) as llm:
        found = llm.actions(SEGMENTS, language="es", today=TODAY)
        assert "not JSON" in str(llm.last_fallback_reason)
    assert found == extract_actions(SEGMENTS, language="es", today=TODAY)
    assert [a.segment_id for a in found] == ["s1", "s4"]


def test_an_http_error_falls_back(fake: FakeLlm, caplog: pytest.LogCaptureFixture) -> None:
    fake.status = 500
    with caplog.at_level(logging.WARNING, logger="minuta.workers"), backend(fake) as llm:
        result = llm.summary(SEGMENTS, language="es")
        assert str(llm.last_fallback_reason).startswith("HTTP 500")
        assert llm.crm_note(SEGMENTS, language="es") is None
    assert result == summarize(SEGMENTS, language="es")
    assert len(caplog.records) == 2


def test_a_timeout_falls_back(fake: FakeLlm) -> None:
    fake.hang = True
    with backend(fake, timeout_s=0.5) as llm:
        found = llm.actions(SEGMENTS, language="es", today=TODAY)
        assert str(llm.last_fallback_reason).startswith("timed out")
    assert found == extract_actions(SEGMENTS, language="es", today=TODAY)


def test_no_server_falls_back() -> None:
    with socket.socket() as probe:  # a port that was free a moment ago, and closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = LlmConfig(base_url=f"http://127.0.0.1:{port}/v1", model="m", timeout_s=2)
    with LlmBackend(config) as llm:
        found = llm.actions(SEGMENTS, language="es", today=TODAY)
        assert "ConnectError" in str(llm.last_fallback_reason)
    assert found == extract_actions(SEGMENTS, language="es", today=TODAY)


def test_a_crm_note(fake: FakeLlm) -> None:
    fake.reply = lambda request: json.dumps({"note": "Carmen y Jorge revisaron la obra."})
    with backend(fake) as llm:
        assert llm.crm_note(SEGMENTS, language="es") == "Carmen y Jorge revisaron la obra."
        assert llm.crm_note([], language="es") is None
    [request] = fake.requests
    assert ids(request.user) == ["s1", "s2", "s3", "s4"]
    assert "Spanish" in request.system


def test_a_crm_note_of_a_long_meeting_is_written_from_its_summary(fake: FakeLlm) -> None:
    def reply(request: Request) -> str:
        if "CRM" in request.system:
            return json.dumps({"note": "Launch plan discussed."})
        return json.dumps({"bullets": ["Launch in May"], "risks": [], "topics": ["launch"]})

    fake.reply = reply
    with backend(fake, max_chunk_tokens=200) as llm:
        assert llm.crm_note(long_meeting(), language="en") == "Launch plan discussed."
    note = fake.requests[-1]
    assert json.loads(note.user) == {
        "bullets": ["Launch in May"],
        "risks": [],
        "topics": ["launch"],
    }


def test_config_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MINUTA_LLM_URL", "MINUTA_LLM_MODEL", "MINUTA_LLM_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    assert LlmConfig.from_env() is None
    monkeypatch.setenv("MINUTA_LLM_URL", "http://127.0.0.1:11434/v1")
    monkeypatch.setenv("MINUTA_LLM_MODEL", "llama3.1:8b")
    assert LlmConfig.from_env() == LlmConfig("http://127.0.0.1:11434/v1", "llama3.1:8b")
    monkeypatch.setenv("MINUTA_LLM_API_KEY", "secret")
    config = LlmConfig.from_env()
    assert config is not None
    assert config.api_key == "secret"
    assert config.timeout_s == 30.0
    assert (config.max_chunk_tokens, config.overlap) == (2500, 0.10)
    with LlmBackend(config) as llm:
        assert llm.name == "llm:llama3.1:8b"


def test_an_action_from_the_model_spans_its_segments_seconds(fake: FakeLlm) -> None:
    fake.reply = actions_reply(action("s1"))
    timed = [{**SEGMENTS[0], "t0": 12.5, "t1": 17.0}]
    with backend(fake) as llm:
        [found] = llm.actions(timed, language="es", today=TODAY)
    assert found.source_span == (12.5, 17.0)
