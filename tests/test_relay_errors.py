"""Every error is JSON, and bad input is a 4xx that names what is wrong (a real relay on
SQLite and on PostgreSQL). Before the fixes these gave 500s or HTML pages, and on
PostgreSQL a long title or a NUL byte left the SQL projection stuck."""

from __future__ import annotations

from typing import Any

import anyio
import httpx
import pytest
from _relay import RelayProcess as Relay
from _relay import connected, query, wait_until


@pytest.fixture(scope="module")
def editor(relay: Relay) -> dict[str, str]:
    return {"Authorization": f"Bearer {relay.token('ana', 'acme', 'editor')}"}


def assert_json_error(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json"), response.text
    assert isinstance(response.json()["error"], str)


@pytest.mark.parametrize("body", ["[1, 2]", '"title"', "42", "null", "{"])
def test_create_with_a_body_that_is_not_an_object_is_a_400(
    relay: Relay, editor: dict[str, str], body: str
) -> None:
    headers = {**editor, "Content-Type": "application/json"}
    response = httpx.post(f"{relay.url}/transcripts", content=body, headers=headers)
    if body in ("null", "{"):  # no usable body: a transcript with the defaults
        assert response.status_code == 201, response.text
    else:
        assert_json_error(response, 400)


@pytest.mark.parametrize(
    "field",
    [
        {"title": "x" * 501},
        {"title": "x" * 200_000},
        {"language": "e" * 17},
        {"title": "nul\x00byte"},
        {"title": "\ud800 lone surrogate"},
        {"language": "\udfff"},
        {"title": 42},
        {"language": ["es"]},
    ],
    ids=[
        "501 chars",
        "200 kB",
        "17-char language",
        "NUL",
        "surrogate",
        "surrogate lang",
        "number",
        "list",
    ],
)
def test_create_refuses_fields_that_cannot_be_stored(
    relay: Relay, editor: dict[str, str], field: dict[str, Any]
) -> None:
    # Sent as raw JSON text: a lone surrogate is valid JSON ("\ud800"), not valid UTF-8.
    import json

    body = json.dumps(field)
    headers = {**editor, "Content-Type": "application/json"}
    response = httpx.post(f"{relay.url}/transcripts", content=body, headers=headers)
    assert_json_error(response, 400)
    assert relay.running


def test_a_title_of_500_characters_is_stored(relay: Relay, editor: dict[str, str]) -> None:
    transcript_id = relay.create_transcript(editor["Authorization"][7:], title="ñ" * 500)
    response = httpx.get(f"{relay.url}/transcripts/{transcript_id}", headers=editor)
    assert response.json()["title"] == "ñ" * 500


@pytest.mark.parametrize(
    "query", ["offset=9223372036854775808", "offset=-1", "limit=abc", "offset=1e3", "limit=0"]
)
def test_list_with_out_of_range_paging_is_a_400(
    relay: Relay, editor: dict[str, str], query: str
) -> None:
    assert_json_error(httpx.get(f"{relay.url}/transcripts?{query}", headers=editor), 400)


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/no/such/path", 404),
        ("GET", "/static/" + "a" * 5000 + ".js", 404),
        ("GET", "/static/../../etc/passwd", 404),
        ("PUT", "/transcripts", 405),
        ("DELETE", "/healthz", 405),
    ],
)
def test_unknown_paths_and_methods_answer_json(
    relay: Relay, method: str, path: str, status: int
) -> None:
    assert_json_error(httpx.request(method, relay.url + path), status)


def test_a_body_over_the_size_limit_is_a_json_413(relay: Relay, editor: dict[str, str]) -> None:
    headers = {**editor, "Content-Type": "application/json"}
    body = b'{"title": "' + b"x" * (2 * 2**20) + b'"}'
    assert_json_error(httpx.post(f"{relay.url}/transcripts", content=body, headers=headers), 413)


def test_regenerate_on_a_transcript_with_no_doc_is_not_a_500(
    relay: Relay, editor: dict[str, str]
) -> None:
    # client_doc: the transcript exists, its doc is still to come from the agent.
    token = editor["Authorization"][7:]
    transcript_id = relay.create_transcript(token, client_doc=True)
    response = httpx.post(f"{relay.url}/transcripts/{transcript_id}/summary", headers=editor)
    assert response.status_code == 200, response.text
    assert response.json() == {}
    assert relay.running


def test_a_long_title_or_nul_written_into_the_doc_does_not_stick_the_projection(
    relay: Relay, editor: dict[str, str], database_url: str
) -> None:
    """A client's doc is not checked like a request body: the projection must store what
    it can (a capped title, no NUL) and go on projecting."""
    token = editor["Authorization"][7:]
    transcript_id = relay.create_transcript(token)
    url = f"{relay.ws}/sync/{transcript_id}?token={token}"

    async def write() -> None:
        async with connected(url) as client:
            await client.change(lambda d: d.set_meta(title="t" * 600 + "\x00", language="x" * 40))
            await client.change(
                lambda d: d.upsert_segment("s1", rev=1, text="hola\x00", t0=0, t1=1, final=True)
            )
            await wait_until(client.acked)

    anyio.run(write)

    def projected() -> list[Any]:
        statement = "SELECT text FROM segments WHERE transcript_id = :t"
        return [row[0] for row in query(database_url, statement, t=transcript_id)]

    async def wait_projected() -> None:
        await wait_until(lambda: projected() == ["hola"], timeout_s=20)

    anyio.run(wait_projected)
    row = httpx.get(f"{relay.url}/transcripts/{transcript_id}", headers=editor).json()
    assert row["title"] == "t" * 500
    assert relay.running
