"""Running an import job: validate every row first, then refuse or import chunk by chunk.

The job's state is in PostgreSQL (`ImportJob`, `ImportChunk`), so a run that dies resumes:
validation starts again (it writes nothing but the report), the import skips the chunks already
committed. A chunk is claimed with a row lock and imported in one transaction with its
bookkeeping, so no chunk is imported twice even if two runs overlap; a row's idempotency key
makes a second import of the same file create nothing.
"""

from __future__ import annotations

import contextvars
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.models import F
from django.utils import timezone

from audit import context
from audit.services import event_record
from core.collector import bulk_gc
from core.errors import IllegalTransition
from verification.imports import checks
from verification.imports.staging import open_payload
from verification.imports.writing import PeopleLock, prepare_cases, prepare_reads, write_cases
from verification.models import (
    ImportChunk,
    ImportJob,
    ImportMode,
    ImportRowError,
    ImportStatus,
)
from verification.services.case_common import today

Progress = Callable[[ImportJob], None]


@contextmanager
def _job_lock(job_id: int) -> Iterator[bool]:
    """A session lock on the job: one run at a time; released if the worker's connection dies."""
    with connection.cursor() as cur:
        cur.execute("SELECT pg_try_advisory_lock(%s, %s)", [0x494D50, job_id])
        held = bool(cur.fetchone()[0])
    try:
        yield held
    finally:
        if held:
            with connection.cursor() as cur:
                cur.execute("SELECT pg_advisory_unlock(%s, %s)", [0x494D50, job_id])


def _actor(job: ImportJob) -> Any:
    return job.created_by


def _validate(job: ImportJob, progress: Progress | None) -> None:
    """Pass 1: check every row; the report (line, field, message) replaces any earlier one."""
    ImportRowError.objects.filter(job=job).delete()
    ImportJob.objects.filter(pk=job.pk).update(rows_validated=0, rows_invalid=0)
    state, on = checks.FileState(), today()
    sites = checks.employer_sites(job.employer)
    kept, invalid, validated = 0, 0, 0
    cap = settings.VERIFICATION_IMPORT_MAX_REPORTED_ERRORS
    for chunk in job.chunks.order_by("number"):
        result = checks.check_rows(
            open_payload(chunk), employer=job.employer, on=on, sites=sites, state=state
        )
        room = max(0, cap - kept)
        ImportRowError.objects.bulk_create(
            ImportRowError(job=job, line=line, field=f[:64], message=m[:500])
            for line, f, m in result.errors[:room]
        )
        kept += min(room, len(result.errors))
        invalid += result.bad_lines
        validated += chunk.row_count
        ImportChunk.objects.filter(pk=chunk.pk).update(validated=True, invalid=result.bad_lines)
        ImportJob.objects.filter(pk=job.pk).update(
            rows_validated=validated, rows_invalid=invalid, updated_at=timezone.now()
        )
        if progress:
            job.refresh_from_db()
            progress(job)
    job.refresh_from_db()
    with transaction.atomic():
        if invalid and job.mode == ImportMode.ALL_OR_NOTHING:
            _refuse(job, "Bad rows were found and the import is all-or-nothing.")
        elif invalid and job.mode == ImportMode.ASK:
            job.status = ImportStatus.AWAITING_CHOICE
            job.save(update_fields=["status", "updated_at"])
        else:
            job.status = ImportStatus.IMPORTING
            job.save(update_fields=["status", "updated_at"])
        event_record(
            action="vimport.validated",
            actor=_actor(job),
            object_type="import_job",
            object_id=job.pk,
            subjects=[f"employer:{job.employer_id}"],
            detail={"rows": job.rows_total, "invalid": invalid, "next": job.status},
        )


def _refuse(job: ImportJob, why: str) -> None:
    """Nothing of the file is imported; the staged rows are dropped, the report is kept."""
    ImportChunk.objects.filter(job=job).update(payload_enc="")
    job.status = ImportStatus.REFUSED
    job.message = why
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "message", "finished_at", "updated_at"])
    event_record(
        action="vimport.refused",
        actor=_actor(job),
        object_type="import_job",
        object_id=job.pk,
        subjects=[f"employer:{job.employer_id}"],
        detail={"invalid": job.rows_invalid, "reason": why},
    )


# Waits while another runner holds an earlier chunk of the job (its claim is FOR UPDATE, which
# conflicts with FOR KEY SHARE); an earlier chunk nobody holds (its runner died) is not waited for.
_EARLIER_SQL = """SELECT id FROM verification_importchunk
WHERE job_id = %s AND number < %s AND NOT imported FOR KEY SHARE"""


