"""Request parsers. Kept apart from apps.common.api: DRF imports parser classes while its settings
load, and that module imports drf-spectacular, which reads those settings (a cycle)."""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions, parsers

NUL_MESSAGE = "Text may not contain the NUL character."
NESTED_MESSAGE = "JSON parse error - the document is nested too deeply."


def contains_nul(document: Any) -> bool:
    """Whether a string anywhere in a parsed JSON document (a key or a value) holds U+0000.

    PostgreSQL refuses U+0000 in jsonb and text ("unsupported Unicode escape sequence"): refused
    at the edge, a 400 instead of a 500 when the row is written. A loop, not recursion: the
    document may be as deep as the parser allows.
    """
    pending = [document]
    while pending:
        value = pending.pop()
        if isinstance(value, str):
            if "\x00" in value:
                return True
        elif isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
    return False


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, also refusing with a 400 (not a 500) absurdly nested documents and a NUL
    character anywhere in the document. Every API view uses it (REST_FRAMEWORK's
    DEFAULT_PARSER_CLASSES; views that name their parsers name this one)."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            document = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError(NESTED_MESSAGE) from None
        if contains_nul(document):
            raise exceptions.ParseError(NUL_MESSAGE)
        return document
