"""What every API input parser shares."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers
from rest_framework.request import Request

from .errors import ApplicationError


def reject_unknown_fields(request: Request, serializer: serializers.Serializer[Any]) -> None:
    """DRF ignores fields it does not know; a typo should be an error instead. Nested input
    serializers (a risk group's `bounds`) are checked one level down too."""
    unknown_fields_refuse(request.data, serializer)


def unknown_fields_refuse(data: Any, serializer: serializers.Serializer[Any]) -> None:
    """reject_unknown_fields for `data` that is not the request's whole body (one order of
    a batch)."""
    if not isinstance(data, dict):
        return
    unknown = sorted(set(data) - set(serializer.fields))
    for name, field in serializer.fields.items():
        nested = data.get(name)
        if isinstance(field, serializers.Serializer) and isinstance(nested, dict):
            unknown += sorted(f"{name}.{key}" for key in set(nested) - set(field.fields))
    if unknown:
        raise ApplicationError(
            "Unknown fields: " + ", ".join(unknown) + ".",
            fields={name: ["Unknown field."] for name in unknown},
        )


def input_validated(
    request: Request, serializer_class: type[serializers.Serializer[Any]], *, partial: bool = False
) -> Any:
    """The request's body as `serializer_class` validates it: unknown fields refused first,
    then DRF's checks (a 400 naming each field)."""
    serializer = serializer_class(data=request.data, partial=partial)
    reject_unknown_fields(request, serializer)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data
