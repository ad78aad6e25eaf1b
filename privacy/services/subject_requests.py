"""Subject access and amendment requests (552a(d)): intake, clock, package, amendment, disagreement."""

from __future__ import annotations

import secrets
from datetime import date
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.services import event_record
from core.calendar import add_working_days, working_days_between
from core.errors import IllegalTransition, ValidationFailed
from privacy import registry
from privacy.crypto import blind_index
from privacy.models import (
    AmendmentNotice,
    ClockPause,
    DisagreementStatement,
    Disclosure,
    Role,
    SubjectRequest,
    SubjectRequestKind,
    SubjectRequestStatus,
    User,
)
from privacy.models.mail import MailKind
from privacy.services.disclosures import disclosure_report
from privacy.services.notifications import notify

_OPEN = (
    SubjectRequestStatus.RECEIVED,
    SubjectRequestStatus.ACKNOWLEDGED,
    SubjectRequestStatus.PAUSED,
)


def ssn_blind_index(ssn: str) -> str:
    """The blind index of an SSN (the SSN itself is never stored with the request)."""

    return blind_index(ssn, kind="ssn")


def _paused_working_days(request: SubjectRequest, today: date) -> int:
    if request.pk is None:
        return 0
    return sum(
        working_days_between(p.started_on, p.ended_on or today) for p in request.pauses.all()
    )


def _recompute_due(request: SubjectRequest, today: date | None = None) -> None:
    today = today or timezone.localdate()
    paused = _paused_working_days(request, today)
    request.acknowledge_due_on = add_working_days(
        request.received_on, settings.PRIVACY_ACK_WORKING_DAYS + paused
    )
    request.respond_due_on = add_working_days(
        request.received_on, settings.PRIVACY_RESPONSE_WORKING_DAYS + paused
    )


def _query(request: SubjectRequest) -> registry.PersonQuery:
    return registry.PersonQuery(
        first_name=request.first_name,
        last_name=request.last_name,
        date_of_birth=request.date_of_birth,
        ssn_index=request.ssn_index,
    )


@transaction.atomic
def subject_request_create(
    *,
    actor: User,
    kind: str,
    first_name: str,
    last_name: str,
    date_of_birth: date,
    contact_address: str,
    ssn: str = "",
    received_on: date | None = None,
    identity_evidence: str = "",
    amendment_record: str = "",
    amendment_field: str = "",
    amendment_value: str = "",
    amendment_reason: str = "",
) -> SubjectRequest:
    """Take in a request, start its clock in federal working days, and match records across the registry."""
    if kind not in SubjectRequestKind.values:
        raise ValidationFailed("Unknown kind.", field_errors={"kind": ["Access or amendment."]})
    digits = "".join(ch for ch in ssn if ch.isdigit())
    if ssn and len(digits) != 9:
        raise ValidationFailed("An SSN has nine digits.", field_errors={"ssn": ["Nine digits."]})
    if kind == SubjectRequestKind.AMENDMENT and not (amendment_field and amendment_value):
        raise ValidationFailed(
            "Say what should be corrected.",
            field_errors={
                "amendment_field": ["Required for an amendment."],
                "amendment_value": ["Required."],
            },
        )
    request = SubjectRequest(
        reference=f"PA-{timezone.localdate():%Y}-{secrets.token_hex(3).upper()}",
        kind=kind,
        first_name=first_name.strip(),
        last_name=last_name.strip(),
        date_of_birth=date_of_birth,
        ssn_index=ssn_blind_index(digits) if digits else "",
        ssn_last4=digits[-4:] if digits else "",
        contact_address=contact_address,
        identity_evidence=identity_evidence,
        identity_verified=bool(identity_evidence.strip()),
        received_on=received_on or timezone.localdate(),
        acknowledge_due_on=timezone.localdate(),
        respond_due_on=timezone.localdate(),
        handled_by=actor,
        amendment_record=amendment_record,
        amendment_field=amendment_field,
        amendment_value=amendment_value,
        amendment_reason=amendment_reason,
    )
    _recompute_due(request)
    request.matched_records = [r.as_json() for r in registry.find_everywhere(_query(request))]
    request.save()
    event_record(
        action="subject_request.received",
        actor=actor,
        object_type="subject_request",
        object_id=request.pk,
        subjects=request.person_refs,
        detail={"kind": kind, "matched": len(request.matched_records)},
    )
    return request


