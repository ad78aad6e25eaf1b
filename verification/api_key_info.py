"""GET /api/v1/key/: what the calling API key is (its employer, scopes, limit and expiry).

An employer's system calls it to check its credentials before it submits anything, and it is the
cheapest authenticated answer the API gives: `make bench` measures sustained submits against it
(P3). It carries no worker's data, so it needs no scope and is not a disclosure.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from verification.api import EmployerApi


class KeyInfoApi(EmployerApi):
    """The calling key's own facts."""

    scopes: dict[str, str] = {}  # any usable key may ask what it is

    class Output(serializers.Serializer):
        employer = serializers.IntegerField()
        employer_name = serializers.CharField()
        label = serializers.CharField()  # type: ignore[assignment]  # the JSON key is "label"
        prefix = serializers.CharField()
        scopes = serializers.ListField(child=serializers.CharField())
        rate_per_minute = serializers.IntegerField()
        expires_at = serializers.DateTimeField()

    @extend_schema(responses={200: Output}, summary="The calling API key")
    def get(self, request: Request) -> Response:
        key = request.auth
        return Response(
            {
                "employer": key.employer_id,  # type: ignore[union-attr]
                "employer_name": key.employer.name,  # type: ignore[union-attr]
                "label": key.label,  # type: ignore[union-attr]
                "prefix": key.prefix,  # type: ignore[union-attr]
                "scopes": sorted(key.scopes),  # type: ignore[union-attr]
                "rate_per_minute": key.rate,  # type: ignore[union-attr]
                "expires_at": key.expires_at.isoformat(),  # type: ignore[union-attr]
            }
        )
