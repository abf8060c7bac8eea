"""``GET /search`` and ``minuta search`` on a real relay, on SQLite and PostgreSQL: a
person's edit over the websocket is found once projected, another org's text never is,
and bad queries get JSON errors."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import anyio
import httpx
from _relay import MINUTA, RelayProcess, agent_env, connected, wait_until

from engine import Origin, TranscriptDoc


def get(relay: RelayProcess, token: str, **params: Any) -> httpx.Response:
    return httpx.get(
        f"{relay.url}/search", params=params, headers={"Authorization": f"Bearer {token}"}
    )


def write(relay: RelayProcess, token: str, transcript_id: str, fn: Any) -> None:
    async def main() -> None:
        async with connected(f"{relay.ws}/sync/{transcript_id}?token={token}") as client:
            await client.change(fn)
            await wait_until(client.acked)

    anyio.run(main)


def found(relay: RelayProcess, token: str, q: str) -> list[tuple[str, str]]:
    response = get(relay, token, q=q)
    assert response.status_code == 200, response.text
    return [(h["transcript_id"], h["segment_id"]) for h in response.json()["items"]]


def test_edits_are_searchable_in_the_org_only(relay: RelayProcess) -> None:
    ana, zed = relay.token("ana", "acme", "editor"), relay.token("zed", "other", "editor")
    mine = relay.create_transcript(ana, title="Presupuesto")
    theirs = relay.create_transcript(zed, title="Otra")

    def asr(doc: TranscriptDoc) -> None:
        doc.upsert_segment("seg-1", rev=1, text="Revisamos la facturación de Zaragoza.",
                           t0=12.5, t1=15.0, speaker="S1", final=True, origin=Origin.AGENT)  # fmt: skip

    write(relay, ana, mine, asr)
    write(relay, zed, theirs, asr)
    anyio.run(wait_until, lambda: found(relay, ana, "zaragoza") == [(mine, "seg-1")], 15)
    hit = get(relay, ana, q="FACTURACION").json()["items"][0]
    assert hit["title"] == "Presupuesto" and hit["t0"] == 12.5
    assert [hit["snippet"][a:b] for a, b in hit["highlights"]] == ["facturación"]
    # A person's correction replaces what the ASR heard, in the index too.
    write(relay, ana, mine, lambda d: d.set_text("seg-1", "Revisamos la facturación de Huesca.", user="ana"))  # fmt: skip
    anyio.run(wait_until, lambda: found(relay, ana, "huesca") == [(mine, "seg-1")], 15)
    assert found(relay, ana, "zaragoza") == []
    assert found(relay, zed, "zaragoza") == [(theirs, "seg-1")]
    by_speaker = get(relay, ana, q="huesca", speaker="s1").json()["items"]
    assert [h["segment_id"] for h in by_speaker] == ["seg-1"]
    assert get(relay, ana, q="huesca", speaker="Nadie").json()["items"] == []
    assert get(relay, ana, q="huesca", **{"from": "2000-01-01"}).json()["items"]
    assert get(relay, ana, q="huesca", to="2000-01-01").json()["items"] == []
    # The viewer of the org searches too; the org's text is never another's.
    assert found(relay, relay.token("vi", "acme", "viewer"), "huesca") == [(mine, "seg-1")]
    assert found(relay, zed, "huesca") == []
    # Deleting the transcript takes it out of the index.
    root = relay.token("root", "acme", "admin")
    deleted = httpx.delete(
        f"{relay.url}/transcripts/{mine}", headers={"Authorization": f"Bearer {root}"}
    )
    assert deleted.status_code == 204
    assert found(relay, ana, "huesca") == []


def test_bad_queries_get_json_errors(relay: RelayProcess) -> None:
    ana = relay.token("ana", "acme", "editor")
    for params, status in (
        ({}, 400),
        ({"q": "  "}, 400),
        ({"q": "!!"}, 400),
        ({"q": "x" * 201}, 400),
        ({"q": "a\x00b"}, 400),
        ({"q": "hola", "limit": "0"}, 400),
        ({"q": "hola", "limit": "many"}, 400),
        ({"q": "hola", "from": "yesterday"}, 400),
        ({"q": '"); DROP TABLE segments; --'}, 200),
        ({"q": "NEAR(a b) * OR"}, 200),
    ):
        response = get(relay, ana, **params)
        assert response.status_code == status, (params, response.text)
        assert response.headers["content-type"].startswith("application/json")
        if status == 400:
            assert response.json()["error"]
    assert httpx.get(f"{relay.url}/search", params={"q": "x"}).status_code == 401


def test_minuta_search_prints_the_hits(relay: RelayProcess, tmp_path: Path) -> None:
    ana = relay.token("ana", "acme", "editor")
    transcript_id = relay.create_transcript(ana, title="Ventas")
    write(relay, ana, transcript_id, lambda d: d.upsert_segment(
        "seg-1", rev=1, text="El pedido de Valladolid llega el jueves.", t0=3725.0, t1=3729.0,
        final=True, origin=Origin.AGENT))  # fmt: skip
    anyio.run(wait_until, lambda: found(relay, ana, "valladolid") != [], 15)
    env = agent_env(tmp_path)
    login = subprocess.run([str(MINUTA), "login", relay.url], env=env, capture_output=True,
                           text=True, check=False)  # fmt: skip
    assert login.returncode == 0, login.stderr
    run = subprocess.run([str(MINUTA), "search", "valladolid", "--relay", relay.url], env=env,
                         capture_output=True, text=True, check=False)  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert f"{transcript_id} 01:02:05  Ventas" in run.stdout
    assert "[Valladolid]" in run.stdout
    as_json = subprocess.run([str(MINUTA), "search", "valladolid", "--json", "--relay",
                              relay.url], env=env, capture_output=True, text=True, check=False)  # fmt: skip
    assert json.loads(as_json.stdout)["items"][0]["segment_id"] == "seg-1"
    bad = subprocess.run([str(MINUTA), "search", "!!", "--relay", relay.url], env=env,
                         capture_output=True, text=True, check=False)  # fmt: skip
    assert bad.returncode == 2 and "at least one word" in bad.stderr
