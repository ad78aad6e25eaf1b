"""The employer API for webhooks (/api/v1/webhooks/): subscriptions, secrets, deliveries.

Scoped to the key's employer like every employer-API view: there is no employer field to send
(one is refused as unknown), and another employer's subscription or delivery is a 404.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound as DrfNotFound
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response

from core.errors import ValidationFailed
from verification.api import EmployerApi, Text
from verification.models import DeliveryState, WebhookDelivery, WebhookSubscription
from verification.models.webhooks import SUBSCRIBABLE
from verification.webhooks import selectors, services


class SubscriptionOutput(serializers.ModelSerializer):
    """A subscription; `secret` only in the answer that made it (create, rotate)."""

    in_overlap = serializers.BooleanField(read_only=True)

    class Meta:
        model = WebhookSubscription
        fields = [
            "id",
            "url",
            "events",
            "description",
            "created_at",
            "secret_rotated_at",
            "previous_secret_expires_at",
            "in_overlap",
        ]
        read_only_fields = fields


class SecretOutput(SubscriptionOutput):
    secret = serializers.SerializerMethodField(help_text="Shown once: store it now.")

    class Meta(SubscriptionOutput.Meta):
        fields = [*SubscriptionOutput.Meta.fields, "secret"]
        read_only_fields = fields

    def get_secret(self, obj: WebhookSubscription) -> str:
        return str(self.context["secret"])


class DeliveryOutput(serializers.ModelSerializer):
    """A delivery: its event, state, attempts and the receiver's last answer."""

    event_id = serializers.UUIDField(source="event.event_id")
    event_type = serializers.CharField(source="event.type")
    case = serializers.IntegerField(source="event.case_id", allow_null=True)

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "event_id",
            "event_type",
            "case",
            "subscription",
            "state",
            "attempts",
            "response_code",
            "response_excerpt",
            "error",
            "created_at",
            "last_attempt_at",
            "next_attempt_at",
            "delivered_at",
            "dead_at",
            "replay_of",
        ]
        read_only_fields = fields


def _messages(detail: Any) -> list[str]:
    """Messages of one field; a list's items are named by their position."""
    if isinstance(detail, dict):
        return [f"Item {i}: {m}" for i, msgs in detail.items() for m in _messages(msgs)]
    if isinstance(detail, list | tuple):
        return [m for item in detail for m in _messages(item)]
    return [str(detail)]


