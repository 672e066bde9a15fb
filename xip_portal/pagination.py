"""The one way lists are cut into pages: the API's limit/offset pages, its cursor pages
(for lists that grow while a client reads them: orders, fills, statements) and the pages'
page numbers, all with a maximum page size, so no query string can ask for a page the
database cannot hold (`?limit=10**30` gets the largest page)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from functools import cache
from typing import Any, cast

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import HttpRequest
from rest_framework import serializers
from rest_framework.pagination import CursorPagination, LimitOffsetPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

MAX_PAGE_SIZE = 200
# The pages' page size: the API's default (REST_FRAMEWORK's PAGE_SIZE).
PAGE_SIZE = cast(int, api_settings.PAGE_SIZE)


class BoundedLimitOffsetPagination(LimitOffsetPagination):
    """limit/offset (REST_FRAMEWORK's PAGE_SIZE unless asked) with a maximum: a larger
    limit gets the largest page."""

    max_limit = MAX_PAGE_SIZE


def api_page(
    request: Request,
    view: APIView,
    queryset: QuerySet[Any],
    serializer: type[serializers.BaseSerializer[Any]],
) -> Response:
    """The page of `queryset` that ?limit= and ?offset= ask for, serialized, with the count
    and the links to the next and previous pages."""
    paginator = BoundedLimitOffsetPagination()
    page = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(serializer(page, many=True).data)


class BoundedCursorPagination(CursorPagination):
    """Cursor pages of `?limit=` items (PAGE_SIZE unless asked, MAX_PAGE_SIZE at most),
    newest first: a row added while a client pages is never seen twice nor skipped."""

    page_size = PAGE_SIZE
    page_size_query_param = "limit"
    max_page_size = MAX_PAGE_SIZE
    ordering = "-id"


def api_cursor_page(
    request: Request,
    view: APIView,
    queryset: QuerySet[Any],
    serializer: type[serializers.BaseSerializer[Any]],
    *,
    rows: Callable[[list[Any]], Iterable[Any]] = list,
) -> Response:
    """The cursor page of `queryset` that ?cursor= and ?limit= ask for, newest first, with
    the links to the next and previous pages; `rows` turns the page's objects into what
    `serializer` reads."""
    paginator = BoundedCursorPagination()
    page = paginator.paginate_queryset(queryset, request, view=view) or []
    return paginator.get_paginated_response(serializer(rows(page), many=True).data)


@cache
def cursor_page_serializer(
    serializer: type[serializers.BaseSerializer[Any]],
) -> type[serializers.Serializer[Any]]:
    """The schema of an api_cursor_page answer of `serializer` items."""
    name = serializer.__name__.removesuffix("Output")
    fields = {
        "next": serializers.URLField(allow_null=True),
        "previous": serializers.URLField(allow_null=True),
        "results": serializer(many=True),
    }
    return type(f"{name}CursorPage", (serializers.Serializer,), fields)


def page_of(request: HttpRequest, queryset: QuerySet[Any] | Sequence[Any]) -> Page[Any]:
    """The page of `queryset` (or a list) that ?page= asks for (the last for a number past
    the end, the first for anything that is not a number)."""
    return page_numbered(queryset, request.GET.get("page"))


def page_numbered(queryset: QuerySet[Any] | Sequence[Any], number: str | None) -> Page[Any]:
    """The page `number` of `queryset` outside a request (as `page_of` reads ?page=)."""
    return Paginator(queryset, PAGE_SIZE).get_page(number)
