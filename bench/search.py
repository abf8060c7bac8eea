"""Benchmark search: 1,000 transcripts x 300 segments on SQLite and on PostgreSQL.

For each database: load the segments through the index's triggers (one transaction per
transcript, as the projector writes a first snapshot), rebuild the index from scratch,
report its size (PostgreSQL: then ANALYZE, as autovacuum would), then time each kind of
query on its own (the first run of each is a
warm-up): ``relay.search.search`` itself, and ``GET /search`` on a real relay over HTTP.
The text: sentences of 6 to 30 words drawn by Zipf's law from the words of the FLEURS
references (English and Spanish) and made-up words, so that some words are in most
segments and most words in few. Target: query p95 <= 50 ms.

    python bench/search.py [--transcripts 1000] [--segments 300] [--repeats 30]
"""

from __future__ import annotations

import argparse
import itertools
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent.resolve()]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import httpx  # noqa: E402
import psycopg  # noqa: E402
from _relay import RelayProcess, prepare, relay_env  # noqa: E402
from sqlalchemy import Engine, insert, text  # noqa: E402

from relay.db import Segment, Transcript, connect  # noqa: E402
from relay.search import SearchQuery, search  # noqa: E402
from relay.search._snippet import fold  # noqa: E402

AUDIO = ROOT.parent / "shared" / "eval" / "audio"
PG_ADMIN = "postgresql://postgres@127.0.0.1/postgres"
SPEAKERS = ["Ana", "Carlos", "Beatriz", "David", "S1", "S2"]


def vocabulary(rng: random.Random, lang: str, size: int = 20_000) -> list[str]:
    """Real words first (the most frequent ranks), then made-up ones."""
    real: list[str] = []
    for path in sorted(AUDIO.glob(f"fleurs-{lang}-*.txt")):
        for word in path.read_text(encoding="utf-8").lower().split():
            if word.isalpha() and word not in real:
                real.append(word)
    syllables = ["ka", "lo", "mi", "ne", "ra", "su", "te", "vi", "do", "pa", "ción", "bre", "tan"]
    made: set[str] = set()
    while len(real) + len(made) < size:
        made.add("".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))))
    return real + sorted(made)


def sentences(rng: random.Random, words: list[str], n: int) -> Iterator[str]:
    cumulative = list(itertools.accumulate(1 / (rank + 1) for rank in range(len(words))))  # Zipf
    for _ in range(n):
        chosen = rng.choices(words, cum_weights=cumulative, k=rng.randint(6, 30))
        yield " ".join(chosen).capitalize() + "."


def load(
    engine: Engine, transcripts: int, per: int, rng: random.Random
) -> tuple[float, dict[str, list[str]]]:
    vocab = {lang: vocabulary(rng, lang) for lang in ("en", "es")}
    now = datetime.now(UTC)
    started = time.perf_counter()
    for n in range(transcripts):
        lang = "es" if n % 2 else "en"
        transcript_id = f"t-{n:05d}"
        with engine.begin() as connection:
            connection.execute(insert(Transcript), [{
                "transcript_id": transcript_id, "org_id": "acme", "title": f"Meeting {n}",
                "language": lang, "created_at": now - timedelta(days=n % 365),
                "updated_at": now, "segment_count": per, "duration_s": per * 5.0,
            }])  # fmt: skip
            connection.execute(insert(Segment), [
                {"transcript_id": transcript_id, "segment_id": f"seg-{i}", "rev": 1,
                 "t0": i * 5.0, "t1": i * 5.0 + 4.5, "text": sentence,
                 "speaker": SPEAKERS[(n + i) % len(SPEAKERS)], "conf": 0.9, "final": True,
                 "lang": lang, "source": "asr", "edited_by": None, "edited_at": None}
                for i, sentence in enumerate(sentences(rng, vocab[lang], per))
            ])  # fmt: skip
    return time.perf_counter() - started, vocab


def rebuild(engine: Engine) -> float:
    started = time.perf_counter()
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            connection.execute(
                text("INSERT INTO segment_search(segment_search) VALUES ('rebuild')")
            )
        else:
            connection.execute(text("REINDEX INDEX ix_segments_search"))
            connection.execute(text("REINDEX INDEX ix_segments_trgm"))
    return time.perf_counter() - started


def sizes(engine: Engine) -> tuple[int, int]:
    """(bytes of the index, bytes of the segments' own table)."""
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            page = connection.scalar(text("PRAGMA page_size"))
            index = connection.scalar(text(
                "SELECT SUM(pgsize) FROM dbstat WHERE name LIKE 'segment_search%'"))  # fmt: skip
            table = connection.scalar(text(
                "SELECT SUM(pgsize) FROM dbstat WHERE name IN ('segments', "
                "'sqlite_autoindex_segments_1')"))  # fmt: skip
            del page
            return int(index or 0), int(table or 0)
        index = connection.scalar(text(
            "SELECT pg_relation_size('ix_segments_search') + pg_relation_size('ix_segments_trgm')"
            " + (SELECT SUM(pg_column_size(search)) FROM segments)"))  # fmt: skip
        table = connection.scalar(text("SELECT pg_total_relation_size('segments')"))
        return int(index or 0), int(table or 0) - int(index or 0)