def _chunk_cases(
    job: ImportJob, chunk: ImportChunk, sites: dict[int, Any], *, in_order: bool = False
) -> tuple[checks.Checked, list[int], Counter[str], list[int]]:
    """Check and write one chunk's rows in the caller's transaction.

    The per-row work (the rules, the instant match, sealing, the COPY lines) comes first and
    takes no lock, so runners of other chunks of the same employer do theirs at the same time;
    only the database questions and the writes run under the employer's import lock and the
    workers' row locks (`PeopleLock`). Earlier chunks are in the database by then, so each chunk
    starts with an empty `FileState`.
    """
    on = today()
    prepared = checks.clean_rows(open_payload(chunk), employer=job.employer, on=on, sites=sites)
    cases = prepare_cases(
        employer=job.employer, cleaned=prepared.cleaned, on=on, api_key_id=job.created_by_key_id
    )
    if in_order:
        # Runners side by side judge and write their chunks in the file's order, as one runner
        # would: which of two rows of one SSN is the duplicate does not depend on who was faster.
        with connection.cursor() as cur:
            cur.execute(_EARLIER_SQL, [job.pk, chunk.number])
    people = PeopleLock(job.employer)
    result = checks.judge_rows(
        prepared, employer=job.employer, on=on, state=checks.FileState(), lock=people
    )
    ids, statuses = write_cases(
        employer=job.employer, goods=result.good, prepared=cases, people=people
    )
    return result, ids, statuses, people.of(result.good)


def _import_chunk(job: ImportJob, chunk_id: int) -> bool:
    """Import one chunk in one transaction; False if another run holds it or did it."""
    with transaction.atomic():
        chunk = (
            ImportChunk.objects.select_for_update(skip_locked=True)
            .filter(pk=chunk_id, imported=False)
            .first()
        )
        if chunk is None:
            return False
        result, ids, statuses, workers = _chunk_cases(
            job, chunk, checks.employer_sites(job.employer), in_order=True
        )
        chunk.imported, chunk.imported_at, chunk.payload_enc = True, timezone.now(), ""
        chunk.save(update_fields=["imported", "imported_at", "payload_enc"])
        job_row = ImportJob.objects.select_for_update().get(pk=job.pk)
        counts = Counter(job_row.results)
        counts.update(statuses)
        # Rows found bad now: all of them in a single pass, or those a change since the
        # validation pass made bad (another submit took the employer case id, say).
        if result.errors:
            known = set(
                ImportRowError.objects.filter(
                    job=job, line__in=sorted({e[0] for e in result.errors})
                ).values_list("line", flat=True)
            )
            room = settings.VERIFICATION_IMPORT_MAX_REPORTED_ERRORS - job_row.errors.count()
            _report(job, [e for e in result.errors if e[0] not in known][: max(0, room)])
        ImportJob.objects.filter(pk=job.pk).update(
            rows_imported=F("rows_imported") + len(ids),
            rows_already=F("rows_already") + result.already,
            rows_processed=F("rows_processed") + chunk.row_count,
            rows_validated=F("rows_validated") + (0 if chunk.validated else chunk.row_count),
            rows_invalid=F("rows_invalid") + max(0, result.bad_lines - chunk.invalid),
            results=dict(counts),
            updated_at=timezone.now(),
        )
        _chunk_event(job, chunk, ids, workers, result.already, statuses)
    return True


def _import(job: ImportJob, progress: Progress | None) -> None:
    """Pass 2: every chunk not yet imported, in order."""
    pause = settings.VERIFICATION_IMPORT_CHUNK_PAUSE_SECONDS
    # Again while a pass imported something: a chunk skipped because another runner held it,
    # and that runner died, is taken on the next pass.
    moved = True
    while moved:
        moved = False
        for chunk_id in (
            job.chunks.filter(imported=False).order_by("number").values_list("pk", flat=True)
        ):
            moved = _import_chunk(job, chunk_id) or moved
            if progress:
                job.refresh_from_db()
                progress(job)
            if pause:
                time.sleep(pause)
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job.pk)
        if job.status != ImportStatus.IMPORTING or job.chunks.filter(imported=False).exists():
            return
        job.status = ImportStatus.DONE
        job.finished_at = timezone.now()
        job.save(update_fields=["status", "finished_at", "updated_at"])
        event_record(
            action="vimport.finished",
            actor=_actor(job),
            object_type="import_job",
            object_id=job.pk,
            subjects=[f"employer:{job.employer_id}"],
            detail={
                "imported": job.rows_imported,
                "already": job.rows_already,
                "invalid": job.rows_invalid,
                "by_status": job.results,
            },
        )


class _Refused(Exception):
    """Raised inside the all-or-nothing transaction to roll every write back."""


def _progress_key(job_id: int) -> str:
    return f"vimport:{job_id}:processed"


