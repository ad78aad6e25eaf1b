"""From findings to flagged cases: pull new findings through the ledger and group them by subject.

`verification` never calls this (DESIGN.md, inversion). A beat task and the end of each run
call `findings_ingest`. The ledger is the finding's `ingested_at` column: a batch claims rows
with `SELECT … FOR UPDATE SKIP LOCKED` where `ingested_at IS NULL`, builds or extends cases and
sets `ingested_at` in the same transaction. A finding committed late is still NULL, so no id
high-water mark can skip it; a rival worker skips rows we hold, and re-checks the condition on
rows we marked, so each finding is ingested exactly once.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q

from audit.services import event_record
from cases.models import (
    SEVERITY_RANK,
    Case,
    CaseFinding,
    CaseKind,
    CaseStatus,
    Closure,
    RoutingRule,
    Severity,
    SubjectKind,
    Suppression,
)
from cases.services.common import now, timeline, today
from core.calendar import add_working_days
from crossref.models import Finding
from crossref.services import finding_ingest_claim, findings_mark_ingested
from privacy.models import Agency, Unit
from verification.models import Employer, VerificationCase

logger = logging.getLogger(__name__)

FAMILY_KIND = {
    "identity_ssa": CaseKind.IDENTITY_FRAUD,
    "identity_dhs": CaseKind.UNAUTHORIZED_EMPLOYMENT,
    "ssn": CaseKind.IDENTITY_FRAUD,
    "enforcement": CaseKind.UNAUTHORIZED_EMPLOYMENT,
    "employer": CaseKind.EMPLOYER_COMPLIANCE,
}


@dataclass
class IngestResult:
    """What one ingest batch did."""

    claimed: int = 0
    cases_created: list[int] = field(default_factory=list)
    cases_extended: list[int] = field(default_factory=list)
    skipped_same_evidence: int = 0


def grouping_key(finding: Any) -> str:
    """One person (SSN blind index) or one employer makes one case."""
    if finding.ssn_index:
        return f"ssn:{finding.ssn_index}"
    if finding.subject_type == SubjectKind.EMPLOYER and finding.employer_id:
        return f"employer:{finding.employer_id}"
    return finding.subject_key


def sla_due_date(severity: str, start=None):
    """The SLA due date: federal working days by severity (a setting)."""
    days = settings.CASES_SLA_WORKING_DAYS.get(severity, settings.CASES_SLA_WORKING_DAYS["low"])
    return add_working_days(start or today(), days)


def priority_for(severity: str, score: float, clerical: bool) -> int:
    """1 (most urgent) to 4: severity first, a high score moves a case up one step."""
    bases: dict[str, int] = {Severity.HIGH: 2, Severity.MEDIUM: 3, Severity.LOW: 4}
    base = bases.get(severity, 4)
    if clerical:
        return 4
    if score >= settings.CASES_PRIORITY_BOOST_SCORE and base > 1:
        base -= 1
    return base


def route(*, families: list[str], state: str) -> Unit | None:
    """The unit for a case: the most specific active rule (family+state, family, state, catch-all)."""
    rules = list(
        RoutingRule.objects.filter(is_active=True)
        .filter(Q(rule_family__in=[*families, ""]) & Q(state__in=[state, ""]))
        .select_related("unit")
    )
    if not rules:
        return None

    def specificity(r: RoutingRule) -> tuple[int, int, int]:
        fam = families.index(r.rule_family) if r.rule_family in families else len(families)
        return (0 if r.rule_family else 1, 0 if r.state else 1, fam)

    return sorted(rules, key=specificity)[0].unit


def _next_number() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval('cases_case_number_seq')")
        (n,) = cursor.fetchone()
    return f"CC-{today().year}-{n:07d}"


def _subject_facts(findings: list[Any]) -> dict[str, Any]:
    """Masked display values for a subject, from the verification case or employer it cites."""

    facts: dict[str, Any] = {
        "subject_name": "",
        "subject_last4": "",
        "employer_name": "",
        "employer_ref": None,
        "worker_ref": None,
        "state": "",
    }
    case_ids = [f.case_id for f in findings if f.case_id]
    if case_ids:
        vcase = (
            VerificationCase.objects.select_related("employer", "hiring_site")
            .filter(pk__in=case_ids)
            .order_by("-pk")
            .first()
        )
        if vcase is not None:
            facts.update(
                subject_name=f"{vcase.first_name} {vcase.last_name}",
                subject_last4=vcase.ssn_last4,
                employer_name=vcase.employer.name,
                employer_ref=vcase.employer_id,
                worker_ref=vcase.worker_id,
                state=(vcase.hiring_site.state if vcase.hiring_site_id else vcase.employer.state),
            )
            return facts
    employer_ids = [f.employer_id for f in findings if f.employer_id]
    if employer_ids:
        employer = Employer.objects.filter(pk=employer_ids[0]).first()
        if employer is not None:
            facts.update(
                subject_name=employer.name,
                employer_name=employer.name,
                employer_ref=employer.pk,
                state=employer.state,
            )
    return facts


def _families(findings: list[Any]) -> list[str]:
    """The findings' families, the most severe first (ties in FAMILY_KIND's order): the same
    list whatever order the findings arrived in."""
    precedence = {family: i for i, family in enumerate(FAMILY_KIND)}
    rank: dict[str, int] = {}
    for f in findings:
        rank[f.family] = max(rank.get(f.family, 0), SEVERITY_RANK.get(f.severity, 0))
    return sorted(rank, key=lambda fam: (-rank[fam], precedence.get(fam, len(precedence)), fam))


def _derive(case: Case, key: str, findings: list[Any]) -> bool:
    """Kind, display facts and routing from all of a subject's findings; False if no unit or
    agency can take the case.

    A function of the set of findings, not of their order: partitions commit in whatever order
    the workers finish them, and the ingest takes what has committed.
    """
    facts = _subject_facts(findings)
    families = _families(findings)
    unit = route(families=families, state=facts["state"])
    if (
        unit is None
    ):  # no rule matches: the default agency's default unit, so no case is left unseen
        unit = (
            Unit.objects.select_related("agency")
            .filter(agency__code=settings.CASES_DEFAULT_AGENCY, code=settings.CASES_DEFAULT_UNIT)
            .first()
        )
    agency = (
        unit.agency if unit else Agency.objects.filter(code=settings.CASES_DEFAULT_AGENCY).first()
    )
    if agency is None:
        return False
    employer_subject = key.startswith("employer:")
    case.kind = (
        CaseKind.EMPLOYER_COMPLIANCE
        if employer_subject
        else FAMILY_KIND.get(families[0], CaseKind.IDENTITY_FRAUD)
    )
    case.owning_agency = agency
    case.routed_unit = unit
    for name, value in facts.items():
        setattr(case, name, value)
    return True


def _untouched(case: Case) -> bool:
    """Still as the ingest left it: flagged, never triaged, nobody assigned."""
    return case.status == CaseStatus.FLAGGED and case.triaged_at is None and not case.assignee_id


def _apply_findings(case: Case, findings: list[Any], *, clerical: bool) -> None:
    """Fold findings into the case's severity, score, priority, rules and SLA (`clerical`: every
    finding of the case, these included, is a probable clerical error)."""
    for f in findings:
        if SEVERITY_RANK.get(f.severity, 0) > SEVERITY_RANK.get(case.severity, 0):
            case.severity = f.severity
        case.score = max(case.score, float(f.score))
        if f.rule_code not in case.rule_codes:
            case.rule_codes = [*case.rule_codes, f.rule_code]
        if f.family not in case.rule_families:
            case.rule_families = [*case.rule_families, f.family]
    case.priority = (
        min(case.priority, priority_for(case.severity, case.score, clerical))
        if case.pk
        else priority_for(case.severity, case.score, clerical)
    )
    due = sla_due_date(
        case.severity, (case.created_at.date() if case.pk and case.created_at else today())
    )
    case.due_date = min(case.due_date, due) if case.due_date else due
    case.finding_count += len(findings)


def _active_suppression(key: str, rule_codes: list[str]) -> Suppression | None:
    return (
        Suppression.objects.filter(subject_key=key, until__gte=today())
        .filter(Q(rule_code="") | Q(rule_code__in=rule_codes))
        .order_by("-until")
        .first()
    )


def _same_evidence_as_dismissed(key: str, findings: list[Any]) -> set[int]:
    """Findings whose rule and evidence already sit in a case of this subject closed as false positive."""
    dismissed = set(
        CaseFinding.objects.filter(
            case__subject_key=key, case__closure=Closure.FALSE_POSITIVE
        ).values_list("finding__rule_code", "finding__evidence_key")
    )
    return {f.pk for f in findings if (f.rule_code, f.evidence_key) in dismissed}


def _attach(case: Case, findings: list[Any], *, is_new: bool) -> None:
    CaseFinding.objects.bulk_create(
        [CaseFinding(case=case, finding=f, is_new=is_new) for f in findings]
    )


def _extend(case: Case, findings: list[Any]) -> None:
    earlier = list(Finding.objects.filter(case_link__case=case))
    clerical = all(f.is_clerical for f in [*earlier, *findings])
    if _untouched(case):
        _derive(case, case.subject_key, [*earlier, *findings])
    _apply_findings(case, findings, clerical=clerical)
    case.has_new_evidence = True
    case.save()
    _attach(case, findings, is_new=True)
    timeline(
        case,
        None,
        "new_evidence",
        f"{len(findings)} new finding(s): {', '.join(sorted({f.rule_code for f in findings}))}",
        findings=[f.pk for f in findings],
    )


def _create(key: str, findings: list[Any]) -> Case | None:
    employer_subject = key.startswith("employer:")
    case = Case(
        number="",
        status=CaseStatus.FLAGGED,
        subject_kind=SubjectKind.EMPLOYER if employer_subject else SubjectKind.WORKER,
        subject_key=key,
        score=0.0,
        severity=Severity.LOW,
        priority=4,
    )
    if not _derive(case, key, findings):
        logger.warning(
            "cases.ingest: no routing rule or default agency for %s; findings stay pending", key
        )
        return None
    case.number = _next_number()
    _apply_findings(case, findings, clerical=all(f.is_clerical for f in findings))
    suppression = _active_suppression(key, case.rule_codes)
    if suppression is not None:
        case.snoozed_until = suppression.until
    case.save()
    _attach(case, findings, is_new=False)
    timeline(
        case,
        None,
        "flagged",
        f"Flagged by {', '.join(case.rule_codes)}; routed to {case.routed_unit or 'no unit'}",
        findings=[f.pk for f in findings],
    )
    return case


def _ingest_group(key: str, findings: list[Any], result: IngestResult) -> list[int]:
    """Ingest one subject's findings; returns the ids that are done (attached or skipped)."""
    skip = _same_evidence_as_dismissed(key, findings)
    result.skipped_same_evidence += len(skip)
    fresh = [f for f in findings if f.pk not in skip]
    if not fresh:
        return [f.pk for f in findings]
    case = (
        Case.objects.select_for_update()
        .filter(subject_key=key)
        .exclude(status=CaseStatus.CLOSED)
        .first()
    )
    if case is not None:
        _extend(case, fresh)
        result.cases_extended.append(case.pk)
        return [f.pk for f in findings]
    try:
        with transaction.atomic():
            created = _create(key, fresh)
    except IntegrityError:
        # Another worker opened this subject's case a moment ago (one open case per subject).
        case = (
            Case.objects.select_for_update()
            .filter(subject_key=key)
            .exclude(status=CaseStatus.CLOSED)
            .get()
        )
        _extend(case, fresh)
        result.cases_extended.append(case.pk)
        return [f.pk for f in findings]
    if created is None:
        return sorted(skip)
    result.cases_created.append(created.pk)
    return [f.pk for f in findings]


