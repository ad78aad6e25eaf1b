"""Recording audit events. Every service calls `event_record` inside its own transaction."""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection, connections
from django.utils import timezone

from audit import context
from audit.catalogue import CATALOGUE, CATALOGUE_VERSION
from audit.models import AuditEvent, Outcome
from core.errors import DomainError
from core.inserts import prepared_values

# What a full identifier looks like in free text: an SSN with or without separators, nine or more
# digits in a row, an A-Number. Never allowed in the free-text parts of an audit row.
_IDENTIFIER_RUN = re.compile(r"(?<!\d)(?:\d{3}[- ]\d{2}[- ]\d{4}|\d{9,})(?!\d)|\b[Aa]-?\d{7,9}\b")
# Field names whose values are identifiers: a change records that they changed, and at most
# their last four characters (DESIGN.md: identifiers shown masked, last 4).
DEFAULT_IDENTIFIER_FIELDS = frozenset(
    {
        "ssn",
        "a_number",
        "anumber",
        "uscis_number",
        "i94",
        "i94_number",
        "passport",
        "passport_number",
        "document_number",
        "doc_number",
        "ein",
        "identifier",
        "ssn_ciphertext",
        "ssn_blind_index",
    }
)
REDACTED = "[redacted]"
# A SHA-256 digest (evidence, a printed notice) is no identifier, though its hex often holds a run
# of nine digits: kept whole under a key naming it, so the digest can still be compared.
_SHA256 = re.compile(r"[0-9a-f]{64}")


class AuditWriteFailed(DomainError):
    """The audit row could not be written, so the action it records must not happen either."""

    status_code = 500
    code = "audit_unavailable"


# Parts of a field or column name that mark it as an identifier (or its ciphertext or blind index).
IDENTIFIER_NAME_PARTS = (
    "ssn",
    "a_number",
    "anumber",
    "uscis_number",
    "i94",
    "passport",
    "document_number",
    "doc_number",
    "blind_index",
    "bidx",
    "ciphertext",
)


def _identifier_fields() -> frozenset[str]:
    extra = getattr(settings, "AUDIT_IDENTIFIER_FIELDS", ())
    return DEFAULT_IDENTIFIER_FIELDS | {str(f).lower() for f in extra}


def is_identifier_name(name: str) -> bool:
    """True if a field or column of this name holds an identifier, its ciphertext or its blind index."""
    lowered = name.lower()
    return lowered in _identifier_fields() or any(part in lowered for part in IDENTIFIER_NAME_PARTS)


def _last_four(value: Any) -> str | None:
    if value in (None, ""):
        return None
    chars = re.sub(r"[^0-9A-Za-z]", "", str(value))
    return f"…{chars[-4:]}" if len(chars) > 4 else "…"