@transaction.atomic
def subject_request_match(*, actor: User, request: SubjectRequest) -> SubjectRequest:
    """Search the registry again (e.g. after identity proof or a new source)."""
    request = SubjectRequest.objects.select_for_update().get(pk=request.pk)
    request.matched_records = [r.as_json() for r in registry.find_everywhere(_query(request))]
    request.save(update_fields=["matched_records", "updated_at"])
    event_record(
        action="subject_request.matched",
        actor=actor,
        object_type="subject_request",
        object_id=request.pk,
        subjects=request.person_refs,
        detail={"matched": len(request.matched_records)},
    )
    return request


def _locked_open(request: SubjectRequest) -> SubjectRequest:
    request = SubjectRequest.objects.select_for_update().get(pk=request.pk)
    if request.status not in _OPEN:
        raise IllegalTransition("This request is no longer open.")
    return request


@transaction.atomic
def subject_request_acknowledge(
    *, actor: User, request: SubjectRequest, on: date | None = None
) -> SubjectRequest:
    """Acknowledge receipt (due within 10 working days)."""
    request = _locked_open(request)
    if request.acknowledged_on:
        raise IllegalTransition("Already acknowledged.")
    request.acknowledged_on = on or timezone.localdate()
    if request.status == SubjectRequestStatus.RECEIVED:
        request.status = SubjectRequestStatus.ACKNOWLEDGED
    request.save()
    event_record(
        action="subject_request.acknowledged",
        actor=actor,
        object_type="subject_request",
        object_id=request.pk,
        detail={"on_time": request.acknowledged_on <= request.acknowledge_due_on},
    )
    return request


@transaction.atomic
def subject_request_pause(
    *, actor: User, request: SubjectRequest, reason: str, on: date | None = None
) -> SubjectRequest:
    """Stop the clock (waiting on the requester); the deadlines move by the paused working days."""
    request = _locked_open(request)
    if request.status == SubjectRequestStatus.PAUSED:
        raise IllegalTransition("The clock is already stopped.")
    if not reason.strip():
        raise ValidationFailed("Say why the clock stops.", field_errors={"reason": ["Required."]})
    ClockPause.objects.create(
        request=request, reason=reason.strip(), started_on=on or timezone.localdate()
    )
    request.status = SubjectRequestStatus.PAUSED
    request.save()
    event_record(
        action="subject_request.paused",
        actor=actor,
        object_type="subject_request",
        object_id=request.pk,
        justification=reason,
    )
    return request


@transaction.atomic
def subject_request_resume(
    *, actor: User, request: SubjectRequest, on: date | None = None
) -> SubjectRequest:
    """Restart the clock; the deadlines now include the pause."""
    request = _locked_open(request)
    pause = request.pauses.filter(ended_on__isnull=True).first()
    if request.status != SubjectRequestStatus.PAUSED or pause is None:
        raise IllegalTransition("The clock is running.")
    pause.ended_on = on or timezone.localdate()
    pause.save(update_fields=["ended_on"])
    request.status = (
        SubjectRequestStatus.ACKNOWLEDGED
        if request.acknowledged_on
        else SubjectRequestStatus.RECEIVED
    )
    _recompute_due(request, pause.ended_on)
    request.save()
    event_record(
        action="subject_request.resumed",
        actor=actor,
        object_type="subject_request",
        object_id=request.pk,
        detail={"respond_due_on": request.respond_due_on.isoformat()},
    )
    return request


