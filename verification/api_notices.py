"""The employer REST API's notice downloads: a notice to the worker as a PDF (issue 21)."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request

from verification import services
from verification.api import EmployerApi
from verification.notices import pdf_response


class _PdfRenderer(BaseRenderer):
    """Lets a client that asks for a PDF (Accept, or ?format=pdf) get one.

    Errors never come through here: `CaseNoticePdfApi.handle_exception` answers them as JSON,
    labelled so, whatever was asked for.
    """

    media_type = "application/pdf"
    format = "pdf"

    def render(
        self, data: Any, accepted_media_type: Any = None, renderer_context: Any = None
    ) -> Any:
        return data if isinstance(data, bytes) else json.dumps(data).encode()


class CaseNoticePdfApi(EmployerApi):
    """Download a notice to the worker (fan, rdc, closure) as a PDF, in the worker's language."""

    renderer_classes = [JSONRenderer, _PdfRenderer]

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "kind", OpenApiTypes.STR, OpenApiParameter.PATH, enum=["fan", "rdc", "closure"]
            ),
            OpenApiParameter(
                "language",
                OpenApiTypes.STR,
                OpenApiParameter.QUERY,
                required=False,
                description="Print in this language instead of the worker's (en, es, ...)",
            ),
        ],
        responses={(200, "application/pdf"): OpenApiTypes.BINARY},
        summary="Download a notice to the worker (PDF)",
        # 409: the case has not reached that notice (no FAN before a mismatch, say).
        extensions={"x-error-statuses": [409]},
    )
    def get(self, request: Request, pk: str, kind: str) -> HttpResponse:
        case = self.case_for(request, pk)
        notice = services.case_notice_print(
            actor=request.auth,
            case=case,
            kind=kind,
            language=str(request.query_params.get("language", "")),
        )
        return pdf_response(notice.content, notice.filename)

    def handle_exception(self, exc: Exception) -> Any:
        """An error answers in the API's one JSON format, with a JSON content type, even to a
        client that asked for a PDF (a PDF-typed error body reads as a broken PDF)."""
        response = super().handle_exception(exc)
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type
        return response
