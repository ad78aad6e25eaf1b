"""The employer REST API (/api/v1/): submit, read, list, notice, decision, refer, close.

One view per operation with nested Input/Output serializers (STYLE.md). Every view is scoped to
the key's employer: another employer's case is a 404, exactly like a missing one. Errors use
the one format of core.api; domain errors map to 400/404/409.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from typing import Any

from django.http import HttpRequest, JsonResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_serializer,
)
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound as DrfNotFound
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.services import event_record
from core.api import error_body
from core.errors import NotFound, ValidationFailed
from core.ids import MAX_ID, parse_id
from core.markers import personal_data
from privacy.crypto import mask
from verification import services
from verification.authentication import EmployerApiKeyAuthentication, HasKeyScope, IsEmployerKey
from verification.models import (
    ApiScope,
    CaseStatus,
    CitizenshipStatus,
    ClosureCode,
    DocumentType,
    DuplicateReason,
    EmployeeDecision,
    LateReason,
    TncSource,
    VerificationCase,
)
from verification.throttling import ApiKeyRateThrottle

IDEMPOTENCY_HEADER = "Idempotency-Key"


def _no_nul(value: Any) -> Any:
    if isinstance(value, str) and "\x00" in value:
        raise serializers.ValidationError("Control characters are not allowed.")
    return value


class Text(serializers.CharField):
    """A string field that refuses NUL bytes (PostgreSQL cannot store them) and keeps spaces."""

    def __init__(self, **kwargs: Any):
        kwargs.setdefault("trim_whitespace", False)
        kwargs.setdefault("allow_blank", True)
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)
        self.validators.append(_no_nul)


class SharedFieldsSerializer(serializers.Serializer):
    """An input serializer whose fields are built once per process instead of once per request.

    DRF deep-copies every declared field for each serializer instance: for the 26 fields of a
    submit that was a tenth of the request's CPU. These fields are plain parsers (no nested
    serializers, nothing read from the context or the parent while validating), so one bound
    set can serve every request.
    """

    @property
    def fields(self) -> Any:
        cls = type(self)
        shared = cls.__dict__.get("_shared_fields")
        if shared is None:
            shared = serializers.Serializer.fields.func(self)  # type: ignore[attr-defined]
            cls._shared_fields = shared  # type: ignore[attr-defined]
        return shared


@personal_data  # workers' names and dates of birth: no cache keeps the answers
class EmployerApi(APIView):
    """Base of the employer API views: API-key authentication, scoped to the key's employer."""

    authentication_classes = [EmployerApiKeyAuthentication]
    permission_classes = [IsEmployerKey, HasKeyScope]
    throttle_classes = [ApiKeyRateThrottle]
    # The scope each method needs (ApiScope); CaseCollectionApi needs both of its parents'.
    scopes: dict[str, str] = {}

    def employer_id(self, request: Request) -> int:
        return int(request.auth.employer_id)  # type: ignore[union-attr]

    def case_for(self, request: Request, pk: str) -> VerificationCase:
        """Fetch and authorize in one step: another employer's case is the same 404 as a missing one."""
        case_id = parse_id(pk)
        if case_id is None:
            raise NotFound("No such case.")
        case = (
            VerificationCase.objects.filter(pk=case_id, employer_id=self.employer_id(request))
            .select_related("hiring_site")
            .first()
        )
        if case is None:
            raise NotFound("No such case.")
        return case


_COMPUTED = {"ssn", "a_number", "document_number", "status_display", "mismatches"}
_FK = {"hiring_site", "duplicate_of"}
_DATETIME = serializers.DateTimeField()


class MismatchOutput(serializers.Serializer):
    """Which source (ssa, dhs) and field disagreed; reference values are not shown to employers."""

    source = serializers.CharField()  # type: ignore[assignment]  # the JSON keys are "source" and "field"
    field = serializers.CharField()


