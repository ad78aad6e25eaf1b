"""Signed checkpoints of the chain head: Ed25519 signatures kept outside the database.

A superuser who rewrites history and recomputes every hash still cannot forge the signature, so
the verifier catches the rewrite at the first checkpoint it contradicts, and a truncated tail at
the checkpoint it misses.

A restore from a backup (`manage.py restore`, audit/backup.py) rolls the chain back to the
backup's signed head, seq S: the checkpoints signed after the backup describe a history the
restored database no longer has. The restore appends a signed *restore record* at S, with the
backup's hash; checkpoints above S written before that record are set aside (the abandoned line),
and the record itself is held like a checkpoint. Only the holder of the signing key can write
one, so a database administrator cannot pass a cut tail off as a restore.
"""

from __future__ import annotations

import base64
import errno
import fcntl
import hashlib
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings

from audit.canonical import CHECKPOINT_VERSION
from audit.sealing import head, seal_pending


def _key_path() -> Path:
    return Path(settings.AUDIT_CHECKPOINT_KEY_FILE)


def signing_key() -> Ed25519PrivateKey:
    """The checkpoint signing key, from a file outside the database (created in development)."""
    path = _key_path()
    if not path.exists():
        if not settings.AUDIT_CHECKPOINT_KEY_CREATE:
            raise FileNotFoundError(
                f"The audit checkpoint key {path} is missing (AUDIT_CHECKPOINT_KEY_FILE)."
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
    loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(loaded, Ed25519PrivateKey):
        raise TypeError("The audit checkpoint key must be an Ed25519 key.")
    return loaded


def verify_key() -> Ed25519PublicKey:
    """The public half: from AUDIT_CHECKPOINT_PUBLIC_KEY_FILE if set (verifier-only hosts), else derived."""
    public_file = getattr(settings, "AUDIT_CHECKPOINT_PUBLIC_KEY_FILE", "")
    if public_file:
        loaded = serialization.load_pem_public_key(Path(public_file).read_bytes())
        if not isinstance(loaded, Ed25519PublicKey):
            raise TypeError("The audit checkpoint public key must be an Ed25519 key.")
        return loaded
    return signing_key().public_key()


def _fingerprint(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def _signed_bytes(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement: at `signed_at` the chain's head was `seq` with hash `hash`."""

    seq: int
    hash: str
    event_id: int
    signed_at: str
    key: str
    sig: str = ""
    valid: bool = True
    kind: str = "checkpoint"  # or "restore": the chain was restored from a backup at `seq`


def checkpoint_path() -> Path:
    """Where checkpoints are appended (outside the database)."""
    return Path(settings.AUDIT_CHECKPOINT_PATH)


def checkpoint_sign() -> Checkpoint | None:
    """Seal what has committed, then sign the chain head and append it to the checkpoint file."""
    seal_pending()
    current = head()
    if current is None:
        return None
    seq, digest, event_id = current
    key = signing_key()
    signed_at = datetime.now(UTC).isoformat()
    fingerprint = _fingerprint(key.public_key())
    payload: dict[str, Any] = {
        "v": CHECKPOINT_VERSION,
        "seq": seq,
        "hash": digest.hex(),
        "event_id": event_id,
        "signed_at": signed_at,
        "key": fingerprint,
    }
    signature = _append(checkpoint_path(), payload, key)
    return Checkpoint(
        seq=seq,
        hash=digest.hex(),
        event_id=event_id,
        signed_at=signed_at,
        key=fingerprint,
        sig=signature,
    )


def _append(path: Path, payload: dict[str, Any], key: Ed25519PrivateKey) -> str:
    """Sign `payload` and append it, with its signature, as one line of `path`; the signature."""
    signature = base64.b64encode(key.sign(_signed_bytes(payload))).decode()
    line = json.dumps({**payload, "sig": signature}, sort_keys=True) + "\n"
    _append_whole(path, line.encode())
    return signature


def restore_record_sign(
    *, seq: int, digest: str, event_id: int, backup: dict[str, Any], path: Path | None = None
) -> Checkpoint:
    """Append a signed restore record: the chain was restored from a backup whose head is `seq`.

    `backup` says which (file name, sha256, taken_at); `path` defaults to the checkpoint file.
    """
    key = signing_key()
    payload: dict[str, Any] = {
        "v": CHECKPOINT_VERSION,
        "kind": "restore",
        "seq": seq,
        "hash": digest,
        "event_id": event_id,
        "signed_at": datetime.now(UTC).isoformat(),
        "key": _fingerprint(key.public_key()),
        "backup": backup,
    }
    signature = _append(path or checkpoint_path(), payload, key)
    return Checkpoint(
        seq=seq,
        hash=digest,
        event_id=event_id,
        signed_at=payload["signed_at"],
        key=payload["key"],
        sig=signature,
        kind="restore",
    )


def sign_bytes(data: bytes) -> tuple[str, str]:
    """(base64 Ed25519 signature of `data`, key fingerprint): a backup manifest's seal."""
    key = signing_key()
    return base64.b64encode(key.sign(data)).decode(), _fingerprint(key.public_key())


def signature_valid(data: bytes, signature: str) -> bool:
    """Whether `signature` (base64) is the checkpoint key's over `data`."""
    try:
        verify_key().verify(base64.b64decode(signature), data)
    except (InvalidSignature, ValueError):
        return False
    return True


def _append_whole(path: Path, data: bytes) -> None:
    """Append `data` as a whole, or leave the file as it was and raise.

    A full filesystem cuts a write short at its last free byte without an error; the fragment
    would glue itself to the next checkpoint and make both unreadable. So the write is carried
    to its end, and on any failure the file is cut back to its length before it. The lock keeps
    two signers (two workers) from cutting each other's line.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        length = os.fstat(fd).st_size
        try:
            done = 0
            while done < len(data):
                written = os.write(fd, data[done:])
                if written <= 0:
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
                done += written
            os.fsync(fd)
        except OSError:
            os.ftruncate(fd, length)
            raise
    finally:
        os.close(fd)  # releases the lock


def checkpoints(*, min_seq: int = 0) -> list[Checkpoint]:
    """The checkpoints in the file at or after `min_seq`, each with its signature checked.

    A valid restore record at seq S sets aside the checkpoints above S written before it.
    """
    path = checkpoint_path()
    if not path.exists():
        return []
    public = verify_key()
    found: list[Checkpoint] = []
    for raw in path.read_text().splitlines():
        if not raw.strip():
            continue
        data: dict[str, Any] = {}
        below = False
        try:
            parsed = json.loads(raw)
            data = parsed if isinstance(parsed, dict) else {}
            below = int(data.get("seq", 0)) < min_seq
            if below and data.get("kind") != "restore":
                continue  # a restore record below the range still sets aside what it abandoned
            signed = {k: v for k, v in data.items() if k != "sig"}
            public.verify(base64.b64decode(data["sig"]), _signed_bytes(signed))
            valid = True
        except (InvalidSignature, ValueError, KeyError, TypeError):
            valid = False
        seq = int(data.get("seq", 0) or 0)
        kind = "restore" if data.get("kind") == "restore" else "checkpoint"
        if valid and kind == "restore":
            found = [cp for cp in found if cp.seq <= seq or not cp.valid]
        if below:
            continue
        found.append(
            Checkpoint(
                seq=seq,
                hash=str(data.get("hash", "")),
                event_id=int(data.get("event_id", 0) or 0),
                signed_at=str(data.get("signed_at", "")),
                key=str(data.get("key", "")),
                valid=valid,
                kind=kind,
            )
        )
    return found
