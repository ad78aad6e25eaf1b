"""Canary identifiers and the scanner that looks for their full values wherever data may leak.

The canaries are synthetic and distinctive (no test or generator uses them elsewhere). Each is
looked for in every way it may be written: an SSN with dashes, spaces or none; an A-Number with or
without its letter; a date of birth in ISO, US and compact forms. Masked forms (`***-**-4826`,
`•••4826`, `…4826`) are not full values and do not count.

Where the scanner looks (tests/test_canaries.py feeds it):
- log lines: every record of the test process (a handler on the root logger and on every logger
  that does not propagate) and the real worker's stdout and stderr;
- Celery messages: every command Redis ran on the test's database during the run, captured by
  `redis-cli MONITOR`, with kombu's base64 message bodies decoded;
- HTML pages, API answers and error pages: every response body the test received;
- the database: every text, varchar, char, json, jsonb and text-array column of every table,
  except the columns that hold ciphertext, blind indexes or HMACs by design (`NOT_SCANNED`);
- the checkpoint files: every file under the audit checkpoint directory.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

import psycopg2

SSN = "573-19-4826"
A_NUMBER = "A208461937"
PASSPORT = "ZQ4H81K27"
DOB = "1968-11-23"

FORMS: dict[str, tuple[str, ...]] = {
    "ssn": ("573194826", "573-19-4826", "573 19 4826"),
    "a_number": ("208461937", "A-208461937", "208-461-937"),  # A208461937 contains the first
    "passport": ("ZQ4H81K27", "zq4h81k27"),
    "dob": ("1968-11-23", "11/23/1968", "19681123", "23/11/1968", "1968/11/23"),
}

# Columns that hold identifiers only as ciphertext, blind index or HMAC, by design: by name, as
# audit.services.is_identifier_name would call them, and the audit chain's hashes.
NOT_SCANNED = re.compile(r"(_enc|_bidx|_hmac|_ciphertext|_blind_index)$|^(hash|prev_hash)$")
TEXT_TYPES = {"text", "character varying", "character", "json", "jsonb"}
TEXT_ARRAYS = {"_text", "_varchar", "_bpchar"}


@dataclass(frozen=True)
class Hit:
    """One full value found: which canary, in which form, where, and the text around it."""

    kind: str
    form: str
    where: str
    context: str

    def __str__(self) -> str:
        return f"{self.kind} ({self.form}) in {self.where}: …{self.context}…"


def find(text: str, where: str, kinds: Iterable[str] = tuple(FORMS)) -> list[Hit]:
    """Every full canary value in `text` (and in its URL-decoded form)."""
    hits = []
    for variant in dict.fromkeys([text, unquote_plus(text)]):
        for kind in kinds:
            for form in FORMS[kind]:
                at = variant.find(form)
                if at >= 0:
                    context = variant[max(0, at - 60) : at + len(form) + 60].replace("\n", " ")
                    hits.append(Hit(kind, form, where, context))
    return list({(h.kind, h.where): h for h in hits}.values())


# --- Redis: what MONITOR saw, with kombu bodies decoded --------------------------------------------
_ARG = re.compile(r'"((?:[^"\\]|\\.)*)"')


def _unescape(arg: str) -> str:
    """redis-cli MONITOR quotes each argument with C-style escapes."""
    raw = re.sub(
        r"\\x([0-9a-fA-F]{2})|\\(.)",
        lambda m: chr(int(m.group(1), 16))
        if m.group(1)
        else {"n": "\n", "t": "\t", "r": "\r"}.get(m.group(2), m.group(2)),
        arg,
    )
    return raw.encode("latin-1", "replace").decode("utf-8", "replace")


def _decoded_bodies(value: str) -> list[str]:
    """A kombu message (JSON with a base64 `body`) gives its decoded body too."""
    try:
        message = json.loads(value)
    except ValueError:
        return []
    if not isinstance(message, dict) or "body" not in message:
        return []
    body = message["body"]
    if message.get("properties", {}).get("body_encoding") == "base64" and isinstance(body, str):
        try:
            return [base64.b64decode(body).decode("utf-8", "replace")]
        except (binascii.Error, ValueError):
            return []
    return [json.dumps(body)]


def redis_commands(monitor_output: str, db: int) -> tuple[list[list[str]], int]:
    """The arguments of every command MONITOR saw on database `db`, each with its kombu bodies
    decoded after it; and how many Celery messages were among them."""
    commands, messages = [], 0
    for line in monitor_output.splitlines():
        if f"[{db} " not in line:
            continue
        args = [_unescape(arg) for arg in _ARG.findall(line)]
        bodies = [body for arg in args for body in _decoded_bodies(arg)]
        messages += len(bodies)
        commands.append([" ".join(args[:2]), *args, *bodies])
    return commands, messages


# --- The database ----------------------------------------------------------------------------------
def database_hits(
    dsn: str, kinds: Iterable[str] = tuple(FORMS), *, tables: str = ""
) -> tuple[list[Hit], int]:
    """Full canary values in every scanned text column of every table (whose name matches the
    regular expression `tables`, if given); and how many columns were scanned."""
    patterns = [f"%{form}%" for kind in kinds for form in FORMS[kind]]
    conn = psycopg2.connect(dsn)
    hits: list[Hit] = []
    scanned = 0
    try:
        with conn.cursor() as cur:
            cur.execute(
                """SELECT c.table_name, c.column_name, c.data_type, c.udt_name
                     FROM information_schema.columns c
                     JOIN information_schema.tables t USING (table_schema, table_name)
                    WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'
                    ORDER BY 1, 2"""
            )
            columns = cur.fetchall()
            for table, column, data_type, udt in columns:
                if NOT_SCANNED.search(column) or (tables and not re.search(tables, table)):
                    continue
                if data_type not in TEXT_TYPES and not (
                    data_type == "ARRAY" and udt in TEXT_ARRAYS
                ):
                    continue
                scanned += 1
                cur.execute(
                    f'SELECT "{column}"::text FROM "{table}" WHERE "{column}"::text ILIKE ANY(%s) LIMIT 5',
                    [patterns],
                )
                for (value,) in cur.fetchall():
                    hits += find(value, f"{table}.{column}", kinds)
    finally:
        conn.close()
    return hits, scanned


def file_hits(root: Path, kinds: Iterable[str] = tuple(FORMS)) -> tuple[list[Hit], int]:
    """Full canary values in every file under `root`; and how many files."""
    files = [p for p in sorted(root.rglob("*")) if p.is_file()]
    hits = []
    for path in files:
        hits += find(path.read_text(encoding="utf-8", errors="replace"), str(path), kinds)
    return hits, len(files)


def describe(hits: list[Hit]) -> str:
    return "\n".join(str(h) for h in hits[:40])


def as_text(obj: Any) -> str:
    return obj if isinstance(obj, str) else json.dumps(obj, default=str)