class CaseOutput(serializers.ModelSerializer):
    """A case as its employer sees it: identifiers masked, which source and field disagreed."""

    ssn = serializers.SerializerMethodField()
    a_number = serializers.SerializerMethodField()
    document_number = serializers.SerializerMethodField()
    status_display = serializers.CharField(source="get_status_display")
    mismatches = serializers.SerializerMethodField()
    # Blank until set: declared so the schema's enums admit "" (ModelSerializer drops allow_blank
    # from read-only fields, and the schema then refused every case without a late reason).
    result = serializers.ChoiceField(choices=CaseStatus.choices, allow_blank=True, read_only=True)
    late_reason = serializers.ChoiceField(
        choices=LateReason.choices, allow_blank=True, read_only=True
    )
    duplicate_reason = serializers.ChoiceField(
        choices=DuplicateReason.choices, allow_blank=True, read_only=True
    )
    closure_code = serializers.ChoiceField(
        choices=ClosureCode.choices, allow_blank=True, read_only=True
    )

    class Meta:
        model = VerificationCase
        fields = [
            "id",
            "employer_case_id",
            "hiring_site",
            "status",
            "status_display",
            "result",
            "tnc_source",
            "name_review_requested",
            "mismatches",
            "first_name",
            "middle_initial",
            "last_name",
            "other_last_names",
            "date_of_birth",
            "preferred_language",
            "ssn",
            "citizenship_status",
            "a_number",
            "document_type",
            "document_number",
            "document_expires_on",
            "offer_accepted_on",
            "i9_completed_on",
            "hire_date",
            "late_reason",
            "duplicate_of",
            "duplicate_reason",
            "tnc_issued_on",
            "fan_issued_on",
            "decision",
            "decision_due_on",
            "referred_on",
            "contact_due_on",
            "nmt_due_on",
            "closure_code",
            "closure_text",
            "created_at",
            "submitted_at",
            "closed_at",
        ]
        read_only_fields = fields

    def get_ssn(self, obj: VerificationCase) -> str:
        return mask(obj.ssn_last4)

    def get_a_number(self, obj: VerificationCase) -> str:
        return mask(obj.a_number_last4)

    def get_document_number(self, obj: VerificationCase) -> str:
        return mask(obj.document_number_last4)

    def to_representation(self, instance: VerificationCase) -> dict[str, Any]:
        """The same keys as the declared fields, built directly: ModelSerializer's field set-up
        per call cost about 4 ms of CPU, a fifth of a submit."""
        obj = instance
        out: dict[str, Any] = {}
        for name in self.Meta.fields:
            if name in _COMPUTED:
                continue
            value = getattr(obj, name if name not in _FK else f"{name}_id")
            if isinstance(value, datetime):
                value = _DATETIME.to_representation(value)
            elif isinstance(value, date):
                value = value.isoformat()
            out[name] = value
        out["ssn"] = self.get_ssn(obj)
        out["a_number"] = self.get_a_number(obj)
        out["document_number"] = self.get_document_number(obj)
        out["status_display"] = obj.get_status_display()
        out["mismatches"] = self.get_mismatches(obj)
        return {name: out[name] for name in self.Meta.fields}

    @extend_schema_field(MismatchOutput(many=True))
    def get_mismatches(self, obj: VerificationCase) -> list[dict[str, str]]:
        return [
            {"source": c.source, "field": c.field}
            for c in obj.comparisons.all()
            if c.outcome in ("mismatch", "not_found", "flag")
        ]


def _audit_read(action: str, request: Request, cases: list[VerificationCase]) -> None:
    event_record(
        action=action,
        object_type="verification_case",
        object_id=cases[0].pk if len(cases) == 1 else "",
        subjects=[f"vcase:{c.pk}" for c in cases],
        detail={"count": len(cases)},
    )