def live(job: ImportJob) -> ImportJob:
    """The job with the progress of an all-or-nothing run still inside its transaction (kept in
    the cache: losing it loses only the bar's position)."""
    if job.status == ImportStatus.VALIDATING and job.mode == ImportMode.ALL_OR_NOTHING:
        done = cache.get(_progress_key(job.pk))
        if done:
            job.rows_validated = job.rows_processed = int(done)
    return job


def _all_or_nothing(job: ImportJob, progress: Progress | None) -> None:
    """One pass in one transaction: every row checked and the good ones written; one bad row and
    everything rolls back, leaving the database as it was but for the report. A run that dies
    rolls back too, and the resumed job starts again from its first chunk."""
    errors: list[tuple[int, str, str]] = []
    invalid = 0
    try:
        with transaction.atomic():
            counts: Counter[str] = Counter()
            created = already = processed = 0
            for chunk, (result, ids, statuses) in _pipelined(job):
                errors += result.errors
                invalid += result.bad_lines
                counts.update(statuses)
                created, already = created + len(ids), already + result.already
                processed += chunk.row_count
                cache.set(_progress_key(job.pk), processed, timeout=3600)
                if progress:
                    job.rows_validated = job.rows_processed = processed
                    progress(job)
                if settings.VERIFICATION_IMPORT_CHUNK_PAUSE_SECONDS:
                    time.sleep(settings.VERIFICATION_IMPORT_CHUNK_PAUSE_SECONDS)
            if invalid:
                raise _Refused
            ImportChunk.objects.filter(job=job).update(
                validated=True, imported=True, imported_at=timezone.now(), payload_enc=""
            )
            job.rows_validated = job.rows_processed = processed
            job.rows_imported, job.rows_already, job.results = created, already, dict(counts)
            job.status = ImportStatus.IMPORTING  # _finish marks it done
            job.save()
    except _Refused:
        with transaction.atomic():
            _report(job, errors)
            job.rows_validated = job.rows_total
            job.rows_invalid = invalid
            job.save(update_fields=["rows_validated", "rows_invalid", "updated_at"])
            _refuse(job, "Bad rows were found and the import is all-or-nothing.")
    finally:
        cache.delete(_progress_key(job.pk))


_Written = tuple[checks.Checked, list[int], Counter[str]]


def _write_chunk(
    job: ImportJob,
    chunk: ImportChunk,
    prepared: checks.Prepared,
    cases: dict[int, Any],
    on: date,
) -> _Written:
    """The database part of a chunk of an all-or-nothing run: judged, written and audited.

    Foreign keys are checked at the end of each statement here rather than all at the commit,
    so that this work, done beside the next chunk's Python (`_pipelined`), takes it with it.
    """
    with connection.cursor() as cur:
        cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
    people = PeopleLock(job.employer)
    result = checks.judge_rows(
        prepared, employer=job.employer, on=on, state=checks.FileState(), lock=people
    )
    ids, statuses = write_cases(
        employer=job.employer, goods=result.good, prepared=cases, people=people
    )
    _chunk_event(job, chunk, ids, people.of(result.good), result.already, statuses)
    with connection.cursor() as cur:
        cur.execute("SET CONSTRAINTS ALL DEFERRED")  # as Django declares them all
    return result, ids, statuses


def _pipelined(job: ImportJob) -> Iterator[tuple[ImportChunk, _Written]]:
    """The chunks of an all-or-nothing run, each checked and written in the caller's transaction.

    Two threads, one connection, one transaction: while a writer thread waits on PostgreSQL for
    chunk k (judged, written, audited: `_write_chunk`), this thread runs the per-row Python of
    chunk k+1 (the rules, the instant match, sealing, the COPY lines). The connection is used by
    one thread at a time: this thread reads (ids, reference rows) only between two chunks' writes.
    The writer runs in this thread's context (the audit context), and every chunk is written
    before the transaction ends, whatever happens.
    """
    chunks = list(job.chunks.order_by("number"))
    if not chunks:
        return
    sites, on = checks.employer_sites(job.employer), today()
    conn = connections[DEFAULT_DB_ALIAS]

    def clean(chunk: ImportChunk) -> checks.Prepared:
        return checks.clean_rows(open_payload(chunk), employer=job.employer, on=on, sites=sites)

    def in_writer(*args: Any) -> _Written:
        connections[DEFAULT_DB_ALIAS] = conn  # this thread's connection is the run's
        return _write_chunk(*args)

    conn.inc_thread_sharing()
    try:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="vimport-writer") as writer:
            pending: tuple[ImportChunk, Future[_Written]] | None = None
            prepared = clean(chunks[0])
            reads = prepare_reads(prepared.cleaned)
            for number, chunk in enumerate(chunks):
                cases = prepare_cases(
                    employer=job.employer,
                    cleaned=prepared.cleaned,
                    on=on,
                    api_key_id=job.created_by_key_id,
                    reads=reads,
                )
                following = clean(chunks[number + 1]) if number + 1 < len(chunks) else None
                if pending is not None:
                    yield pending[0], pending[1].result()
                # The writer is idle: the next chunk's reads, then this chunk's write.
                reads = prepare_reads(following.cleaned) if following is not None else reads
                pending = (
                    chunk,
                    writer.submit(
                        contextvars.copy_context().run, in_writer, job, chunk, prepared, cases, on
                    ),
                )
                if following is not None:
                    prepared = following
            assert pending is not None
            yield pending[0], pending[1].result()
    finally:
        conn.dec_thread_sharing()


