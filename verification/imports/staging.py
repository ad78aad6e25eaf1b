"""Receiving an import: the file streamed into sealed chunks of an `ImportJob`, then the job queued.

The rows hold clear identifiers, so a chunk's payload is sealed like any identifier (AES-GCM,
bound to the chunk's row) and emptied once the chunk is imported.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from typing import IO, Any

from django.conf import settings
from django.db import transaction

from audit.services import event_record
from core.errors import ValidationFailed
from privacy import crypto
from verification.identifiers import allocate_ids
from verification.imports import reading
from verification.models import (
    ApiScope,
    Employer,
    EmployerApiKey,
    EmployerStatus,
    ImportChunk,
    ImportJob,
    ImportMode,
)

CHUNK_TABLE = ImportChunk._meta.db_table


class _Hashing:
    """A binary stream that hashes what is read through it and refuses more than `limit` bytes."""

    def __init__(self, stream: IO[bytes], limit: int) -> None:
        self.stream, self.limit, self.size = stream, limit, 0
        self.digest = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        block = self.stream.read(n)
        self.size += len(block)
        if self.size > self.limit:
            raise ValidationFailed(
                "The file is too large.",
                field_errors={"file": [f"At most {self.limit} bytes."]},
            )
        self.digest.update(block)
        return block

    def read1(self, n: int = -1) -> bytes:
        return self.read(n)

    def readinto(self, buffer: Any) -> int:
        block = self.read(len(buffer))
        buffer[: len(block)] = block
        return len(block)

    @property
    def closed(self) -> bool:
        return False

    def flush(self) -> None:
        """Nothing to flush (read only)."""

    def seekable(self) -> bool:
        return False

    def writable(self) -> bool:
        return False


def seal_payload(chunk_id: int, rows: list[Any]) -> str:
    """A chunk's rows as one sealed token."""
    return crypto.encrypt(
        json.dumps(rows, separators=(",", ":")),
        table=CHUNK_TABLE,
        column="payload_enc",
        row_id=chunk_id,
    )


def open_payload(chunk: ImportChunk) -> list[tuple[int, dict[str, str] | None, str]]:
    """The rows of a chunk: (line, raw values or None, shape error)."""
    data = json.loads(
        crypto.decrypt(chunk.payload_enc, table=CHUNK_TABLE, column="payload_enc", row_id=chunk.pk)
    )
    return [(line, values, error) for line, values, error in data]


def _chunks(
    stream: _Hashing, file_format: str, size: int
) -> Iterator[list[tuple[int, dict[str, str] | None, str]]]:
    batch: list[tuple[int, dict[str, str] | None, str]] = []
    for row in reading.rows(stream, file_format):  # type: ignore[arg-type]
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _check_sender(employer: Employer, actor: Any, mode: str) -> None:
    if employer.status != EmployerStatus.ACTIVE:
        raise ValidationFailed("The employer's E-Verify enrollment is not active.")
    if mode not in ImportMode.values:
        raise ValidationFailed(
            "Unknown mode.", field_errors={"mode": [f"One of: {', '.join(ImportMode.values)}."]}
        )
    if isinstance(actor, EmployerApiKey) and ApiScope.SUBMIT not in actor.scopes:
        raise ValidationFailed("This API key may not submit cases.")


@transaction.atomic
def import_stage(
    *,
    actor: Any,
    employer: Employer,
    stream: IO[bytes],
    file_name: str,
    mode: str,
    channel: str,
    enqueue: Callable[[int], None] | None = None,
) -> ImportJob:
    """Stage a file of cases as an import job (chunks sealed in PostgreSQL) and queue its run.

    A file whose header is wrong, that is not UTF-8 or that passes the size cap is refused here,
    with nothing written. Bad rows are found by the job and reported by line.
    """
    _check_sender(employer, actor, mode)
    limit = settings.VERIFICATION_IMPORT_MAX_BYTES
    head = stream.read(4096)
    file_format = reading.sniff_format(head, file_name)
    hashing = _Hashing(_Prefixed(head, stream), limit)  # type: ignore[arg-type]
    job = ImportJob.objects.create(
        employer=employer,
        created_by=None if isinstance(actor, EmployerApiKey) else actor,
        created_by_key=actor if isinstance(actor, EmployerApiKey) else None,
        channel=channel,
        file_name=(file_name or "upload")[:255],
        file_sha256="",
        file_format=file_format,
        mode=mode,
    )
    total, number = 0, 0
    for batch in _chunks(hashing, file_format, settings.VERIFICATION_IMPORT_CHUNK_ROWS):
        chunk_id = allocate_ids(ImportChunk)[0]
        ImportChunk.objects.create(
            id=chunk_id,
            job=job,
            number=number,
            first_line=batch[0][0],
            row_count=len(batch),
            payload_enc=seal_payload(chunk_id, batch),
        )
        number += 1
        total += len(batch)
    if total == 0:
        raise ValidationFailed(
            "The file holds no rows.", field_errors={"file": ["No row below the header."]}
        )
    job.rows_total = total
    job.file_sha256 = hashing.digest.hexdigest()
    job.save(update_fields=["rows_total", "file_sha256", "updated_at"])
    event_record(
        action="vimport.started",
        actor=None if isinstance(actor, EmployerApiKey) else actor,
        object_type="import_job",
        object_id=job.pk,
        subjects=[f"employer:{employer.pk}"],
        detail={
            "rows": total,
            "chunks": number,
            "mode": mode,
            "channel": channel,
            "format": file_format,
            "sha256": job.file_sha256,
            "bytes": hashing.size,
        },
    )
    if enqueue is not None:
        transaction.on_commit(lambda: enqueue(job.pk))
    return job


class _Prefixed:
    """A stream whose first bytes were already read (to sniff the format)."""

    def __init__(self, head: bytes, rest: IO[bytes]) -> None:
        self.head, self.rest = head, rest

    def read(self, n: int = -1) -> bytes:
        if self.head:
            if n < 0:
                out, self.head = self.head + self.rest.read(), b""
                return out
            out, self.head = self.head[:n], self.head[n:]
            return out
        return self.rest.read(n)
