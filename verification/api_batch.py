"""The employer API's bulk and resubmission operations: POST /cases/batch, GET /imports/<id>/,
POST /cases/<id>/resubmit/.

A batch is a file in the body (CSV with a header, or JSON lines), up to
`VERIFICATION_IMPORT_MAX_BYTES`; it becomes an import job (the same path as the portal's upload
and the command) and the answer is 202 with the job to follow.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.conf import settings
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from audit.services import event_record
from core.errors import NotFound, ValidationFailed
from core.ids import is_id, parse_id
from verification.api import IDEMPOTENCY_HEADER, CaseOutput, CaseSubmitApi, EmployerApi
from verification.imports.jobs import live
from verification.imports.staging import import_stage
from verification.models import ApiScope, ImportJob, ImportMode
from verification.services.portal import case_resubmit
from verification.tasks import enqueue_import

_FORMATS = {
    "text/csv": "batch.csv",
    "application/x-ndjson": "batch.jsonl",
    "application/jsonl": "batch.jsonl",
    "application/json-lines": "batch.jsonl",
}


def job_output(job: ImportJob, *, errors: bool) -> dict[str, Any]:
    """An import job as the API shows it (the report: line, field and message of each bad row)."""
    job = live(job)
    out: dict[str, Any] = {
        "id": job.pk,
        "status": job.status,
        "status_display": job.get_status_display(),
        "mode": job.mode,
        "file_sha256": job.file_sha256,
        "rows_total": job.rows_total,
        "rows_validated": job.rows_validated,
        "rows_invalid": job.rows_invalid,
        "rows_imported": job.rows_imported,
        "rows_already_imported": job.rows_already,
        "progress_percent": job.progress,
        "results": job.results,
        "message": job.message,
        "created_at": job.created_at.isoformat(),
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
    }
    if errors:
        out["errors"] = [
            {"line": line, "field": field, "message": message}
            for line, field, message in job.errors.values_list("line", "field", "message")
        ]
    return out


class CaseBatchApi(EmployerApi):
    """Submit many cases in one file; every row is checked by the single submit's rules."""

    scopes = {"POST": ApiScope.SUBMIT}

    @extend_schema(
        extensions={"x-error-statuses": ["411", "413"]},
        request={"text/csv": OpenApiTypes.STR, "application/x-ndjson": OpenApiTypes.STR},
        parameters=[
            OpenApiParameter(
                "mode",
                OpenApiTypes.STR,
                OpenApiParameter.QUERY,
                enum=[ImportMode.ALL_OR_NOTHING, ImportMode.GOOD_ROWS],
                description="all_or_nothing (default): one bad row refuses the file; good_rows: import the good rows.",
            )
        ],
        responses={202: OpenApiTypes.OBJECT},
        summary="Submit a batch of cases (CSV or JSON lines)",
    )
    def post(self, request: Request) -> Response:
        content_type = (request.content_type or "").split(";")[0].strip().lower()
        if content_type not in _FORMATS:
            raise ValidationFailed(
                "Send text/csv or application/x-ndjson.",
                field_errors={"Content-Type": [f"One of: {', '.join(_FORMATS)}."]},
            )
        mode = request.query_params.get("mode", ImportMode.ALL_OR_NOTHING)
        if mode not in (ImportMode.ALL_OR_NOTHING, ImportMode.GOOD_ROWS):
            raise ValidationFailed(
                "Unknown mode.", field_errors={"mode": ["all_or_nothing or good_rows."]}
            )
        length = request.META.get("CONTENT_LENGTH") or ""
        limit = settings.VERIFICATION_IMPORT_MAX_BYTES
        if not is_id(length):  # a plain decimal, as for an id
            return Response(
                {
                    "error": {
                        "code": "length_required",
                        "message": "Send a Content-Length.",
                        "fields": {},
                    }
                },
                status=status.HTTP_411_LENGTH_REQUIRED,
            )
        if int(length) > limit:
            return Response(
                {
                    "error": {
                        "code": "too_large",
                        "message": f"At most {limit} bytes.",
                        "fields": {},
                    }
                },
                status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            )
        job = import_stage(
            actor=request.auth,
            employer=request.auth.employer,  # type: ignore[union-attr]
            stream=request._request,  # type: ignore[arg-type]  # the raw body, streamed
            file_name=_FORMATS[content_type],
            mode=mode,
            channel="api",
            enqueue=enqueue_import,
        )
        response = Response(job_output(job, errors=False), status=status.HTTP_202_ACCEPTED)
        response["Location"] = reverse("api-import-detail", args=[job.pk])
        return response


class ImportDetailApi(EmployerApi):
    """Follow an import: status, counts, and the report of bad rows."""

    scopes = {"GET": ApiScope.READ}

    @extend_schema(responses={200: OpenApiTypes.OBJECT}, summary="Read an import and its report")
    def get(self, request: Request, pk: str) -> Response:
        job_id = parse_id(pk)
        if job_id is None:
            raise NotFound("No such import.")
        job = ImportJob.objects.filter(pk=job_id, employer_id=self.employer_id(request)).first()
        if job is None:
            raise NotFound("No such import.")
        event_record(
            action="vimport.report_viewed",
            object_type="import_job",
            object_id=job.pk,
            subjects=[f"employer:{job.employer_id}"],
        )
        return Response(job_output(job, errors=True))


class CaseResubmitApi(EmployerApi):
    """Close a case as 'information not correct' and submit the corrected data, linked to it."""

    scopes = {"POST": ApiScope.SUBMIT}

    @extend_schema(
        request=CaseSubmitApi.Input,
        responses={201: CaseOutput},
        parameters=[
            OpenApiParameter(IDEMPOTENCY_HEADER, OpenApiTypes.STR, OpenApiParameter.HEADER)
        ],
        summary="Close a case and resubmit it",
    )
    def post(self, request: Request, pk: str) -> Response:
        old = self.case_for(request, pk)
        if not isinstance(request.data, dict):
            raise ValidationFailed(
                "Send a JSON object.",
                field_errors={"non_field_errors": ["Expected a JSON object."]},
            )
        key = request.headers.get(IDEMPOTENCY_HEADER, "")
        if len(key) > 128 or not key.isprintable():
            raise ValidationFailed(
                "Invalid Idempotency-Key.",
                field_errors={IDEMPOTENCY_HEADER: ["1 to 128 printable characters."]},
            )
        serializer = CaseSubmitApi.Input(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data.pop("submit", None)
        body_hash = hashlib.sha256(
            json.dumps(request.data, sort_keys=True, default=str).encode()
        ).hexdigest()
        case = case_resubmit(
            actor=request.auth, case=old, data=data, idempotency_key=key, request_hash=body_hash
        )
        return Response(CaseOutput(case).data, status=status.HTTP_201_CREATED)


__all__ = ["CaseBatchApi", "CaseResubmitApi", "ImportDetailApi", "job_output"]
