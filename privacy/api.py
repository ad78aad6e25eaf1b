"""The privacy API (DRF): agreements, the accounting of disclosures, my access, break-glass.

Session-authenticated people only (employer API keys have no business here), with a verified
second factor, since these answers name people and agreements.
"""

from __future__ import annotations

from typing import Any, cast

from django.http import Http404
from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.guards import HasRole
from audit.services import event_record
from core.errors import NotFound
from core.markers import personal_data
from privacy import policy, selectors, services
from privacy.models import Agency, Agreement, Role, User


class IsVerifiedPerson(BasePermission):
    """A signed-in person (not an API key) who passed the second factor."""

    message = "Sign in with your second factor."

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        return bool(
            user and getattr(user, "pk", None) and getattr(user, "is_verified", lambda: False)()
        )


@personal_data  # the accounting of disclosures names people: no cache keeps the answers
class _Base(APIView):
    permission_classes = [IsAuthenticated, IsVerifiedPerson, HasRole]
    roles: tuple[str, ...] = ()


class AgreementOutput(serializers.ModelSerializer[Any]):
    source_agency: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="code", read_only=True
    )
    recipient_agency: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="code", read_only=True
    )
    in_force = serializers.SerializerMethodField()

    class Meta:
        model = Agreement
        fields = [
            "id",
            "reference",
            "title",
            "kind",
            "status",
            "source_agency",
            "recipient_agency",
            "purpose",
            "legal_authority",
            "routine_use",
            "disclosure_basis",
            "scope",
            "effective_on",
            "expires_on",
            "renewed_on",
            "dib_approved_on",
            "in_force",
        ]

    def get_in_force(self, obj: Agreement) -> bool:
        return obj.in_force()


class AgreementListApi(_Base):
    roles = (Role.ADMIN, Role.SUPERVISOR, Role.AUDITOR)

    @extend_schema(responses=AgreementOutput(many=True))
    def get(self, request: Request) -> Response:
        """Agreements the caller may see."""
        qs = Agreement.objects.visible_to(request.user).select_related(
            "source_agency", "recipient_agency"
        )
        return Response(AgreementOutput(qs, many=True).data)


class AgreementDetailApi(_Base):
    roles = (Role.ADMIN, Role.SUPERVISOR, Role.AUDITOR)

    @extend_schema(responses=AgreementOutput)
    def get(self, request: Request, pk: int) -> Response:
        """One agreement (404 for missing and forbidden alike)."""
        try:
            agreement = selectors.get_agreement_for_user(user=request.user, pk=pk)
        except NotFound as exc:
            raise Http404 from exc
        return Response(AgreementOutput(agreement).data)


class DisclosureReportApi(_Base):
    roles = (Role.ADMIN, Role.SUPERVISOR, Role.AUDITOR)

    class Input(serializers.Serializer[Any]):
        person = serializers.CharField(max_length=128)
        for_subject = serializers.BooleanField(default=False)

    @extend_schema_serializer(component_name="DisclosureReportEntry")
    class Output(serializers.Serializer[Any]):
        occurred_at = serializers.DateTimeField()
        nature = serializers.CharField()
        purpose = serializers.CharField()
        recipient = serializers.CharField(source="recipient_label")
        recipient_address = serializers.CharField(source="recipient_agency_address")
        basis = serializers.CharField()
        routine_use = serializers.CharField()
        record_type = serializers.CharField()
        record_id = serializers.CharField()
        with_disagreement = serializers.BooleanField()

    @extend_schema(parameters=[Input], responses=Output(many=True))
    def get(self, request: Request) -> Response:
        """The accounting of disclosures about one person; for_subject leaves out (b)(7) entries."""
        data = self.Input(data=request.query_params)
        data.is_valid(raise_exception=True)
        person, for_subject = data.validated_data["person"], data.validated_data["for_subject"]
        entries = services.disclosure_report(person_refs=[person], for_subject=for_subject)
        event_record(
            action="disclosure.report_viewed",
            actor=request.user,
            subjects=[person],
            detail={"for_subject": for_subject, "format": "api"},
        )
        return Response(self.Output(entries, many=True).data)


class MyAccessApi(_Base):
    roles = tuple(Role.values)

    @extend_schema(responses={200: dict})
    def get(self, request: Request) -> Response:
        """Per data category and action, the agencies whose data the caller may use today."""

        codes = dict(Agency.objects.values_list("pk", "code"))
        return Response(
            {
                c: {
                    a: [
                        codes.get(o)
                        for o in policy.allowed_owner_ids(request.user, action=a, category=c)
                    ]
                    for a in policy.Action.values
                }
                for c in policy.DataCategory.values
            }
        )


class BreakGlassApi(_Base):
    roles = (Role.ANALYST, Role.SUPERVISOR, Role.STATUS_VERIFIER)

    class Input(serializers.Serializer[Any]):
        subject_ref = serializers.CharField(max_length=160)
        justification = serializers.CharField()

    @extend_schema_serializer(component_name="BreakGlassGrant")
    class Output(serializers.Serializer[Any]):
        id = serializers.IntegerField()
        subject_ref = serializers.CharField()
        expires_at = serializers.DateTimeField()

    @extend_schema(request=Input, responses={201: Output})
    def post(self, request: Request) -> Response:
        """Open time-boxed access outside one's assignments; supervisors review it."""
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        grant = services.break_glass_open(
            actor=cast(User, request.user), **data.validated_data
        )  # IsAuthenticated
        return Response(self.Output(grant).data, status=status.HTTP_201_CREATED)
