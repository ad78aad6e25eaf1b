"""Evidence: uploads hashed with SHA-256, a chain of custody, and the generated notice to the person."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from cases.models import Case, CustodyEvent, Evidence, EvidenceKind
from cases.notices import person_language, render_cma
from cases.selectors import case_findings
from cases.services.common import audit, lock_visible, timeline, today
from core.errors import ValidationFailed
from privacy.models import User
from verification.notices import pick_language


def _sha256(upload) -> str:
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return digest.hexdigest()


@transaction.atomic
def evidence_add(
    *, actor: User, case: Case, upload: UploadedFile, description: str = ""
) -> Evidence:
    """Keep an uploaded file as evidence: its hash, size and who added it, first link of its custody chain."""
    case = lock_visible(actor=actor, case=case)
    if upload.size is None or upload.size == 0:
        raise ValidationFailed("The file is empty.", field_errors={"file": ["Empty file."]})
    if upload.size > settings.CASES_EVIDENCE_MAX_BYTES:
        raise ValidationFailed("The file is too large.", field_errors={"file": ["Too large."]})
    sha = _sha256(upload)
    name = (upload.name or "evidence").replace("/", "_").replace("\\", "_")[-255:]
    evidence = Evidence(
        case=case,
        kind=EvidenceKind.UPLOAD,
        original_name=name,
        declared_type=(upload.content_type or "")[:120],
        size=upload.size,
        sha256=sha,
        description=description[:300],
        added_by=actor,
    )
    evidence.file.save(sha, upload, save=False)
    evidence.save()
    CustodyEvent.objects.create(evidence=evidence, actor=actor, action="added", sha256=sha)
    timeline(case, actor, "evidence", f"Evidence added: {name}", evidence=evidence.pk, sha256=sha)
    audit(
        "cases.evidence_added",
        actor=actor,
        case=case,
        detail={"evidence": evidence.pk, "sha256": sha, "size": upload.size},
    )
    return evidence


@transaction.atomic
def evidence_download_record(*, actor: User, evidence: Evidence) -> Evidence:
    """Record a download in the custody chain, re-checking the stored file's hash."""
    case = lock_visible(actor=actor, case=evidence.case_id, action="view")
    digest = hashlib.sha256()
    with evidence.file.open("rb") as fh:
        for chunk in iter(lambda: fh.read(65536), b""):
            digest.update(chunk)
    sha = digest.hexdigest()
    CustodyEvent.objects.create(
        evidence=evidence,
        actor=actor,
        action="downloaded" if sha == evidence.sha256 else "hash_mismatch",
        sha256=sha,
    )
    audit(
        "cases.evidence_downloaded",
        actor=actor,
        case=case,
        detail={"evidence": evidence.pk, "intact": sha == evidence.sha256},
    )
    return evidence


def notice_document_store(*, actor: User, case: Case, language: str = "") -> Evidence:
    """Render the notice to the person (findings, how to contest, deadline) as a PDF in their
    language (or `language`) and keep it as evidence."""
    lang = pick_language(language, person_language(case))
    data = render_cma(
        case=case, findings=case_findings(case=case), language=lang, issued_on=today()
    )
    sha = hashlib.sha256(data).hexdigest()
    evidence = Evidence(
        case=case,
        kind=EvidenceKind.NOTICE,
        original_name=notice_file_name(case, lang),
        declared_type="application/pdf",
        size=len(data),
        sha256=sha,
        description="Notice of adverse findings and of the right to contest",
        added_by=actor,
    )
    evidence.file.save(sha, ContentFile(data), save=False)
    evidence.save()
    CustodyEvent.objects.create(evidence=evidence, actor=actor, action="generated", sha256=sha)
    return evidence


def notice_file_name(case: Case, language: str) -> str:
    """The notice's file name: the case number and the language it is written in."""
    return f"notice-{case.number}-{language}.pdf"