def subject_request_package_build(*, request: SubjectRequest) -> dict[str, Any]:
    """The response package: each matched record as exported by its source, and the disclosure report."""
    records = []
    for ref in request.matched_records:
        try:
            src = registry.source(ref["source"])
        except KeyError:
            continue
        records.append(
            {
                "source": ref["source"],
                "label": src.label,
                "record_id": ref["record_id"],
                "data": src.export(ref["record_id"]),
            }
        )
    report = [
        {
            "date": d.occurred_at.date().isoformat(),
            "nature": d.get_nature_display(),
            "purpose": d.purpose,
            "recipient": d.recipient_agency_name,
            "recipient_address": d.recipient_agency_address,
            "basis": d.get_basis_display(),
            "routine_use": d.routine_use,
            "record": f"{d.record_type}:{d.record_id}",
        }
        for d in disclosure_report(person_refs=request.person_refs, for_subject=True)
    ]
    statements = [
        {"record": f"{s.source}:{s.record_id}", "filed_on": s.filed_on.isoformat(), "text": s.text}
        for s in DisagreementStatement.objects.filter(person_ref__in=request.person_refs)
    ]
    return {
        "reference": request.reference,
        "prepared_on": timezone.localdate().isoformat(),
        "records": records,
        "disclosures": report,
        "statements_of_disagreement": statements,
    }


@transaction.atomic
def subject_request_respond(*, actor: User, request: SubjectRequest) -> dict[str, Any]:
    """Send the access package: the records and the disclosure report ((b)(7) entries left out)."""
    request = _locked_open(request)
    if request.kind != SubjectRequestKind.ACCESS:
        raise IllegalTransition("An amendment request is decided, not answered with a package.")
    if not request.identity_verified:
        raise IllegalTransition("Verify the requester's identity before releasing records.")
    package = subject_request_package_build(request=request)
    request.status = SubjectRequestStatus.RESPONDED
    request.responded_on = timezone.localdate()
    request.save()
    event_record(
        action="subject_request.responded",
        actor=actor,
        object_type="subject_request",
        object_id=request.pk,
        subjects=request.person_refs,
        detail={
            "records": len(package["records"]),
            "disclosures": len(package["disclosures"]),
            "on_time": request.responded_on <= request.respond_due_on,
        },
    )
    return package


@transaction.atomic
def subject_request_verify_identity(
    *, actor: User, request: SubjectRequest, evidence: str
) -> SubjectRequest:
    """Record how the requester's identity was verified (needed before any release)."""
    request = _locked_open(request)
    if not evidence.strip():
        raise ValidationFailed("Describe the evidence.", field_errors={"evidence": ["Required."]})
    request.identity_verified = True
    request.identity_evidence = evidence.strip()[:300]
    request.save()
    event_record(
        action="subject_request.identity_verified",
        actor=actor,
        object_type="subject_request",
        object_id=request.pk,
    )
    return request


def _split_record(key: str) -> tuple[str, str]:
    source, sep, record_id = key.rpartition(":")
    if not sep or not source or not record_id:
        raise ValidationFailed(
            "Name the record as source:id.", field_errors={"amendment_record": ["source:id"]}
        )
    return source, record_id


def _notify_earlier_recipients(
    request: SubjectRequest, source: str, record_id: str, kind: str
) -> int:
    """Tell every agency that received the record earlier that it was corrected or disputed ((c)(4))."""
    sent = 0
    now = timezone.now()
    seen: set[int] = set()
    for disclosure in Disclosure.objects.filter(
        record_type__in=registry.record_types(source), record_id=record_id
    ).order_by("occurred_at"):
        if disclosure.recipient_agency_id in seen:
            continue
        seen.add(disclosure.recipient_agency_id)
        _, created = AmendmentNotice.objects.get_or_create(
            request=request,
            recipient_agency_id=disclosure.recipient_agency_id,
            kind=kind,
            defaults={"disclosure": disclosure, "sent_at": now},
        )
        if not created:
            continue
        sent += 1
        what = "was corrected" if kind == "corrected" else "is disputed by the person it is about"
        recipients = User.objects.filter(is_active=True, agency_id=disclosure.recipient_agency_id)
        targeted = recipients.filter(pk=disclosure.recipient_user_id or 0) | recipients.filter(
            roles__contains=[Role.ADMIN]
        )
        for user in targeted.distinct():
            notify(
                user=user,
                title=f"A record you received {what}",
                body=f"Record {source}:{record_id}, disclosed to your agency on {disclosure.occurred_at:%Y-%m-%d}, {what} "
                f"(Privacy Act request {request.reference}). Update any copy you hold.",
                kind=MailKind.RECORD_AMENDED,
            )
    return sent


