"""The API's JSON parser: DRF's, with a body nested too deeply answered as a parse error.

Its own module, not `core.api`: DRF imports its parsers while loading its settings, and
`core.api` imports DRF's views, which load those settings (a circular import).
"""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions
from rest_framework.parsers import JSONParser


class JsonParser(JSONParser):
    """DRF's JSON parser, with a body nested deeper than Python's decoder goes (`[[[[...`)
    answered as the parse error it is (400), not a RecursionError (500)."""

    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError("JSON parse error - nested too deeply.") from None
