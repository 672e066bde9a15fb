"""Limits every request meets before a view reads it, in one place: the size and nesting
depth of a JSON body, and characters no database column stores (NUL, lone surrogates)
wherever they arrive: path, query string, form fields, file names and JSON."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from typing import IO, Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from rest_framework.parsers import JSONParser

from .errors import ApplicationError, ErrorCode, error_response

# Deeper than any spec or payload the portal defines; parsing stays far from the
# interpreter's recursion limit whatever a library has raised it to.
JSON_MAX_DEPTH = 32

# PostgreSQL stores neither NUL nor a lone UTF-16 surrogate (JSON's "\ud800" decodes to one).
_REFUSED_CHARACTER = re.compile("[\x00\ud800-\udfff]")
# A JSON string (its closing quote optional, so the scan never backtracks); a run of
# anything but brackets.
_JSON_STRING = re.compile(r'"(?:[^"\\]++|\\.)*+"?', re.DOTALL)
_NOT_BRACKETS = re.compile(r"[^\[\]{}]++")
_OBJECTS_AS_ARRAYS = str.maketrans("{}", "[]")


def has_refused_characters(text: str) -> bool:
    return _REFUSED_CHARACTER.search(text) is not None


def refused_characters_error(where: str) -> ApplicationError:
    return ApplicationError(
        f"The {where} contains a character that cannot be stored (NUL or a lone surrogate).",
        code=ErrorCode.INVALID_CHARACTERS,
    )


def json_depth_exceeds(text: str, limit: int = JSON_MAX_DEPTH) -> bool:
    """Whether JSON text nests arrays and objects deeper than `limit`, found by scanning
    (without parsing, whose recursion is what the limit protects). Each pass removes the
    innermost level of brackets; after `limit` passes, a pair left means deeper nesting,
    and more than `limit` unclosed brackets would take the parser as deep."""
    if text.count("[") + text.count("{") <= limit:
        return False
    brackets = _NOT_BRACKETS.sub("", _JSON_STRING.sub("", text)).translate(_OBJECTS_AS_ARRAYS)
    for _ in range(limit):
        brackets = brackets.replace("[]", "")
    return "[]" in brackets or brackets.count("[") > limit


def _strings(data: Any) -> Iterator[str]:
    """Every string in parsed JSON, keys included (its depth is already bounded)."""
    if isinstance(data, str):
        yield data
    elif isinstance(data, Mapping):
        for key, value in data.items():
            yield str(key)
            yield from _strings(value)
    elif isinstance(data, list):
        for item in data:
            yield from _strings(item)


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number.")


def json_loads_bounded(text: str, *, where: str = "JSON document") -> Any:
    """Parses JSON refusing what the portal cannot handle: nesting deeper than
    JSON_MAX_DEPTH, NaN and Infinity, and characters no column stores. Raises
    ApplicationError (`json_too_deep`, `parse_error`, `invalid_characters`)."""
    if json_depth_exceeds(text):
        raise ApplicationError(
            f"The {where} nests deeper than {JSON_MAX_DEPTH} levels.", code=ErrorCode.JSON_TOO_DEEP
        )
    try:
        data = json.loads(text, parse_constant=_refuse_constant)
    except ValueError as exc:  # JSONDecodeError, NaN/Infinity, integers of over 4300 digits
        message = f"The {where} is not valid JSON: {exc}"
        raise ApplicationError(message, code=ErrorCode.PARSE_ERROR) from exc
    # a parsed string holds only the text's own characters and what its escapes decode to;
    # of these only \uXXXX can make a NUL or a lone surrogate, so most bodies (none of
    # either) need no walk through every string
    if ("\\u" in text or has_refused_characters(text)) and any(
        has_refused_characters(string) for string in _strings(data)
    ):
        raise refused_characters_error(where)
    return data


class BoundedJSONParser(JSONParser):
    """DRF's default parser: the body as json_loads_bounded reads it. (DRF reads a JSON
    body through request.body, which Django holds to DATA_UPLOAD_MAX_MEMORY_SIZE.)"""

    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = stream.read().decode(encoding)
        except UnicodeDecodeError as exc:
            message = f"The request body is not {encoding} text."
            raise ApplicationError(message, code=ErrorCode.PARSE_ERROR) from exc
        return json_loads_bounded(text, where="request body")


def _refused_in_request(request: HttpRequest) -> str | None:
    """Where the request carries a refused character, or None."""
    if has_refused_characters(request.path):
        return "address"
    for key, values in request.GET.lists():
        if has_refused_characters("".join([key, *values])):
            return "query string"
    if request.method in ("POST", "PUT", "PATCH") and request.content_type in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        for key, values in request.POST.lists():
            if has_refused_characters("".join([key, *values])):
                return "form"
        names = [upload.name or "" for _, uploads in request.FILES.lists() for upload in uploads]
        if any(has_refused_characters(name) for name in names):
            return "name of an uploaded file"
    return None


class RefusedCharactersMiddleware:
    """Refuses (400, `invalid_characters`) a path, query string or form field with a
    character no database stores, before any view reads it. JSON bodies are checked by
    BoundedJSONParser as they are parsed."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        where = _refused_in_request(request)
        if where is not None:
            error = refused_characters_error(where)
            return error_response(request, 400, error.code, error.message)
        return self.get_response(request)