def _scrub(value: Any, *, key: str = "") -> Any:
    """Drop anything that looks like a full identifier from free values; identifier fields keep the last four."""
    if key and is_identifier_name(key):
        if isinstance(value, list | tuple):
            return [_last_four(v) for v in value]
        return _last_four(value)
    if isinstance(value, str):
        if key.endswith("sha256") and _SHA256.fullmatch(value):
            return value
        return _text(value)
    if isinstance(value, Mapping):
        return {_no_nul(str(k)): _scrub(v, key=str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        # `key` is no identifier name (checked above), so the items are scrubbed as free values;
        # a list of plain numbers (the ids a page showed) is kept as it is.
        if all(type(v) is int for v in value):
            return list(value)
        return [_scrub(v) for v in value]
    if isinstance(value, int | float | bool) or value is None:
        return value
    return _text(str(value))


def _no_nul(text: str) -> str:
    """NUL as U+FFFD: a JSON document with \\u0000 cannot be stored in jsonb, and an event that
    cannot be stored fails its action (a sign-in with a NUL in the username was a 500)."""
    return text.replace("\x00", "\ufffd")


def _text(text: str) -> str:
    """A free text value as recorded: identifiers redacted, NULs replaced."""
    return _no_nul(_IDENTIFIER_RUN.sub(REDACTED, text))


def normalize_search_value(value: str) -> str:
    """The form a searched value is hashed in: no accents, case or punctuation, single spaces."""
    decomposed = unicodedata.normalize("NFKD", value)
    letters = "".join(c for c in decomposed if not unicodedata.combining(c))
    cleaned = re.sub(r"[^\w]+", " ", letters.casefold(), flags=re.UNICODE)
    return " ".join(cleaned.replace("_", " ").split())


def search_hmac(*, kind: str, value: str) -> str:
    """Keyed hash of a normalized searched value: finds repeats, and never reveals the value."""
    message = f"{kind.strip().lower()}:{normalize_search_value(value)}".encode()
    return hmac.new(settings.AUDIT_HMAC_KEY.encode(), message, hashlib.sha256).hexdigest()


def _roles(user: Any) -> str:
    roles = getattr(user, "roles", None) or []
    return ",".join(str(r) for r in roles)[:128]


_INSERT: tuple[list[Any], str] | None = None


def _statement(event: AuditEvent) -> tuple[str, list[Any]]:
    """`event.save(force_insert=True)` as one fixed INSERT ... RETURNING id (every field, no signals
    are connected to AuditEvent): the ORM's insert compiler costs about a millisecond per page view."""
    global _INSERT
    if _INSERT is None:
        # subjects last: a list of strings goes to the database as it is, without ArrayField's
        # per-item preparation.
        fields = [
            f
            for f in AuditEvent._meta.concrete_fields
            if not f.primary_key and f.name != "subjects"
        ]
        quote = connection.ops.quote_name
        columns = ", ".join(quote(f.column) for f in fields)  # the model's own column names
        subjects = quote(AuditEvent._meta.get_field("subjects").column)
        _INSERT = (
            fields,
            (
                f"INSERT INTO {quote(AuditEvent._meta.db_table)} ({columns}, {subjects}) "  # noqa: S608  # nosec B608 # table and column names and SQL fragments are ours; values are bound parameters
                f"VALUES ({', '.join(['%s'] * (len(fields) + 1))}) RETURNING {quote(AuditEvent._meta.pk.column)}"
            ),
        )
    fields, sql = _INSERT
    conn = connections[DEFAULT_DB_ALIAS]  # the connection itself, not the proxy, for the 28 fields
    return sql, [*prepared_values(fields, event, conn), list(event.subjects)]


def _written(event: AuditEvent, pk: int) -> None:
    event.pk = pk
    event._state.adding = False
    event._state.db = DEFAULT_DB_ALIAS


def _insert(event: AuditEvent) -> None:
    sql, values = _statement(event)
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute(sql, values)
        _written(event, cursor.fetchone()[0])


def event_record(
    *,
    action: str,
    actor: Any = None,
    object_type: str = "",
    object_id: Any = "",
    subjects: Iterable[Any] = (),
    outcome: str = Outcome.ALLOWED,
    changes: Mapping[str, Any] | None = None,
    case_id: int | None = None,
    agreement_id: int | None = None,
    justification: str = "",
    detail: Mapping[str, Any] | None = None,
    break_glass: bool = False,
    search_kind: str = "",
    search_value: str | None = None,
) -> AuditEvent | None:
    """Record one audit event in the caller's transaction; the action fails if this does.

    `subjects` names the people (or other parties) the action concerns, as references such as
    "person:42": one event per request, naming everyone the page showed. `search_value` is never
    stored: only the HMAC of its normalized form, next to `search_kind` (the kind of key searched).
    """
    return _event(**locals())  # type: ignore[no-any-return]  # the same arguments, by name


@dataclass
class PendingEvent:
    """An audit event built and validated, with the INSERT ... RETURNING id that writes it.

    For a service that sends the INSERT inside one of its own statements (a data-modifying WITH),
    in the same transaction as the action, and then calls `event_written` with the id; if that
    statement fails on the audit table, `event_write_failed` says so as `event_record` would.
    """

    event: AuditEvent
    sql: str
    params: list[Any]


def event_pending(
    *,
    action: str,
    actor: Any = None,
    object_type: str = "",
    object_id: Any = "",
    subjects: Iterable[Any] = (),
    outcome: str = Outcome.ALLOWED,
    changes: Mapping[str, Any] | None = None,
    case_id: int | None = None,
    agreement_id: int | None = None,
    justification: str = "",
    detail: Mapping[str, Any] | None = None,
    break_glass: bool = False,
    search_kind: str = "",
    search_value: str | None = None,
) -> PendingEvent | None:
    """`event_record`, except that the INSERT is returned, not sent (None when auditing is off)."""
    built = _event(**locals(), deferred=True)
    if built is None:
        return None
    event, (sql, params) = built
    return PendingEvent(event, sql, params)


def event_written(pending: PendingEvent, pk: int) -> AuditEvent:
    """Mark a pending event as written with this id; the event."""
    _written(pending.event, pk)
    return pending.event


def event_write_failed(exc: DatabaseError) -> AuditWriteFailed | None:
    """The error `event_record` raises, if a statement that carried a pending event failed on the
    audit table; None if it failed elsewhere (the caller re-raises it unchanged)."""
    table = getattr(getattr(exc.__cause__, "diag", None), "table_name", None) or ""
    if table.startswith(AuditEvent._meta.db_table):
        return AuditWriteFailed("The action could not be recorded, so it was not carried out.")
    return None


def _event(
    *,
    action: str,
    actor: Any = None,
    object_type: str = "",
    object_id: Any = "",
    subjects: Iterable[Any] = (),
    outcome: str = Outcome.ALLOWED,
    changes: Mapping[str, Any] | None = None,
    case_id: int | None = None,
    agreement_id: int | None = None,
    justification: str = "",
    detail: Mapping[str, Any] | None = None,
    break_glass: bool = False,
    search_kind: str = "",
    search_value: str | None = None,
    deferred: bool = False,
) -> Any:
    """Build one audit event and insert it (`deferred`: return it with its INSERT, unsent).
    `event_record` says what the arguments mean."""
    if action not in CATALOGUE:
        raise ValueError(f"Audit action {action!r} is not in the event catalogue.")
    if outcome not in Outcome.values:
        raise ValueError(f"Audit outcome must be one of {Outcome.values}, not {outcome!r}.")
    if not settings.AUDIT_ENABLED:
        return None
    try:
        ctx = context.current()
        who = actor if actor is not None else ctx.user
        agency = getattr(who, "agency", None) if who is not None else None
        event = AuditEvent(
            occurred_at=timezone.now(),
            catalogue_version=CATALOGUE_VERSION,
            actor_id=getattr(who, "pk", None),
            actor_username=(getattr(who, "username", "") or "")[:150],
            actor_agency=(getattr(agency, "code", "") or "")[:32],
            actor_role=_roles(who),
            api_key_id=ctx.api_key_id,
            employer_id=ctx.employer_id,
            action=action,
            object_type=str(object_type)[:64],
            # Object ids and subjects are references chosen by code ("person:42"), not free text.
            object_id=str(object_id)[:64] if object_id not in (None, "") else "",
            subjects=sorted({str(s)[:80] for s in subjects}),
            search_kind=search_kind[:32] if search_value is not None else "",
            search_hmac=search_hmac(kind=search_kind, value=search_value)
            if search_value is not None
            else "",
            ip=ctx.ip or None,
            user_agent=_scrub(ctx.user_agent or "")[:400],
            request_id=ctx.request_id or "",
            task_name=ctx.task_name or "",
            run_id=ctx.run_id or "",
            case_id=case_id if case_id is not None else ctx.case_id,
            agreement_id=agreement_id if agreement_id is not None else ctx.agreement_id,
            justification=_scrub(justification or ctx.purpose or ""),
            break_glass=bool(break_glass or ctx.break_glass),
            outcome=outcome,
            changes=_scrub(dict(changes or {})),
            detail=_scrub(dict(detail or {})),
        )
        # No savepoint of its own: inside the caller's transaction a failed insert must fail the
        # whole action anyway, and outside one the INSERT commits by itself. (A savepoint would
        # cost two more round trips on every page view.)
        if not deferred:
            _insert(event)
            return event
        return event, _statement(event)
    except (DatabaseError, TypeError, ValueError) as exc:
        raise AuditWriteFailed(
            "The action could not be recorded, so it was not carried out."
        ) from exc
