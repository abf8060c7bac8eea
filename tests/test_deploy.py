"""The deploy files (Dockerfile, docker-compose.yml, deploy/Caddyfile) say what the CLI
accepts. Docker cannot run here, so this reads them: every service's command parses as a
``minuta`` command, every environment variable is one Minuta reads, and the image runs the
command the tests start. Also ``minuta relay --certfile/--keyfile`` over real TLS."""

from __future__ import annotations

import datetime as dt
import json
import re
import ssl
import subprocess
from pathlib import Path
from typing import Any

import httpx
import yaml
from _relay import MINUTA, prepare, relay_env

from agent.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SOURCES = "\n".join(p.read_text() for d in ("agent", "relay") for p in (ROOT / d).rglob("*.py"))


def minuta_services() -> dict[str, dict[str, Any]]:
    return {
        name: service
        for name, service in COMPOSE["services"].items()
        if service.get("image") == "minuta"
    }


def test_every_minuta_service_runs_a_command_the_cli_accepts() -> None:
    services = minuta_services()
    assert {"migrate", "relay1", "relay2", "worker"} <= set(services)
    for name, service in services.items():
        args = build_parser().parse_args(service["command"])  # SystemExit if not
        assert callable(args.run), name


def test_every_environment_variable_is_one_minuta_reads() -> None:
    for name, service in minuta_services().items():
        for variable in service.get("environment", {}):
            assert re.search(rf"[\"']{variable}[\"']", SOURCES), (name, variable)


def test_the_relays_are_the_proxys_upstreams_and_share_the_cluster() -> None:
    caddy = (ROOT / "deploy" / "Caddyfile").read_text()
    for name in ("relay1", "relay2"):
        service = COMPOSE["services"][name]
        port = service["command"][service["command"].index("--port") + 1]
        assert f"{name}:{port}" in caddy
        assert service["environment"]["REDIS_URL"].startswith("redis://redis:")
        assert service["environment"]["DATABASE_URL"].startswith("postgresql://")
        assert "--no-workers" in service["command"] and "--no-dispatch" in service["command"]
    worker = COMPOSE["services"]["worker"]["command"]
    assert worker[:2] == ["worker", "http://proxy:8080"] and ":8080 {" in caddy


def test_the_image_runs_the_command_the_tests_start_as_a_non_root_user() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    entry = json.loads(re.search(r"^ENTRYPOINT (.+)$", dockerfile, re.M).group(1))  # type: ignore[union-attr]
    command = json.loads(re.search(r"^CMD (.+)$", dockerfile, re.M).group(1))  # type: ignore[union-attr]
    assert entry == [MINUTA.name] and command[0] == "relay"  # as tests/_relay.py starts it
    build_parser().parse_args(command)
    user = re.findall(r"^USER (\S+)$", dockerfile, re.M)
    assert user and user[-1] not in ("root", "0")
    assert 'pip install ".[relay]"' in dockerfile  # the bundled models come with it


def _self_signed(directory: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    certfile, keyfile = directory / "cert.pem", directory / "key.pem"
    certfile.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    keyfile.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return certfile, keyfile


def test_the_relay_serves_tls_itself(tmp_path: Path) -> None:
    certfile, keyfile = _self_signed(tmp_path)
    env = relay_env()
    data = tmp_path / "data"
    flags = prepare(data, env)
    relay = subprocess.Popen(
        [str(MINUTA), "relay", "--host", "localhost", "--port", "0", *flags,
         "--certfile", str(certfile), "--keyfile", str(keyfile)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        assert relay.stdout is not None
        line = relay.stdout.readline()
        assert line.startswith("Minuta relay on https://localhost:"), line
        assert "wss://" in line
        url = line.split()[3]
        context = ssl.create_default_context(cafile=str(certfile))
        assert httpx.get(f"{url}/healthz", verify=context).status_code == 200
    finally:
        relay.terminate()
        relay.wait(timeout=30)
        if relay.stdout is not None:
            relay.stdout.close()


def test_tls_with_a_missing_or_mismatched_key_is_refused_plainly(tmp_path: Path) -> None:
    certfile, _ = _self_signed(tmp_path)
    (tmp_path / "other").mkdir()
    _, other_key = _self_signed(tmp_path / "other")
    for extra in (
        ["--certfile", str(certfile)],
        ["--certfile", str(certfile), "--keyfile", str(other_key)],
    ):
        run = subprocess.run(
            [str(MINUTA), "relay", "--port", "0", "--dev", "--data-dir", str(tmp_path / "d"), *extra],
            env=relay_env(), capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert run.returncode != 0 and "Traceback" not in run.stderr, run.stderr
        assert "keyfile" in run.stderr or "cannot use" in run.stderr
