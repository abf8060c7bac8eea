"""Shared fixtures and helpers for the ASR tests: real models, real audio.

The evaluation clips are read in place from ``../shared/eval/audio`` (never copied). Each
Whisper model is loaded once per test session; the multilingual ``base`` model is joined
into a per-session cache directory, so the tests never write to ``~/.cache``.

Helpers (plain functions, imported by the test modules with ``from conftest import ...``):

>>> normalize("¿Dónde   está, Ñandú?  ¡Aquí!")
'dónde está ñandú aquí'
>>> wer("ask not what your country", "Ask not, what your country!")
0.0
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import shutil
import subprocess
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import jiwer
import numpy as np
import psycopg
import pytest
from _relay import RelayProcess, running
from psycopg import sql
from psycopg.rows import TupleRow
from sqlalchemy import Engine

from agent.asr import AsrOptions, IncrementalTranscriber
from agent.audio import read_file
from relay.db import connect, upgrade

PG_HOST_URL = "postgresql://postgres@127.0.0.1"
PG_ADMIN_URL = f"{PG_HOST_URL}/postgres"
AUDIO_DIR = Path(__file__).resolve().parents[2] / "shared" / "eval" / "audio"
SAMPLE_RATE = 16_000

JFK_REFERENCE = (
    "And so my fellow Americans, ask not what your country can do for you, "
    "ask what you can do for your country."
)

# Punctuation Whisper writes (and the FLEURS references' guillemets): anything that is
# neither a word character nor a space, so ¿ ¡ « » go and á ñ ü stay.
_PUNCTUATION = re.compile(r"[^\w\s]")


def normalize(text: str) -> str:
    """Lower case, no punctuation (``¿ ¡`` included), single spaces; accents kept."""
    text = unicodedata.normalize("NFC", text).lower()
    return " ".join(_PUNCTUATION.sub(" ", text).split())


def wer(reference: str, hypothesis: str) -> float:
    """Word error rate of ``hypothesis`` against ``reference``, both normalized."""
    ref, hyp = normalize(reference), normalize(hypothesis)
    if not ref:
        raise ValueError("empty reference")
    return float(jiwer.wer(ref, hyp))


def decode(path: str | os.PathLike[str]) -> np.ndarray:
    """A whole audio file as 16 kHz mono int16, decoded with the agent's own reader."""
    chunks = list(read_file(path, chunk_s=5.0))
    return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)


def reference(name: str) -> str:
    """The reference transcript beside a clip of the shared set (``fleurs-en-000``)."""
    return (AUDIO_DIR / f"{name}.txt").read_text(encoding="utf-8").strip()


def espeak(text: str, voice: str, tmp_path: Path) -> np.ndarray:
    """``text`` spoken by espeak-ng's ``voice`` at 150 words a minute, as 16 kHz int16."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        pytest.fail(
            "espeak-ng is not installed: apt-get install espeak-ng (the README's test command does)"
        )
    out = tmp_path / f"espeak-{voice}-{hashlib.sha1(text.encode()).hexdigest()[:12]}.wav"
    subprocess.run(
        [exe, "-v", voice, "-s", "150", "-w", str(out), text],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return decode(out)


def silence(seconds: float) -> np.ndarray:
    return np.zeros(round(seconds * SAMPLE_RATE), dtype=np.int16)


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


_CACHE = pytest.StashKey[Path]()


@pytest.fixture(scope="session", autouse=True)
def minuta_cache(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Path]:
    """``$MINUTA_CACHE_DIR`` points at a session temporary folder while the tests run.

    With ``--doctest-modules`` pytest collects this file a second time (for its doctests)
    and so knows this fixture twice; both share one folder, and the first restores the
    environment at the end.
    """
    stash = request.config.stash
    if _CACHE in stash:
        yield stash[_CACHE]
        return
    cache = stash[_CACHE] = tmp_path_factory.mktemp("minuta-cache")
    before = os.environ.get("MINUTA_CACHE_DIR")
    os.environ["MINUTA_CACHE_DIR"] = str(cache)
    try:
        yield cache
    finally:
        del stash[_CACHE]
        if before is None:
            os.environ.pop("MINUTA_CACHE_DIR", None)
        else:
            os.environ["MINUTA_CACHE_DIR"] = before


@pytest.fixture(scope="session")
def audio_dir() -> Path:
    if not AUDIO_DIR.is_dir():
        pytest.fail(f"the shared evaluation audio is missing: {AUDIO_DIR}")
    return AUDIO_DIR


@pytest.fixture(scope="session")
def tiny_en(minuta_cache: Path) -> IncrementalTranscriber:
    """The bundled English-only tiny model, loaded once."""
    return IncrementalTranscriber(AsrOptions(model="tiny.en"))


@pytest.fixture(scope="session")
def base(minuta_cache: Path) -> IncrementalTranscriber:
    """The bundled multilingual base model for English, loaded once.

    The model is joined into the session cache. The language is fixed (``en``) because a
    transcriber detects it only once: tests of detection make their own transcriber.
    """
    return IncrementalTranscriber(AsrOptions(model="base", language="en"))


@pytest.fixture(scope="session")
def base_es(minuta_cache: Path) -> IncrementalTranscriber:
    """The bundled multilingual base model for Spanish, loaded once."""
    return IncrementalTranscriber(AsrOptions(model="base", language="es"))


@pytest.fixture(scope="session")
def pg_admin() -> Iterator[psycopg.Connection[TupleRow]]:
    """An autocommit connection to the server's ``postgres`` database, for CREATE and DROP."""
    try:
        connection = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=10)
    except psycopg.OperationalError as exc:
        reason = " ".join(str(exc).split())
    else:
        with connection:
            yield connection
        return
    pytest.fail(
        f"PostgreSQL is not reachable at {PG_ADMIN_URL} ({reason}); the relay's tests need "
        "it (trust auth, user postgres): start the server, do not skip these tests",
        pytrace=False,
    )


@contextlib.contextmanager
def pg_database(admin: psycopg.Connection[TupleRow]) -> Iterator[str]:
    """The URL of a new, empty PostgreSQL database, dropped on the way out."""
    name = f"minuta_{secrets.token_hex(8)}"
    admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield f"{PG_HOST_URL}/{name}"
    finally:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@pytest.fixture
def pg_url(pg_admin: psycopg.Connection[TupleRow]) -> Iterator[str]:
    """A new, empty PostgreSQL database for one test."""
    with pg_database(pg_admin) as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database: a SQLite file in tmp_path, or a new PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'relay.sqlite3'}"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    """A migrated relay database in a SQLite file (modules override it to test both)."""
    engine = connect(f"sqlite:///{tmp_path / 'relay.sqlite3'}")
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A relay's database for a whole module: a SQLite file, then a new PostgreSQL one."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'relay.sqlite3'}"
        return
    with pg_database(request.getfixturevalue("pg_admin")) as url:
        yield url


@pytest.fixture(scope="module")
def relay(tmp_path_factory: pytest.TempPathFactory, database_url: str) -> Iterator[RelayProcess]:
    """One real relay on ``database_url`` for the module (each test makes its own
    transcripts)."""
    with running(tmp_path_factory, database_url) as server:
        yield server
