"""The error answers of the API, written into the OpenAPI schema (a drf-spectacular hook).

Every view answers its errors in the one format of `core.api` ({"error": {"code", "message",
"fields"}}), but the views only declare their success. This hook adds, to every operation, the
error statuses it can answer, so clients (and the schema fuzzer) know them:

- 400 when it takes parameters or a body, or changes state (services refuse bad input);
- 401 and 403: no, bad or expired credentials, a missing second factor, a role that may not;
- 404 when its path names an object (missing and forbidden answer alike);
- 409 for every write (an illegal transition, an idempotency key reused with another body);
- 415 when it takes a body (a media type it cannot parse);
- 429 for writes (rate limits on sensitive actions);
- whatever else an operation names in its `x-error-statuses` extension (a streamed upload's 411
  and 413, say).
"""

from __future__ import annotations

from typing import Any

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "The one error format of the API.",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string", "description": "Machine-readable, e.g. `invalid`."},
                "message": {"type": "string"},
                "fields": {
                    "type": "object",
                    "description": "Messages per field (`non_field_errors` for the whole body).",
                    "additionalProperties": {"type": "array", "items": {"type": "string"}},
                },
            },
            "required": ["code", "message"],
        }
    },
    "required": ["error"],
}

_DESCRIPTIONS = {
    "400": "Invalid input: messages per field.",
    "401": "No credentials, or unknown, expired or revoked ones.",
    "403": "Not allowed: no second factor, or a role or agreement that does not cover this.",
    "404": "No such object, or not one of yours (the same answer).",
    "409": "Not possible in the object's current state, or an idempotency key reused.",
    "415": "A media type the operation does not read.",
    "411": "The body's length was not sent (Content-Length).",
    "413": "The body is larger than the operation takes.",
    "429": "Too many requests; try again later.",
}
_WRITES = {"post", "put", "patch", "delete"}
_METHODS = _WRITES | {"get", "head", "options"}


def error_statuses(path: str, method: str, operation: dict[str, Any]) -> list[str]:
    """The error statuses an operation can answer (see the module docstring)."""
    write = method in _WRITES
    statuses = ["401", "403"]
    if operation.get("parameters") or operation.get("requestBody") or write:
        statuses.append("400")
    if "{" in path:
        statuses.append("404")
    if write:
        statuses += ["409", "429"]
    if operation.get("requestBody"):
        statuses.append("415")
    statuses += [str(x) for x in operation.get("x-error-statuses", []) if str(x) not in statuses]
    return sorted(statuses)


def document_errors(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: the Error component and each operation's error answers."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    reference = {"$ref": "#/components/schemas/Error"}
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in _METHODS:
                continue
            responses = operation.setdefault("responses", {})
            for status in error_statuses(path, method, operation):
                responses.setdefault(
                    status,
                    {
                        "description": _DESCRIPTIONS[status],
                        "content": {"application/json": {"schema": reference}},
                    },
                )
    return result