def _strict(serializer_class: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    """Validated input; unknown fields are refused by name, so nothing is silently ignored."""
    if not isinstance(request.data, dict):
        raise ValidationFailed(
            "Send a JSON object.", field_errors={"non_field_errors": ["Expected a JSON object."]}
        )
    serializer = serializer_class(data=request.data)
    unknown = sorted(set(request.data) - set(serializer.fields))
    valid = serializer.is_valid()
    errors = {str(k): _messages(v) for k, v in (serializer.errors or {}).items()}
    for name in unknown:
        errors[str(name)] = ["Unknown field."]
    if errors or not valid:
        raise ValidationFailed("The request has invalid fields.", field_errors=errors)
    return dict(serializer.validated_data)


class SubscriptionCollectionApi(EmployerApi):
    """GET lists the employer's subscriptions; POST creates one (its secret is in the answer, once)."""

    @extend_schema_serializer(component_name="WebhookSubscriptionInput")
    class Input(serializers.Serializer):
        url = Text(required=True, allow_blank=False, max_length=2000)
        events = serializers.ListField(
            child=serializers.ChoiceField(choices=SUBSCRIBABLE), allow_empty=False, max_length=10
        )
        description = Text(max_length=200)

    @extend_schema(
        responses={200: SubscriptionOutput(many=True)}, summary="List webhook subscriptions"
    )
    def get(self, request: Request) -> Response:
        subs = selectors.subscriptions_of(self.employer_id(request))
        return Response(SubscriptionOutput(subs, many=True).data)

    @extend_schema(request=Input, responses={201: SecretOutput}, summary="Subscribe to events")
    def post(self, request: Request) -> Response:
        data = _strict(self.Input, request)
        sub, secret = services.subscription_create(
            actor=request.auth,
            employer=request.auth.employer,  # type: ignore[union-attr]
            url=data["url"],
            events=data["events"],
            description=data.get("description", ""),
        )
        response = Response(
            SecretOutput(sub, context={"secret": secret}).data, status=status.HTTP_201_CREATED
        )
        response["Cache-Control"] = "no-store"
        return response


class SubscriptionDetailApi(EmployerApi):
    """GET reads one subscription; DELETE deletes it and cancels its pending deliveries."""

    @extend_schema(responses={200: SubscriptionOutput}, summary="Read a webhook subscription")
    def get(self, request: Request, pk: str) -> Response:
        sub = selectors.subscription_of(self.employer_id(request), pk)
        return Response(SubscriptionOutput(sub).data)

    @extend_schema(responses={204: None}, summary="Delete a webhook subscription")
    def delete(self, request: Request, pk: str) -> Response:
        sub = selectors.subscription_of(self.employer_id(request), pk)
        services.subscription_delete(actor=request.auth, subscription=sub)
        return Response(status=status.HTTP_204_NO_CONTENT)


class SubscriptionRotateApi(EmployerApi):
    """Replace the signing secret; the old one keeps signing during the overlap (default 24 h)."""

    @extend_schema_serializer(component_name="WebhookRotateInput")
    class Input(serializers.Serializer):
        overlap_hours = serializers.IntegerField(
            required=False, min_value=0, help_text="0 stops the old secret at once."
        )

    @extend_schema(request=Input, responses={200: SecretOutput}, summary="Rotate the secret")
    def post(self, request: Request, pk: str) -> Response:
        sub = selectors.subscription_of(self.employer_id(request), pk)
        data = _strict(self.Input, request) if request.data else {}
        sub, secret = services.subscription_secret_rotate(
            actor=request.auth, subscription=sub, overlap_hours=data.get("overlap_hours")
        )
        response = Response(SecretOutput(sub, context={"secret": secret}).data)
        response["Cache-Control"] = "no-store"
        return response


class SubscriptionPingApi(EmployerApi):
    """Send a signed `ping` event to the subscription's URL, to test the receiver."""

    @extend_schema(request=None, responses={202: DeliveryOutput}, summary="Send a test event")
    def post(self, request: Request, pk: str) -> Response:
        sub = selectors.subscription_of(self.employer_id(request), pk)
        event = services.subscription_ping(actor=request.auth, subscription=sub)
        delivery = event.deliveries.select_related("event").get()
        return Response(DeliveryOutput(delivery).data, status=status.HTTP_202_ACCEPTED)


class DeliveryPagination(CursorPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    ordering = "-id"


class DeliveryPage(serializers.Serializer):
    """One page of deliveries: the cursor links and the deliveries (CursorPagination's answer)."""

    next = serializers.URLField(allow_null=True, help_text="The next page, or null on the last.")
    previous = serializers.URLField(allow_null=True, help_text="The previous page, or null.")
    results = DeliveryOutput(many=True)


class DeliveryListApi(EmployerApi):
    """The employer's deliveries, newest first, with the receiver's answers; cursor-paginated."""

    class Filters(serializers.Serializer):
        state = serializers.ChoiceField(choices=DeliveryState.choices, required=False)
        subscription = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
        case = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
        cursor = Text(max_length=200)
        page_size = serializers.IntegerField(required=False, min_value=1, max_value=200)

    @extend_schema(
        operation_id="v1_webhooks_deliveries_list",
        parameters=[Filters],
        responses={200: DeliveryPage},
        summary="List deliveries",
    )
    def get(self, request: Request) -> Response:
        filters = self.Filters(data=request.query_params)
        filters.is_valid(raise_exception=True)
        f = filters.validated_data
        qs = selectors.deliveries_of(self.employer_id(request))
        if f.get("state"):
            qs = qs.filter(state=f["state"])
        if f.get("subscription"):
            qs = qs.filter(subscription_id=f["subscription"])
        if f.get("case"):
            qs = qs.filter(event__case_id=f["case"])
        paginator = DeliveryPagination()
        try:
            page = paginator.paginate_queryset(qs, request, view=self)
        except DrfNotFound as exc:
            raise ValidationFailed(
                "Invalid cursor.", field_errors={"cursor": ["Invalid cursor."]}
            ) from exc
        return paginator.get_paginated_response(DeliveryOutput(page, many=True).data)


class DeliveryDetailApi(EmployerApi):
    """One delivery of the employer."""

    @extend_schema(responses={200: DeliveryOutput}, summary="Read a delivery")
    def get(self, request: Request, pk: str) -> Response:
        return Response(DeliveryOutput(selectors.delivery_of(self.employer_id(request), pk)).data)