class CaseSubmitApi(EmployerApi):
    """Submit a case (or save a draft) with an Idempotency-Key; a retry returns the same case."""

    scopes = {"POST": ApiScope.SUBMIT}

    @extend_schema_serializer(component_name="CaseSubmitInput")
    class Input(SharedFieldsSerializer):
        first_name = Text(required=True, max_length=80)
        middle_initial = Text(max_length=1)
        last_name = Text(required=True, max_length=80)
        other_last_names = Text(max_length=200)
        date_of_birth = serializers.DateField()
        ssn = Text(required=True, max_length=20)
        employee_email = serializers.EmailField(required=False, allow_blank=True)
        preferred_language = Text(
            max_length=15, help_text="The worker's language for notices (en, es, ...); default en"
        )
        citizenship_status = serializers.ChoiceField(choices=CitizenshipStatus.choices)
        a_number = Text(max_length=20, help_text="A-Number/USCIS number")
        i94 = Text(max_length=20)
        passport = Text(max_length=20, help_text="Foreign passport number")
        passport_country = Text(max_length=3)
        document_type = serializers.ChoiceField(choices=DocumentType.choices)
        document_number = Text(max_length=30)
        document_expires_on = serializers.DateField(required=False, allow_null=True)
        offer_accepted_on = serializers.DateField()
        i9_completed_on = serializers.DateField()
        hire_date = serializers.DateField()
        hiring_site = serializers.IntegerField(
            required=False, allow_null=True, min_value=1, max_value=MAX_ID
        )
        employer_case_id = Text(max_length=64)
        late_reason = serializers.ChoiceField(
            choices=LateReason.choices, required=False, allow_blank=True
        )
        late_reason_text = Text(max_length=500)
        duplicate_reason = serializers.ChoiceField(
            choices=DuplicateReason.choices, required=False, allow_blank=True
        )
        duplicate_reason_text = Text(max_length=500)
        submit = serializers.BooleanField(default=True, help_text="false saves a draft")

    @extend_schema(
        request=Input,
        responses={201: CaseOutput},
        parameters=[
            OpenApiParameter(
                IDEMPOTENCY_HEADER,
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                required=True,
                description="A unique key per case; a retry with the same key never creates a second case.",
            )
        ],
        summary="Submit a verification case",
    )
    def post(self, request: Request) -> Response:
        key = request.headers.get(IDEMPOTENCY_HEADER, "")
        if not key or len(key) > 128 or not key.isprintable():
            raise ValidationFailed(
                "Send an Idempotency-Key header.",
                field_errors={IDEMPOTENCY_HEADER: ["Required: 1 to 128 printable characters."]},
            )
        if not isinstance(request.data, dict):
            raise ValidationFailed(
                "Send a JSON object.",
                field_errors={"non_field_errors": ["Expected a JSON object."]},
            )
        body_hash = hashlib.sha256(
            json.dumps(request.data, sort_keys=True, default=str).encode()
        ).hexdigest()
        serializer = self.Input(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        submit = data.pop("submit", True)
        employer = request.auth.employer  # type: ignore[union-attr]
        # The service claims the key in its own transaction: a retry (or a concurrent twin)
        # gets the case the first request created, never a second one.
        case = services.case_create(
            actor=request.auth,
            employer=employer,
            data=data,
            submit=submit,
            idempotency_key=key,
            request_hash=body_hash,
        )
        response = Response(CaseOutput(case).data, status=status.HTTP_201_CREATED)
        if getattr(case, "replayed", False):
            response["Idempotent-Replayed"] = "true"
        return response


class CaseListPagination(CursorPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    ordering = "-id"


@extend_schema_serializer(component_name="CasePage")
class CasePageOutput(serializers.Serializer):
    """One page of the case list: the cursor links and the cases (CursorPagination's answer)."""

    next = serializers.URLField(allow_null=True, help_text="The next page, or null on the last.")
    previous = serializers.URLField(allow_null=True, help_text="The previous page, or null.")
    results = CaseOutput(many=True)


class CaseListApi(EmployerApi):
    """List the employer's cases, newest first, with filters; cursor-paginated."""

    scopes = {"GET": ApiScope.READ}

    class Filters(serializers.Serializer):
        status = serializers.MultipleChoiceField(choices=CaseStatus.choices, required=False)
        tnc_source = serializers.ChoiceField(
            choices=[c for c in TncSource.choices if c[0]], required=False
        )
        created_after = serializers.DateField(required=False)
        created_before = serializers.DateField(required=False)
        hire_date_after = serializers.DateField(required=False)
        hire_date_before = serializers.DateField(required=False)
        site = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
        employer_case_id = Text(max_length=64)
        cursor = Text(max_length=200)
        page_size = serializers.IntegerField(required=False, min_value=1, max_value=200)

    @extend_schema(
        parameters=[Filters],
        responses={200: CasePageOutput},
        summary="List cases",
        operation_id="v1_cases_list",
    )
    def get(self, request: Request) -> Response:
        params: dict[str, Any] = {k: v for k, v in request.query_params.items() if k != "status"}
        statuses = [
            s for raw in request.query_params.getlist("status") for s in raw.split(",") if s
        ]
        if statuses:
            params["status"] = statuses
        filters = self.Filters(data=params)
        filters.is_valid(raise_exception=True)
        f = filters.validated_data
        qs = VerificationCase.objects.filter(employer_id=self.employer_id(request)).select_related(
            "hiring_site"
        )
        if f.get("status"):
            qs = qs.filter(status__in=sorted(f["status"]))
        if f.get("tnc_source"):
            qs = qs.filter(tnc_source=f["tnc_source"])
        if "created_after" in f:
            qs = qs.filter(created_at__date__gte=f["created_after"])
        if "created_before" in f:
            qs = qs.filter(created_at__date__lte=f["created_before"])
        if "hire_date_after" in f:
            qs = qs.filter(hire_date__gte=f["hire_date_after"])
        if "hire_date_before" in f:
            qs = qs.filter(hire_date__lte=f["hire_date_before"])
        if "site" in f:
            qs = qs.filter(hiring_site_id=f["site"])
        if f.get("employer_case_id"):
            qs = qs.filter(employer_case_id=f["employer_case_id"])
        paginator = CaseListPagination()
        try:
            page = paginator.paginate_queryset(
                qs.prefetch_related("comparisons"), request, view=self
            )
        except Exception as exc:  # a forged cursor
            if isinstance(exc, DrfNotFound):
                raise ValidationFailed(
                    "Invalid cursor.", field_errors={"cursor": ["Invalid cursor."]}
                ) from exc
            raise
        if page:
            _audit_read("vcase.listed", request, page)
        return paginator.get_paginated_response(CaseOutput(page, many=True).data)


class CaseCollectionApi(CaseListApi, CaseSubmitApi):
    """/cases/: GET lists, POST submits (one operation per method, each defined above)."""

    scopes = {"GET": ApiScope.READ, "POST": ApiScope.SUBMIT}


class CaseDetailApi(EmployerApi):
    """Read one case of the employer."""

    scopes = {"GET": ApiScope.READ}

    @extend_schema(responses={200: CaseOutput}, summary="Read a case")
    def get(self, request: Request, pk: str) -> Response:
        case = self.case_for(request, pk)
        _audit_read("vcase.viewed", request, [case])
        return Response(CaseOutput(case).data)


class CaseSubmitDraftApi(EmployerApi):
    """Submit a draft for the instant result."""

    scopes = {"POST": ApiScope.SUBMIT}

    @extend_schema(request=None, responses={200: CaseOutput}, summary="Submit a draft")
    def post(self, request: Request, pk: str) -> Response:
        case = services.case_submit(actor=request.auth, case=self.case_for(request, pk))
        return Response(CaseOutput(case).data)


class CaseNoticeApi(EmployerApi):
    """Record that the worker received the Further Action Notice of a mismatch."""

    scopes = {"POST": ApiScope.CLOSE}

    @extend_schema_serializer(component_name="CaseNoticeInput")
    class Input(serializers.Serializer):
        issued_on = serializers.DateField(required=False, allow_null=True)
        preferred_language = Text(
            max_length=15, help_text="The worker's language, if the worker named one now"
        )

    @extend_schema(
        request=Input, responses={200: CaseOutput}, summary="Record the Further Action Notice"
    )
    def post(self, request: Request, pk: str) -> Response:
        case = self.case_for(request, pk)
        data = _input(self.Input, request)
        case = services.case_fan_issue(
            actor=request.auth,
            case=case,
            issued_on=data.get("issued_on"),
            language=data.get("preferred_language", ""),
        )
        return Response(CaseOutput(case).data)


class CaseDecisionApi(EmployerApi):
    """Record the worker's decision: take action (contest) or not."""

    scopes = {"POST": ApiScope.CLOSE}

    @extend_schema_serializer(component_name="CaseDecisionInput")
    class Input(serializers.Serializer):
        decision = serializers.ChoiceField(choices=[c for c in EmployeeDecision.choices if c[0]])

    @extend_schema(
        request=Input, responses={200: CaseOutput}, summary="Record the employee's decision"
    )
    def post(self, request: Request, pk: str) -> Response:
        case = self.case_for(request, pk)
        data = _input(self.Input, request)
        case = services.case_decide(actor=request.auth, case=case, decision=data["decision"])
        return Response(CaseOutput(case).data)


class CaseReferApi(EmployerApi):
    """Refer a contested mismatch to SSA/DHS."""

    scopes = {"POST": ApiScope.CLOSE}

    @extend_schema(request=None, responses={200: CaseOutput}, summary="Refer a case")
    def post(self, request: Request, pk: str) -> Response:
        case = services.case_refer(actor=request.auth, case=self.case_for(request, pk))
        return Response(CaseOutput(case).data)


class CaseCloseApi(EmployerApi):
    """Close a case with a coded reason (free text must hold no SSN or A-Number)."""

    scopes = {"POST": ApiScope.CLOSE}

    @extend_schema_serializer(component_name="CaseCloseInput")
    class Input(serializers.Serializer):
        code = serializers.ChoiceField(
            choices=[
                c
                for c in ClosureCode.choices
                if c[0] not in ("ea_automatic", "draft_expired", "no_decision")
            ]
        )
        text = Text(max_length=500)

    @extend_schema(request=Input, responses={200: CaseOutput}, summary="Close a case")
    def post(self, request: Request, pk: str) -> Response:
        case = self.case_for(request, pk)
        data = _input(self.Input, request)
        case = services.case_close(
            actor=request.auth, case=case, code=data["code"], text=data.get("text", "")
        )
        return Response(CaseOutput(case).data)


def _input(serializer_class: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    data = request.data if isinstance(request.data, dict) else None
    if data is None:
        raise ValidationFailed(
            "Send a JSON object.", field_errors={"non_field_errors": ["Expected a JSON object."]}
        )
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def api_not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """Unknown API paths answer in the API's error format, not with an HTML page."""
    return JsonResponse(error_body("not_found", "No such endpoint."), status=404)


__all__ = [
    "CaseCloseApi",
    "CaseCollectionApi",
    "CaseDecisionApi",
    "CaseDetailApi",
    "CaseListApi",
    "CaseNoticeApi",
    "CaseReferApi",
    "CaseSubmitApi",
    "CaseSubmitDraftApi",
    "api_not_found",
]
