"""Retention: preview what a purge would destroy, then destroy it in chunks, leaving tombstones.

Each registered source says which of its records are past retention; legal holds (rows here,
plus hold providers such as open investigations) keep records back. The preview counts in SQL
when the source can (`registry.CountingSource`) and every hold provider can list its holds;
otherwise it walks the candidates chunk by chunk. The counts are the same either way.

Destruction runs chunk by chunk, each in one transaction: first the derived purgers other apps
registered for the source (findings, shadow hits, case links, flagged cases left empty), then the
source's `purge` (the records, their dependent rows and their row history). Every chunk leaves
one tombstone per record, also per record of a registered source that went as a derived copy,
and one audit event with the counts per type.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

from celery import current_app
from dateutil.relativedelta import relativedelta  # type: ignore[import-untyped,unused-ignore]
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from audit.services import event_record
from core.errors import IllegalTransition
from privacy import registry
from privacy.models import Disclosure, LegalHold, PurgeRun, RetentionSchedule, Tombstone, User
from privacy.models.retention import PurgeStatus

PURGE_TASK = "privacy.tasks.purge_run_execute"


def retention_years(source: registry.PersonalDataSource) -> int:
    """The schedule's years for a source, or the source's default."""
    row = RetentionSchedule.objects.filter(source=source.name).first()
    return row.years if row else source.default_retention_years


def _cutoff(source: registry.PersonalDataSource, at: datetime) -> datetime:
    cutoff: datetime = at - relativedelta(years=retention_years(source))
    return cutoff


def held_ids(source_name: str, refs: Sequence[registry.RecordRef]) -> set[str]:
    """Ids among `refs` under a legal hold (hold rows, or any registered hold provider)."""
    ids = [r.record_id for r in refs]
    persons = {r.person_ref for r in refs if r.person_ref}
    holds = LegalHold.objects.filter(released_at__isnull=True).filter(
        Q(source="") | Q(source=source_name)
    )
    by_record = set(holds.filter(record_id__in=ids).values_list("record_id", flat=True))
    held_persons = set(holds.filter(person_ref__in=persons).values_list("person_ref", flat=True))
    held = by_record | {r.record_id for r in refs if r.person_ref in held_persons}
    for provider in registry.hold_providers():
        held |= set(provider(source_name, ids))
    return held


def _chunks(
    source: registry.PersonalDataSource, before: datetime, size: int
) -> Iterator[list[registry.RecordRef]]:
    after = ""
    while True:
        chunk = list(source.retention_candidates(before=before, after_id=after, limit=size))
        if not chunk:
            return
        yield chunk
        after = chunk[-1].record_id


def _held_count(source: registry.PersonalDataSource, before: datetime) -> int | None:
    """Held candidates counted in the database, or None when a hold provider can only be asked per chunk.

    The same holds as `held_ids`: hold rows naming a record id or a person (for this source or for
    all), and every id a hold provider lists for the source.
    """
    if not isinstance(source, registry.CountingSource):
        return None
    holds = LegalHold.objects.filter(released_at__isnull=True).filter(
        Q(source="") | Q(source=source.name)
    )
    record_ids = set(holds.exclude(record_id="").values_list("record_id", flat=True))
    persons = set(holds.exclude(person_ref="").values_list("person_ref", flat=True))
    for provider in registry.hold_providers():
        listing = registry.hold_listing(provider)
        if listing is None:
            return None
        record_ids |= {str(i) for i in listing(source.name)}
    if not record_ids and not persons:
        return 0
    return source.retention_count(before=before, record_ids=record_ids, person_refs=persons)


def _walk_counts(source: registry.PersonalDataSource, before: datetime) -> tuple[int, int]:
    """(due, held) by reading the candidates chunk by chunk: for sources that cannot count."""
    due = held = 0
    for chunk in _chunks(source, before, settings.PRIVACY_PURGE_CHUNK):
        due += len(chunk)
        held += len(held_ids(source.name, chunk))
    return due, held


def retention_counts(source: registry.PersonalDataSource, before: datetime) -> tuple[int, int]:
    """(past retention, held) for one source: SQL counts where the source and the holds allow it."""
    held = _held_count(source, before)
    if held is None:
        return _walk_counts(source, before)
    assert isinstance(source, registry.CountingSource)
    return source.retention_count(before=before), held


@transaction.atomic
def purge_preview(*, actor: User, at: datetime | None = None) -> PurgeRun:
    """Count, per source, the records past retention, those held, and those a purge would destroy.

    Copies derived from the destroyed records (findings, links, flagged cases left empty) are
    counted as they go, per batch, in the run's `destroyed["derived"]`.
    """
    at = at or timezone.now()
    preview: dict[str, dict[str, int]] = {}
    for source in registry.sources():
        due, held = retention_counts(source, _cutoff(source, at))
        preview[source.name] = {
            "years": retention_years(source),
            "due": due,
            "held": held,
            "to_destroy": due - held,
        }
    run = PurgeRun.objects.create(cutoff_at=at, preview=preview, requested_by=actor)
    event_record(
        action="retention.previewed",
        actor=actor,
        object_type="purge_run",
        object_id=run.pk,
        detail={"preview": preview},
    )
    return run


@transaction.atomic
def purge_approve(*, actor: User, run: PurgeRun) -> PurgeRun:
    """Approve a previewed purge; destruction runs in chunks after commit."""
    run = PurgeRun.objects.select_for_update().get(pk=run.pk)
    if run.status != PurgeStatus.PREVIEWED:
        raise IllegalTransition("Only a previewed purge can be approved.")
    if run.created_at < timezone.now() - timedelta(days=1):
        raise IllegalTransition("This preview is more than a day old; preview again.")
    run.status = PurgeStatus.APPROVED
    run.approved_by = actor
    run.save(update_fields=["status", "approved_by", "updated_at"])
    event_record(
        action="retention.approved", actor=actor, object_type="purge_run", object_id=run.pk
    )
    # By name: the task module calls these services, so the services never import it.
    transaction.on_commit(lambda: current_app.send_task(PURGE_TASK, args=[run.pk]))
    return run


def purge_chunk(
    *, run: PurgeRun, source: registry.PersonalDataSource, after_id: str = ""
) -> tuple[int, str | None]:
    """Destroy one chunk of one source; returns (destroyed, next after_id or None when done).

    In one transaction: the derived copies (registered derived purgers), then the records with
    their history (the source's purge), one tombstone per record (and per record of a registered
    source that went as a derived copy), the accounting entries past their own retention, and one
    audit event. Anything failing rolls the whole chunk back.
    """
    size = settings.PRIVACY_PURGE_CHUNK
    chunk = list(
        source.retention_candidates(
            before=_cutoff(source, run.cutoff_at), after_id=after_id, limit=size
        )
    )
    if not chunk:
        return 0, None
    with transaction.atomic():
        held = held_ids(source.name, chunk)
        doomed = [r.record_id for r in chunk if r.record_id not in held]
        derived = registry.purge_derived(source.name, doomed) if doomed else {}
        destroyed = source.purge(doomed) if doomed else 0
        now = timezone.now()
        names = {s.name for s in registry.sources()}
        gone: dict[str, list[str]] = {source.name: doomed}
        gone.update(
            {kind: ids for kind, ids in derived.items() if kind in names and kind != source.name}
        )
        authority = {name: _authority_of(name) for name in gone}
        Tombstone.objects.bulk_create(
            [
                Tombstone(
                    source=name,
                    record_id=rid,
                    destroyed_at=now,
                    purge_run=run,
                    authority=authority[name],
                )
                for name, ids in gone.items()
                for rid in ids
            ],
            ignore_conflicts=True,
        )
        accounting = sum(_disclosures_purge(name, ids, run.cutoff_at) for name, ids in gone.items())
        derived_counts = {kind: len(ids) for kind, ids in sorted(derived.items())}
        done: dict[str, Any] = dict(run.destroyed)
        done[source.name] = done.get(source.name, 0) + len(doomed)
        if derived_counts:
            copies = dict(done.get("derived") or {})
            for kind, n in derived_counts.items():
                copies[kind] = copies.get(kind, 0) + n
            done["derived"] = copies
        PurgeRun.objects.filter(pk=run.pk).update(destroyed=done, updated_at=now)
        run.destroyed = done
        event_record(
            action="retention.batch_destroyed",
            object_type="purge_run",
            object_id=run.pk,
            detail={
                "source": source.name,
                "destroyed": len(doomed),
                "held": len(held),
                "source_reported": destroyed,
                "derived": derived_counts,
                "disclosures_purged": accounting,
            },
        )
    return len(doomed), chunk[-1].record_id


def _authority_of(name: str) -> str:
    row = RetentionSchedule.objects.filter(source=name).first()
    return row.authority if row else ""


def _disclosures_purge(source_name: str, record_ids: list[str], at: datetime) -> int:
    """Entries about destroyed records go once they are 5 years old (5 years or life of record)."""
    if not record_ids:
        return 0
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL crosscheck.retention_purge = 'on'")
    old = at - relativedelta(years=settings.PRIVACY_DISCLOSURE_RETENTION_YEARS)
    count, _ = Disclosure.objects.filter(
        record_type__in=registry.record_types(source_name),
        record_id__in=record_ids,
        occurred_at__lt=old,
    ).delete()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL crosscheck.retention_purge = 'off'")
    return int(count)


@transaction.atomic
def disclosures_of_destroyed_purge(*, at: datetime | None = None) -> int:
    """Entries older than 5 years whose record is already destroyed (a tombstone) go too."""
    at = at or timezone.now()
    old = at - relativedelta(years=settings.PRIVACY_DISCLOSURE_RETENTION_YEARS)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL crosscheck.retention_purge = 'on'")
        cursor.execute(
            "DELETE FROM privacy_disclosure d USING privacy_tombstone t "
            "WHERE d.record_type = t.source AND d.record_id = t.record_id AND d.occurred_at < %s",
            [old],
        )
        count = cursor.rowcount
        cursor.execute("SET LOCAL crosscheck.retention_purge = 'off'")
    if count:
        event_record(action="retention.disclosures_purged", detail={"count": count})
    return int(count)


def purge_run_execute(*, run: PurgeRun) -> PurgeRun:
    """Destroy everything the approved run covers, chunk by chunk (safe to run again)."""
    if run.status not in (PurgeStatus.APPROVED,):
        raise IllegalTransition("Only an approved purge runs.")
    for source in registry.sources():
        after: str | None = ""
        while after is not None:
            _, after = purge_chunk(run=run, source=source, after_id=after)
    disclosures_of_destroyed_purge(at=run.cutoff_at)
    with transaction.atomic():
        run.status = PurgeStatus.DONE
        run.finished_at = timezone.now()
        run.save(update_fields=["status", "finished_at", "updated_at"])
        event_record(
            action="retention.finished",
            object_type="purge_run",
            object_id=run.pk,
            detail={"destroyed": run.destroyed},
        )
    return run


@transaction.atomic
def legal_hold_place(
    *, actor: User, reason: str, source: str = "", record_id: str = "", person_ref: str = ""
) -> LegalHold:
    """Hold a record, or every record about a person, back from destruction."""
    hold = LegalHold(
        source=source, record_id=record_id, person_ref=person_ref, reason=reason, placed_by=actor
    )
    hold.full_clean()
    hold.save()
    event_record(
        action="retention.hold_placed",
        actor=actor,
        object_type="legal_hold",
        object_id=hold.pk,
        subjects=[person_ref] if person_ref else [],
        justification=reason,
        detail={"source": source, "record_id": record_id},
    )
    return hold


@transaction.atomic
def legal_hold_release(*, actor: User, hold: LegalHold, reason: str) -> LegalHold:
    """Release a hold; the records fall back under their schedule."""
    hold = LegalHold.objects.select_for_update().get(pk=hold.pk)
    if hold.released_at:
        raise IllegalTransition("Already released.")
    hold.released_at = timezone.now()
    hold.save(update_fields=["released_at", "updated_at"])
    event_record(
        action="retention.hold_released",
        actor=actor,
        object_type="legal_hold",
        object_id=hold.pk,
        justification=reason,
    )
    return hold


@transaction.atomic
def retention_schedule_save(
    *, actor: User, source: str, years: int, authority: str, note: str = ""
) -> RetentionSchedule:
    """Set how long one source's records are kept."""
    row, created = RetentionSchedule.objects.get_or_create(
        source=source, defaults={"years": years, "authority": authority, "note": note}
    )
    before = None if created else row.years
    if not created:
        row.years, row.authority, row.note = years, authority, note
        row.save()
    event_record(
        action="retention.schedule_saved",
        actor=actor,
        object_type="retention_schedule",
        object_id=row.pk,
        changes={"years": [before, years]},
        detail={"source": source},
    )
    return row