@transaction.atomic
def amendment_decide(
    *, actor: User, request: SubjectRequest, grant: bool, reason: str
) -> SubjectRequest:
    """Decide an amendment: apply it and tell earlier recipients, or refuse it with reasons."""
    request = _locked_open(request)
    if request.kind != SubjectRequestKind.AMENDMENT:
        raise IllegalTransition("Only amendment requests are decided.")
    if not reason.strip():
        raise ValidationFailed("Give the reasons.", field_errors={"reason": ["Required."]})
    source_name, record_id = _split_record(request.amendment_record)
    if grant:
        try:
            src = registry.source(source_name)
        except KeyError as exc:
            raise ValidationFailed(
                "That source is not registered.",
                field_errors={"amendment_record": ["Unknown source."]},
            ) from exc
        if request.amendment_field not in src.amendable_fields():
            raise ValidationFailed(
                "That field cannot be amended here.",
                field_errors={"amendment_field": ["Not amendable."]},
            )
        src.amend(
            record_id, field=request.amendment_field, value=request.amendment_value, actor=actor
        )
        request.status = SubjectRequestStatus.AMENDED
        notices = _notify_earlier_recipients(request, source_name, record_id, "corrected")
    else:
        request.status = SubjectRequestStatus.REFUSED
        notices = 0
    request.decision_reason = reason.strip()
    request.responded_on = timezone.localdate()
    request.save()
    event_record(
        action="subject_request.amendment_decided",
        actor=actor,
        object_type="subject_request",
        object_id=request.pk,
        subjects=request.person_refs,
        justification=reason,
        changes={"field": [None, request.amendment_field]} if grant else {},
        detail={
            "granted": grant,
            "record": request.amendment_record,
            "recipients_notified": notices,
        },
    )
    return request


@transaction.atomic
def disagreement_file(*, actor: User, request: SubjectRequest, text: str) -> DisagreementStatement:
    """File the person's statement of disagreement after a refusal; flag the record and tell earlier recipients."""
    request = SubjectRequest.objects.select_for_update().get(pk=request.pk)
    if request.status != SubjectRequestStatus.REFUSED:
        raise IllegalTransition("A statement of disagreement follows a refused amendment.")
    if not text.strip():
        raise ValidationFailed("The statement is empty.", field_errors={"text": ["Required."]})
    source_name, record_id = _split_record(request.amendment_record)
    person_ref = next(
        (
            r["person_ref"]
            for r in request.matched_records
            if r["source"] == source_name and r["record_id"] == record_id
        ),
        "",
    )
    if not person_ref:
        person_ref = (
            request.person_refs[0]
            if request.person_refs
            else request.ssn_index or request.reference
        )
    statement = DisagreementStatement.objects.create(
        request=request,
        source=source_name,
        record_id=record_id,
        person_ref=person_ref,
        text=text.strip(),
        filed_on=timezone.localdate(),
    )
    notices = _notify_earlier_recipients(request, source_name, record_id, "disputed")
    event_record(
        action="subject_request.disagreement_filed",
        actor=actor,
        object_type="subject_request",
        object_id=request.pk,
        subjects=[person_ref],
        detail={"record": request.amendment_record, "recipients_notified": notices},
    )
    return statement


@transaction.atomic
def subject_request_close(*, actor: User, request: SubjectRequest, reason: str) -> SubjectRequest:
    """Close a request (withdrawn, or finished after a decision)."""
    request = SubjectRequest.objects.select_for_update().get(pk=request.pk)
    if request.status == SubjectRequestStatus.CLOSED:
        raise IllegalTransition("Already closed.")
    before = request.status
    request.status = SubjectRequestStatus.CLOSED
    request.save()
    event_record(
        action="subject_request.closed",
        actor=actor,
        object_type="subject_request",
        object_id=request.pk,
        changes={"status": [before, request.status]},
        justification=reason,
    )
    return request
