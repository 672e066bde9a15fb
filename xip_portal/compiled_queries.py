"""Querysets compiled to SQL once per process and run with each call's arguments: for the
few queries every page view runs, where Django's building and compiling of a query costs
several times what PostgreSQL takes to run it (a viewer's fills on a market's page: 1.6 ms
through the ORM, 0.4 ms compiled)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.db.models import Model, QuerySet
from django.db.models.query import RawQuerySet

M = TypeVar("M", bound=Model)

# stand-ins for the arguments while the query compiles: values no query holds as a constant
_STAND_INS: dict[type, Callable[[int], object]] = {
    int: lambda index: -(10**15) - index,
    str: lambda index: f"\x00stand-in {index}\x00",
}


class CompiledQuery(Generic[M]):
    """`build(**arguments)`, compiled the first time it runs. Each argument is named with
    its type (int or str) and may only be compared for equality (no `__in`, no
    `__startswith`: compiling says so), and the query joins no other table's columns into
    its rows (no select_related; annotations are fine)."""

    def __init__(self, build: Callable[..., QuerySet[M, Any]], **arguments: type) -> None:
        self._build = build
        self._arguments = arguments
        self._compiled: tuple[type[M], str, list[tuple[str | None, Any]]] | None = None

    def _compile(self) -> tuple[type[M], str, list[tuple[str | None, Any]]]:
        stand_ins = {
            name: _STAND_INS[kind](index)
            for index, (name, kind) in enumerate(self._arguments.items())
        }
        queryset = self._build(**stand_ins)
        sql, params = queryset.query.sql_with_params()
        names = {value: name for name, value in stand_ins.items()}
        # (argument name, the parameter as compiled): a constant keeps its compiled value
        slots = [
            (names.get(param) if isinstance(param, int | str) else None, param) for param in params
        ]
        missing = set(stand_ins) - {name for name, _ in slots}
        if missing:
            raise ImproperlyConfigured(
                f"{sorted(missing)} of {self._build} are not compared for equality in its SQL."
            )
        return queryset.model, sql, slots

    def _params(self, arguments: dict[str, Any]) -> tuple[type[M], str, list[Any]]:
        if self._compiled is None:
            self._compiled = self._compile()
        model, sql, slots = self._compiled
        # an argument keeps the compiled parameter's type (Django binds some integers as int8)
        params = [param if name is None else type(param)(arguments[name]) for name, param in slots]
        return model, sql, params

    def objects(self, **arguments: Any) -> RawQuerySet[M]:
        """The query's rows as model instances (annotations as their attributes)."""
        model, sql, params = self._params(arguments)
        return model._default_manager.raw(sql, params)

    def rows(self, **arguments: Any) -> list[tuple[Any, ...]]:
        """The query's rows as tuples (for a values_list query)."""
        _, sql, params = self._params(arguments)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return list(cursor.fetchall())