def queries(vocab: dict[str, list[str]]) -> list[tuple[str, dict[str, Any]]]:
    en, es = vocab["en"], vocab["es"]
    made = es[-1]
    return [
        ("most common word", {"q": en[0]}),
        ("common Spanish word", {"q": es[1]}),
        ("mid-frequency word", {"q": en[60]}),
        ("rare made-up word", {"q": made}),
        ("two words", {"q": f"{en[3]} {en[40]}"}),
        ("three letters (prefix)", {"q": es[30][:3]}),
        ("accents folded", {"q": fold(next(w for w in es if not w.isascii()))}),
        ("speaker filter", {"q": en[5], "speaker": "Beatriz"}),
        ("last 30 days", {"q": es[5], "since": datetime.now(UTC) - timedelta(days=30)}),
        ("page 3", {"q": en[10], "offset": 40}),
        ("no match", {"q": "zzyzxquux"}),
    ]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def timed(fn: Callable[[], Any], repeats: int) -> list[float]:
    fn()  # warm-up
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


@contextmanager
def database(kind: str) -> Iterator[tuple[str, Path]]:
    with tempfile.TemporaryDirectory() as tmp:
        if kind == "sqlite":
            yield f"sqlite:///{Path(tmp) / 'minuta.sqlite3'}", Path(tmp)
            return
        name = f"minuta_bench_{int(time.time())}"
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f"CREATE DATABASE {name}")
            try:
                yield f"postgresql://postgres@127.0.0.1/{name}", Path(tmp)
            finally:
                admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def bench(kind: str, args: argparse.Namespace) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    rng = random.Random(7)
    with database(kind) as (url, tmp):
        env = relay_env()
        data = tmp / "data"
        flags = prepare(data, env, url if kind != "sqlite" else None)
        url = url if kind != "sqlite" else f"sqlite:///{data / 'minuta.sqlite3'}"
        engine = connect(url)
        n = args.transcripts * args.segments
        load_s, vocab = load(engine, args.transcripts, args.segments, rng)
        rows.append(("load with the index", f"{load_s:.1f} s ({n / load_s:,.0f} segments/s)"))
        rows.append(("index rebuilt from scratch", f"{rebuild(engine):.1f} s"))
        if kind != "sqlite":
            # As autovacuum does within a minute of such a load: without statistics the
            # planner took the org's 1,000 transcripts for 1 (a 14 s plan).
            with engine.begin() as connection:
                connection.execute(text("ANALYZE"))
        index, table = sizes(engine)
        rows.append(
            ("index size", f"{index / 2**20:.0f} MiB (segments themselves {table / 2**20:.0f} MiB)")
        )
        every: list[float] = []
        for label, kw in queries(vocab):
            query = SearchQuery(org_id="acme", limit=20, **kw)
            hits = len(search(engine, query).items)
            times = timed(lambda q=query: search(engine, q), args.repeats)  # type: ignore[misc]
            every += times
            rows.append((f"{label} ({hits} hits)",
                         f"{statistics.median(times) * 1e3:.1f} / {percentile(times, 0.95) * 1e3:.1f} ms"))  # fmt: skip
        rows.append(("**all queries, in process**", f"p95 {percentile(every, 0.95) * 1e3:.1f} ms"))
        engine.dispose()
        relay = RelayProcess(data, env, flags).start()
        try:
            token = relay.token("ana", "acme", "editor")
            over_http: list[float] = []
            with httpx.Client(
                base_url=relay.url, headers={"Authorization": f"Bearer {token}"}
            ) as http:
                for _, kw in queries(vocab):
                    params = {k: (v.date().isoformat() if isinstance(v, datetime) else v)
                              for k, v in kw.items()}  # fmt: skip
                    params["from"] = params.pop("since", "")

                    def get(p: dict[str, Any] = params) -> None:
                        http.get("/search", params=p).raise_for_status()

                    over_http += timed(get, args.repeats)
            rows.append(("**all queries, GET /search on a relay**",
                         f"p50 {statistics.median(over_http) * 1e3:.1f} / p95 {percentile(over_http, 0.95) * 1e3:.1f} ms"))  # fmt: skip
        finally:
            relay.stop()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transcripts", type=int, default=1000)
    parser.add_argument("--segments", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--db", default="sqlite,postgresql")
    args = parser.parse_args()
    print(f"search benchmark: {args.transcripts} transcripts x {args.segments} segments, "
          f"{platform.machine()}, {platform.python_version()}, one org")  # fmt: skip
    for kind in args.db.split(","):
        print(f"\n### {kind}\n\n| figure | measured (p50 / p95) |\n|---|---|")
        for figure, value in bench(kind, args):
            print(f"| {figure} | {value} |", flush=True)


if __name__ == "__main__":
    main()
