"""Identifier encryption (DESIGN.md, Identifiers): AES-GCM tokens, a keyed blind index, last four.

A token is ``<kid>$<base64url(nonce || ciphertext || tag)>``. The key id names the key in
``settings.DATA_KEYS`` ("kid:base64,kid:base64", the first is current), so a rotation can
re-encrypt at leisure while every older token still reads. The associated data binds a token to
its table, column and row: a ciphertext copied into another row or column does not decrypt.

The blind index is an HMAC-SHA256 under its own key (``settings.BLIND_INDEX_KEY``) of the
normalized identifier, with the identifier kind as a domain separator, so equal SSNs give equal
indexes across tables (joins) while the index reveals nothing without the key.

Nothing here logs, and no exception message carries a plaintext.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

NONCE_BYTES = 12
_SEPARATOR = "$"
_NON_ALNUM = re.compile(r"[^0-9A-Za-z]")


class DecryptionFailed(Exception):
    """A token that does not open: tampered, moved to another row, or under an unknown key."""


@dataclass(frozen=True)
class Keyring:
    """The data keys: the current one encrypts, all of them decrypt."""

    current_kid: str
    ciphers: dict[str, AESGCM]


def parse_data_keys(spec: str) -> Keyring:
    """Parse "kid:base64,kid:base64" (first is current) into a keyring; refuse weak keys."""
    ciphers: dict[str, AESGCM] = {}
    order: list[str] = []
    for item in (part.strip() for part in spec.split(",")):
        if not item:
            continue
        kid, sep, encoded = item.partition(":")
        if not sep or not kid or _SEPARATOR in kid:
            raise ImproperlyConfigured("DATA_KEYS entries are 'kid:base64key'.")
        key = base64.b64decode(encoded)
        if len(key) not in (16, 24, 32):
            raise ImproperlyConfigured(f"Data key {kid!r} must be 128, 192 or 256 bits.")
        if kid in ciphers:
            raise ImproperlyConfigured(f"Data key id {kid!r} appears twice.")
        ciphers[kid] = AESGCM(key)
        order.append(kid)
    if not order:
        raise ImproperlyConfigured("DATA_KEYS holds no key.")
    return Keyring(current_kid=order[0], ciphers=ciphers)


@lru_cache(maxsize=8)
def _keyring_for(spec: str) -> Keyring:
    return parse_data_keys(spec)


def keyring() -> Keyring:
    """The keyring of the current settings (cached per settings value, so tests may override)."""
    return _keyring_for(settings.DATA_KEYS)


def associated_data(table: str, column: str, row_id: int | str) -> bytes:
    """What binds a token to its place: table, column and row."""
    return f"{table}|{column}|{row_id}".encode()


_nonce_pool: list[bytes] = []


def _clear_random_pool() -> None:
    _nonce_pool.clear()


# A forked child must never reuse the parent's buffered nonces.
os.register_at_fork(after_in_child=_clear_random_pool)


def _nonce() -> bytes:
    """12 fresh random bytes, from a buffer of urandom (one system call per 4,096 nonces).

    list.pop() is atomic, so two threads never take the same nonce.
    """
    try:
        return _nonce_pool.pop()
    except IndexError:
        block = os.urandom(NONCE_BYTES * 4097)
        _nonce_pool.extend(
            block[i : i + NONCE_BYTES] for i in range(NONCE_BYTES, len(block), NONCE_BYTES)
        )
        return block[:NONCE_BYTES]


_URLSAFE = bytes.maketrans(b"+/", b"-_")


def encrypt(
    plaintext: str, *, table: str, column: str, row_id: int | str, ring: Keyring | None = None
) -> str:
    """Encrypt one identifier for one table/column/row under the current key."""
    ring = ring or keyring()
    nonce = _nonce()
    # Bulk loads seal millions of identifiers: associated_data() and base64.urlsafe_b64encode()
    # are inlined (the same bytes), which halves the Python around the AES-GCM call.
    sealed = ring.ciphers[ring.current_kid].encrypt(
        nonce, plaintext.encode(), f"{table}|{column}|{row_id}".encode()
    )
    body = binascii.b2a_base64(nonce + sealed, newline=False).translate(_URLSAFE).decode()
    return f"{ring.current_kid}{_SEPARATOR}{body}"


def token_kid(token: str) -> str:
    """The key id a token was sealed under."""
    return token.partition(_SEPARATOR)[0]


def decrypt(
    token: str, *, table: str, column: str, row_id: int | str, ring: Keyring | None = None
) -> str:
    """Open a token written for this table/column/row; DecryptionFailed otherwise."""
    ring = ring or keyring()
    kid, sep, body = token.partition(_SEPARATOR)
    cipher = ring.ciphers.get(kid)
    if not sep or cipher is None:
        raise DecryptionFailed("The token names no known key.")
    try:
        raw = base64.urlsafe_b64decode(body.encode())
        plain = cipher.decrypt(
            raw[:NONCE_BYTES], raw[NONCE_BYTES:], associated_data(table, column, row_id)
        )
    except (InvalidTag, ValueError) as exc:
        raise DecryptionFailed("The token does not open for this row.") from exc
    return plain.decode()


def needs_rotation(token: str, ring: Keyring | None = None) -> bool:
    """True if the token is not under the current key."""
    ring = ring or keyring()
    return token_kid(token) != ring.current_kid


def normalize_identifier(value: str) -> str:
    """The canonical form that is indexed: letters and digits only, upper case."""
    return _NON_ALNUM.sub("", value).upper()


@lru_cache(maxsize=8)
def _index_key(spec: str) -> bytes:
    if not spec:
        raise ImproperlyConfigured("BLIND_INDEX_KEY is empty.")
    return hashlib.sha256(b"crosscheck-blind-index|" + spec.encode()).digest()


def blind_index_key() -> bytes:
    """The derived HMAC key of the blind index."""
    return _index_key(settings.BLIND_INDEX_KEY)


@lru_cache(maxsize=8)
def _hmac_pads(key: bytes) -> tuple[Any, Any]:
    # HMAC-SHA256 (RFC 2104) with the keyed inner and outer states computed once: copying two
    # hash states is several times cheaper than a new HMAC per identifier, and bulk loads index
    # millions of them. Equal to hmac.new(key, msg, sha256) (tested).
    block = (
        key.ljust(64, b"\0") if len(key) <= 64 else hashlib.sha256(key).digest().ljust(64, b"\0")
    )
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in block))
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in block))
    return inner, outer


def blind_index(value: str, *, kind: str, key: bytes | None = None) -> str:
    """Keyed HMAC of the normalized identifier (hex): equal identifiers of a kind, equal indexes."""
    inner_base, outer_base = _hmac_pads(key or blind_index_key())
    # Identifiers are mostly plain ASCII letters and digits already: skip the regular expression.
    normalized = (
        value.upper() if value.isascii() and value.isalnum() else normalize_identifier(value)
    )
    inner = inner_base.copy()
    inner.update(f"{kind}|{normalized}".encode())
    outer = outer_base.copy()
    outer.update(inner.digest())
    return str(outer.hexdigest())


def last4(value: str) -> str:
    """The last four characters of the normalized identifier, the only part shown in clear."""
    return normalize_identifier(value)[-4:]


def mask(last_four: str) -> str:
    """How an identifier is shown: bullets and the last four."""
    return f"•••{last_four}" if last_four else ""
