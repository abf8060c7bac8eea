"""``--upload-audio``: the kept audio to the relay as one Ogg/Opus file, resumable and
idempotent.

After the session the kept audio is encoded once (:func:`prepare_upload`), sealed with the
audio key into ``audio.ogg.enc`` next to it (the encoded file is audio too: it is never on
disk in the clear), and the marker ``audio.upload`` (JSON: relay, size, sha256) says an
upload is due. The upload asks the relay how much it holds
(``GET /transcripts/{id}/audio/upload``) and sends the rest in PUTs of at most 1 MiB at
that offset, so an interrupted one goes on where it stopped and a finished one sends
nothing. A 409 (the relay holds another offset) means: ask again and go on from there.

Offline is normal: a relay that does not answer, or does not know the transcript yet (its
sync is still pending), leaves the upload pending, and ``minuta sync`` finishes it
(:func:`upload_pending`, :func:`pending_uploads`). The audio goes only to the relay the
user named with ``--upload-audio``.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import httpx

from .audio_encode import ogg_opus_bytes
from .audio_keep import AUDIO_FILE, KeptAudioError, load_key, read_kept, seal, unseal
from .credentials import CredentialStore, LoginError, Tokens, normalize, refresh
from .relay_api import error_reason
from .store import local_transcript_ids

MARKER = "audio.upload"
ENCODED = "audio.ogg.enc"
CHUNK_BYTES = 1 << 20  # the relay takes at most 1 MiB a request
# 409s in a row (another upload racing ours) before giving up for this time.
MAX_CONFLICTS = 5
State = Literal["none", "complete", "pending", "refused"]


@dataclass(frozen=True)
class UploadResult:
    """``none``: no upload due; ``complete``: the relay holds the audio; ``pending``: try
    again later (offline, or the transcript is not on the relay yet); ``refused``: the
    relay said no, and asking again will not change that (``reason`` says why)."""

    state: State
    reason: str = ""
    sent: int = 0  # bytes sent this time

    @property
    def done(self) -> bool:
        return self.state in ("none", "complete")


def _marker_path(storage_dir: Path, transcript_id: str) -> Path:
    return Path(storage_dir) / transcript_id / MARKER


def read_marker(storage_dir: Path, transcript_id: str) -> dict[str, Any] | None:
    try:
        data = json.loads(_marker_path(storage_dir, transcript_id).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _write_marker(storage_dir: Path, transcript_id: str, marker: dict[str, Any]) -> None:
    path = _marker_path(storage_dir, transcript_id)
    tmp = path.with_name(f".{MARKER}.tmp")
    try:
        tmp.write_text(json.dumps(marker, indent=2), encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        raise KeptAudioError(f"cannot write {path}: {exc.strerror or exc}") from None


def pending_uploads(storage_dir: Path) -> list[str]:
    """The local transcripts whose audio upload is due."""
    return [
        transcript_id
        for transcript_id in local_transcript_ids(storage_dir)
        if (m := read_marker(storage_dir, transcript_id)) is not None and not m.get("complete")
    ]


def prepare_upload(storage_dir: Path, transcript_id: str, relay_url: str, key: bytes) -> None:
    """Encode the kept audio and mark it due for ``relay_url``.

    An upload already prepared from the same kept audio is left as it is (its bytes and
    sha256 must not change while the relay holds part of it).
    """
    folder = Path(storage_dir) / transcript_id
    kept_bytes = (folder / AUDIO_FILE).stat().st_size if (folder / AUDIO_FILE).exists() else 0
    relay_url = normalize(relay_url)
    marker = read_marker(storage_dir, transcript_id)
    if (
        marker is not None
        and marker.get("kept_bytes") == kept_bytes
        and marker.get("relay_url") == relay_url
        and (marker.get("complete") or (folder / ENCODED).exists())
    ):
        return
    data = ogg_opus_bytes(read_kept(storage_dir, transcript_id, key))
    sealed = folder / ENCODED
    tmp = folder / f".{ENCODED}.tmp"
    try:
        tmp.write_bytes(seal(key, transcript_id, data))
        os.replace(tmp, sealed)
    except OSError as exc:
        raise KeptAudioError(f"cannot write {sealed}: {exc.strerror or exc}") from None
    _write_marker(
        storage_dir,
        transcript_id,
        {
            "relay_url": relay_url,
            "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
            "kept_bytes": kept_bytes,
            "complete": False,
        },
    )


async def upload_pending(
    storage_dir: Path,
    transcript_id: str,
    tokens: Tokens,
    credentials: CredentialStore | None = None,
    *,
    chunk_bytes: int = CHUNK_BYTES,
    max_chunks: int | None = None,
) -> UploadResult:
    """Finish the transcript's due audio upload, if it has one, on ``tokens``' relay.

    Tokens renewed on a 401 are saved to ``credentials``. ``max_chunks`` stops after that
    many PUTs (as an interruption would; for tests). Raises KeptAudioError if the encoded
    file cannot be read back (a missing key, say).
    """
    marker = read_marker(storage_dir, transcript_id)
    if marker is None or marker.get("complete"):
        return UploadResult("none")
    if normalize(str(marker.get("relay_url"))) != normalize(tokens.relay_url):
        return UploadResult("none", f"the audio is for {marker.get('relay_url')}")
    path = Path(storage_dir) / transcript_id / ENCODED
    try:
        data = unseal(load_key(), transcript_id, path.read_bytes(), path)
    except OSError as exc:
        raise KeptAudioError(f"cannot read {path}: {exc.strerror or exc}") from None
    sha256 = hashlib.sha256(data).hexdigest()
    if sha256 != marker.get("sha256") or len(data) != marker.get("size"):
        raise KeptAudioError(f"{path} is not the file {MARKER} names")
    upload = _Upload(tokens, credentials, transcript_id, data, sha256, chunk_bytes)
    result = await upload.run(max_chunks)
    if result.state == "complete":
        _write_marker(storage_dir, transcript_id, {**marker, "complete": True})
        path.unlink(missing_ok=True)  # the kept audio stays; this copy has done its job
    return result


async def upload_all_pending(
    storage_dir: Path, relay_url: str, credentials: CredentialStore
) -> dict[str, UploadResult]:
    """:func:`upload_pending` for every transcript whose audio is due for ``relay_url``
    (``minuta sync``: after the transcripts are synced, since the relay needs the
    transcript before its audio). A transcript whose audio cannot be read is pending, with
    the reason."""
    results: dict[str, UploadResult] = {}
    for transcript_id in pending_uploads(storage_dir):
        marker = read_marker(storage_dir, transcript_id) or {}
        if normalize(str(marker.get("relay_url"))) != normalize(relay_url):
            continue
        tokens = credentials.get(relay_url)  # again each time: a refresh may have renewed them
        if tokens is None:
            results[transcript_id] = UploadResult("pending", f"not logged in to {relay_url}")
            continue
        try:
            results[transcript_id] = await upload_pending(
                storage_dir, transcript_id, tokens, credentials
            )
        except KeptAudioError as exc:
            results[transcript_id] = UploadResult("pending", str(exc))
    return results


class _Refused(Exception):
    pass


class _Pending(Exception):
    pass


class _Upload:
    def __init__(
        self,
        tokens: Tokens,
        credentials: CredentialStore | None,
        transcript_id: str,
        data: bytes,
        sha256: str,
        chunk_bytes: int,
    ) -> None:
        self.tokens = tokens
        self.credentials = credentials
        self.url = f"{tokens.relay_url}/transcripts/{transcript_id}/audio/upload"
        self.data = data
        self.sha256 = sha256
        self.chunk_bytes = chunk_bytes
        self.sent = 0
        self._refreshed = False

    async def run(self, max_chunks: int | None) -> UploadResult:
        try:
            async with httpx.AsyncClient(timeout=60) as http:
                return await self._send(http, max_chunks)
        except _Refused as exc:
            return UploadResult("refused", str(exc), self.sent)
        except _Pending as exc:
            return UploadResult("pending", str(exc), self.sent)
        except httpx.HTTPError as exc:
            return UploadResult("pending", f"the relay does not answer ({exc})", self.sent)

    async def _send(self, http: httpx.AsyncClient, max_chunks: int | None) -> UploadResult:
        size, puts, conflicts = len(self.data), 0, 0
        offset = await self._state(http)
        while True:
            if offset is None:
                return UploadResult("complete", sent=self.sent)
            if max_chunks is not None and puts >= max_chunks:
                return UploadResult("pending", "interrupted", self.sent)
            chunk = self.data[offset : offset + self.chunk_bytes]
            response = await self._request(
                http, "PUT", content=chunk,
                params={"offset": offset, "size": size, "sha256": self.sha256},
                headers={"Content-Type": "application/octet-stream"},
            )  # fmt: skip
            puts += 1
            if response.status_code == 409 or response.status_code == 400:
                # Another offset than ours (a PUT whose answer was lost), or the relay
                # dropped a partial that did not check out: ask where it stands.
                conflicts += 1
                if conflicts > MAX_CONFLICTS:
                    raise _Pending(f"the relay keeps refusing the upload: {error_reason(response)}")
                offset = await self._state(http)
                continue
            body = self._answer(response)
            self.sent += len(chunk)
            conflicts = 0
            if body.get("complete"):
                if body.get("sha256") != self.sha256:
                    raise _Refused("the relay holds other audio for this transcript")
                offset = None
            else:
                offset = int(body["received"])

    async def _state(self, http: httpx.AsyncClient) -> int | None:
        """Where the relay's upload stands: the offset to send from; None: complete."""
        body = self._answer(await self._request(http, "GET"))
        if body.get("complete"):
            if body.get("sha256") != self.sha256:
                raise _Refused("the relay holds other audio for this transcript")
            return None
        if body.get("size") is not None and (
            body.get("size") != len(self.data) or body.get("sha256") != self.sha256
        ):
            raise _Refused("the relay holds part of another upload of this transcript's audio")
        return int(body.get("received") or 0)

    async def _request(
        self, http: httpx.AsyncClient, method: str, headers: dict[str, str] | None = None, **kw: Any
    ) -> httpx.Response:
        """One call, renewed once on a 401."""
        while True:
            auth = {"Authorization": f"Bearer {self.tokens.access_token}"}
            response = await http.request(
                method, self.url, headers={**(headers or {}), **auth}, **kw
            )
            if response.status_code != 401 or self._refreshed:
                return response
            self._refreshed = True
            try:
                self.tokens = replace(await refresh(self.tokens), relay_url=self.tokens.relay_url)
            except LoginError as exc:
                raise _Refused(str(exc)) from None
            if self.credentials is not None:
                self.credentials.put(self.tokens)

    def _answer(self, response: httpx.Response) -> dict[str, Any]:
        status = response.status_code
        if status == 200:
            body = response.json()
            if isinstance(body, dict):
                return body
            raise _Pending("the relay's answer is not an upload state")
        if status == 404:
            raise _Pending("the transcript is not on the relay yet")
        if status >= 500 or status == 429:
            raise _Pending(f"the relay answered {status}")
        if status == 401:
            raise _Refused(
                f"the relay refused the login: run `minuta login {self.tokens.relay_url}`"
            )
        raise _Refused(f"the relay refused the audio ({status}): {error_reason(response)}")
