"""A bulk import on a real Celery worker, killed (SIGKILL) in the middle and resumed by another.

The first worker pauses between chunks and is killed after some have committed. The job's
state is in PostgreSQL: the resume sweep queues it again, a second worker skips the chunks
already imported and finishes. Every row becomes exactly one case; importing the file again
creates nothing.
"""

from __future__ import annotations

import io
import os
import signal

import pytest
import redis
from django.conf import settings as django_settings
from django.core.cache import cache

from tests.verification.test_import import csv_bytes, row
from tests.workers import celery_worker, stop_worker, wait_until
from verification.imports.jobs import import_run
from verification.imports.staging import import_stage
from verification.models import ImportChunk, ImportJob, ImportMode, ImportStatus, VerificationCase
from verification.tasks import enqueue_import, imports_resume

ROWS = 40


def rows() -> list[dict[str, str]]:
    return [
        row(
            ssn=f"5{i + 10:02d}-{i % 80 + 10:02d}-{1000 + i:04d}",
            first_name="Ana",
            last_name=f"Silva{chr(97 + i % 26)}",
        )
        for i in range(ROWS)
    ]


@pytest.mark.worker
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_killed_worker_delays_an_import_but_loses_and_duplicates_no_row(employer, settings):
    redis.Redis.from_url(django_settings.REDIS_URL).flushdb()  # the private test Redis database
    settings.VERIFICATION_IMPORT_CHUNK_ROWS = 5
    first = celery_worker("batch", "import-a", {"CROSSCHECK_IMPORT_CHUNK_PAUSE_MS": "1500"})
    second = None
    try:
        job = import_stage(
            actor=None,
            employer=employer,
            stream=io.BytesIO(csv_bytes(rows())),
            file_name="hires.csv",
            mode=ImportMode.GOOD_ROWS,  # committed chunk by chunk
            channel="command",
            enqueue=enqueue_import,
        )
        assert job.chunks.count() == ROWS // 5
        wait_until(
            lambda: ImportChunk.objects.filter(job=job, imported=True).count() >= 2,
            90,
            "two chunks",
        )
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(10)
        job.refresh_from_db()
        done_before = ImportChunk.objects.filter(job=job, imported=True).count()
        assert job.status == ImportStatus.IMPORTING
        assert done_before < ROWS // 5
        assert VerificationCase.objects.count() == done_before * 5  # whole chunks, never half

        second = celery_worker("batch", "import-b")
        assert imports_resume(older_than_seconds=0) == [job.pk]
        wait_until(
            lambda: ImportJob.objects.get(pk=job.pk).status == ImportStatus.DONE, 120, "the import"
        )
    finally:
        stop_worker(first)
        if second is not None:
            stop_worker(second)
    job.refresh_from_db()
    cases = VerificationCase.objects.filter(employer=employer)
    assert cases.count() == ROWS == job.rows_imported
    assert len(set(cases.values_list("import_key", flat=True))) == ROWS
    assert len(set(cases.values_list("ssn_bidx", flat=True))) == ROWS
    assert job.rows_processed == ROWS
    assert not job.chunks.exclude(payload_enc="").exists()
    again = import_stage(
        actor=None,
        employer=employer,
        stream=io.BytesIO(csv_bytes(rows())),
        file_name="hires.csv",
        mode=ImportMode.ALL_OR_NOTHING,
        channel="command",
    )
    again = import_run(job_id=again.pk)
    assert again.rows_already == ROWS
    assert VerificationCase.objects.count() == ROWS


@pytest.mark.worker
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_an_all_or_nothing_import_killed_midway_leaves_nothing_and_resumes_from_the_start(
    employer, settings
):
    redis.Redis.from_url(django_settings.REDIS_URL).flushdb()
    settings.VERIFICATION_IMPORT_CHUNK_ROWS = 5
    first = celery_worker("batch", "import-c", {"CROSSCHECK_IMPORT_CHUNK_PAUSE_MS": "1500"})
    second = None
    try:
        job = import_stage(
            actor=None,
            employer=employer,
            stream=io.BytesIO(csv_bytes(rows())),
            file_name="hires.csv",
            mode=ImportMode.ALL_OR_NOTHING,
            channel="command",
            enqueue=enqueue_import,
        )
        wait_until(lambda: (cache.get(f"vimport:{job.pk}:processed") or 0) >= 10, 90, "two chunks")
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(10)
        assert VerificationCase.objects.count() == 0  # its one transaction died with it
        assert ImportJob.objects.get(pk=job.pk).status == ImportStatus.VALIDATING
        second = celery_worker("batch", "import-d")
        assert imports_resume(older_than_seconds=0) == [job.pk]
        wait_until(
            lambda: ImportJob.objects.get(pk=job.pk).status == ImportStatus.DONE, 120, "done"
        )
    finally:
        stop_worker(first)
        if second is not None:
            stop_worker(second)
    assert VerificationCase.objects.filter(employer=employer).count() == ROWS
