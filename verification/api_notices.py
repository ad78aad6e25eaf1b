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
    """Lets a client that asks for a PDF get one; errors still come as JSON."""

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