def _report(job: ImportJob, errors: list[tuple[int, str, str]]) -> None:
    room = settings.VERIFICATION_IMPORT_MAX_REPORTED_ERRORS
    ImportRowError.objects.bulk_create(
        ImportRowError(job=job, line=line, field=f[:64], message=m[:500])
        for line, f, m in errors[:room]
    )


def _chunk_event(
    job: ImportJob,
    chunk: ImportChunk,
    ids: list[int],
    workers: list[int],
    already: int,
    statuses: Counter[str],
) -> None:
    """The chunk's audit event: it names every case written and its worker (as a single submit's
    event does), which is why their inserts write no row history each (`writing`)."""
    event_record(
        action="vimport.chunk_imported",
        actor=_actor(job),
        object_type="import_job",
        object_id=job.pk,
        subjects=[
            f"employer:{job.employer_id}",
            *(f"vcase:{i}" for i in ids),
            *(f"worker:{w}" for w in workers),
        ],
        detail={
            "chunk": chunk.number,
            "created": len(ids),
            "already": already,
            "by_status": dict(statuses),
        },
    )


def import_run(*, job_id: int, progress: Progress | None = None) -> ImportJob:
    """Run (or resume) a job as far as it goes.

    - all or nothing: one pass in one transaction (imported, or refused with nothing written);
    - good rows only: chunk by chunk, each committed with its bookkeeping (a resumed run skips
      the chunks done), bad rows reported as they are met;
    - ask: every row checked first; with bad rows the job waits for the person's choice.
    """
    job = ImportJob.objects.select_related("employer", "created_by").get(pk=job_id)
    # The trail names the key (or person) behind an import run by a worker, as for a request.
    token = context.bind(api_key_id=job.created_by_key_id, employer_id=job.employer_id)
    try:
        with bulk_gc():  # rows by the million, none cyclic: 31% of the time was the collector's
            return _run(job, progress)
    finally:
        context.reset(token)


def _run(job: ImportJob, progress: Progress | None) -> ImportJob:
    with _job_lock(job.pk) as held:
        job.refresh_from_db()
        if held and job.status == ImportStatus.VALIDATING:
            if job.mode == ImportMode.ALL_OR_NOTHING:
                _all_or_nothing(job, progress)
            elif job.mode == ImportMode.GOOD_ROWS:
                job.status = ImportStatus.IMPORTING
                job.save(update_fields=["status", "updated_at"])
            else:
                _validate(job, progress)
            job.refresh_from_db()
    # Chunks are claimed one by one (row locks, skipping those taken): several runs, on several
    # workers, import one job's chunks side by side.
    if job.status == ImportStatus.IMPORTING:
        _import(job, progress)
        job.refresh_from_db()
    return job


@transaction.atomic
def import_choose(*, actor: Any, job: ImportJob, good_rows: bool) -> ImportJob:
    """The user's choice once bad rows were reported: import the good rows, or refuse the file."""
    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    if job.status != ImportStatus.AWAITING_CHOICE:
        raise IllegalTransition("This import is not waiting for a choice.")
    if good_rows:
        job.status = ImportStatus.IMPORTING
        job.mode = ImportMode.GOOD_ROWS
        job.save(update_fields=["status", "mode", "updated_at"])
        event_record(
            action="vimport.validated",
            actor=actor,
            object_type="import_job",
            object_id=job.pk,
            subjects=[f"employer:{job.employer_id}"],
            detail={"choice": "good_rows", "invalid": job.rows_invalid},
        )
    else:
        job.mode = ImportMode.ALL_OR_NOTHING
        job.save(update_fields=["mode", "updated_at"])
        _refuse(job, "Refused by the user after the report.")
    return job


def stalled_jobs(*, older_than_seconds: int) -> list[int]:
    """Jobs validating or importing with no progress for a while (their worker may have died)."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    return list(
        ImportJob.objects.filter(
            status__in=[ImportStatus.VALIDATING, ImportStatus.IMPORTING], updated_at__lt=cutoff
        ).values_list("pk", flat=True)
    )


__all__ = ["import_choose", "import_run", "stalled_jobs"]