def findings_ingest(*, limit: int = 500) -> IngestResult:
    """Claim up to `limit` new findings and turn them into flagged cases, in one transaction."""

    result = IngestResult()
    with transaction.atomic():
        findings = finding_ingest_claim(limit=limit)
        result.claimed = len(findings)
        if not findings:
            return result
        groups: dict[str, list[Any]] = defaultdict(list)
        for f in findings:
            groups[grouping_key(f)].append(f)
        done: list[int] = []
        for key in sorted(groups):  # a stable order, so two workers lock cases in the same order
            done.extend(_ingest_group(key, groups[key], result))
        findings_mark_ingested(finding_ids=done)
        event_record(
            action="cases.findings_ingested",
            object_type="crossref.finding",
            detail={
                "claimed": result.claimed,
                "created": result.cases_created,
                "extended": sorted(set(result.cases_extended)),
                "skipped_same_evidence": result.skipped_same_evidence,
                "at": now().isoformat(),
            },
        )
    return result


def findings_ingest_all(*, batch: int = 500, max_batches: int = 1000) -> int:
    """Ingest until nothing is pending (bounded); returns the number of findings claimed."""
    total = 0
    for _ in range(max_batches):
        claimed = findings_ingest(limit=batch).claimed
        total += claimed
        if claimed < batch:
            break
    return total
