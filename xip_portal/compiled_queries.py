"""Querysets compiled to SQL once per process and run with each call's arguments: for the
few queries every page view runs, where Django's building and compiling of a query costs
several times what PostgreSQL takes to run it (a viewer's fills on a market's page: 1.6 ms
through the ORM, 0.4 ms compiled)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, connection
from django.db.models import Model, QuerySet
from django.db.models.query import get_related_populators
from django.db.models.sql.compiler import SQLCompiler

M = TypeVar("M", bound=Model)

# stand-ins for the arguments while the query compiles: values no query holds as a constant
_STAND_INS: dict[type, Callable[[int], object]] = {
    int: lambda index: -(10**15) - index,
    str: lambda index: f"\x00stand-in {index}\x00",
}


@dataclass(frozen=True)
class _Compiled(Generic[M]):
    sql: str
    # (argument name, the parameter as compiled): a constant keeps its compiled value
    slots: list[tuple[str | None, Any]]
    # how a row becomes an instance, as Django's ModelIterable makes it
    compiler: SQLCompiler
    model: type[M]
    fields: slice  # the row's columns of the model's fields ...
    names: list[str]  # ... their attribute names
    converters: dict[int, Any]  # the columns' converters from the database's values
    populators: list[Any]  # select_related's instances
    annotations: dict[str, int]  # attribute name: the row's column


class CompiledQuery(Generic[M]):
    """`build(**arguments)`, compiled the first time it runs. Each argument is named with
    its type (int or str) and may only be compared for equality (no `__in`, no
    `__startswith`: compiling says so)."""

    def __init__(self, build: Callable[..., QuerySet[M, Any]], **arguments: type) -> None:
        self._build = build
        self._arguments = arguments
        self._compiled: _Compiled[M] | None = None

    def _compile(self) -> _Compiled[M]:
        stand_ins = {
            name: _STAND_INS[kind](index)
            for index, (name, kind) in enumerate(self._arguments.items())
        }
        queryset = self._build(**stand_ins)
        compiler = queryset.query.get_compiler(DEFAULT_DB_ALIAS)
        sql, params = compiler.as_sql()
        names = {value: name for name, value in stand_ins.items()}
        slots = [
            (names.get(param) if isinstance(param, int | str) else None, param) for param in params
        ]
        missing = set(stand_ins) - {name for name, _ in slots}
        if missing:
            raise ImproperlyConfigured(
                f"{sorted(missing)} of {self._build} are not compared for equality in its SQL."
            )
        select, klass_info = compiler.select, compiler.klass_info
        fields = (
            slice(klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1)
            if klass_info
            else slice(0)
        )
        return _Compiled(
            sql=sql,
            slots=slots,
            compiler=compiler,
            model=queryset.model,
            fields=fields,
            names=[column[0].target.attname for column in select[fields]],
            converters=compiler.get_converters([column[0] for column in select]),
            # (django-stubs describe Django 6's signature)
            populators=get_related_populators(klass_info, select, DEFAULT_DB_ALIAS)  # type: ignore[call-arg]
            if klass_info
            else [],
            annotations=dict(compiler.annotation_col_map or {}),
        )

    def _run(self, arguments: dict[str, Any]) -> tuple[_Compiled[M], list[Any]]:
        if self._compiled is None:
            self._compiled = self._compile()
        compiled = self._compiled
        # an argument keeps the compiled parameter's type (Django binds some integers as int8)
        params = [
            param if name is None else type(param)(arguments[name])
            for name, param in compiled.slots
        ]
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, params)
            return compiled, list(cursor.fetchall())

    def objects(self, **arguments: Any) -> list[M]:
        """The query's rows as model instances (annotations as their attributes,
        select_related's instances in place)."""
        compiled, rows = self._run(arguments)
        if compiled.converters:
            rows = list(compiled.compiler.apply_converters(rows, compiled.converters))
        instances = []
        for row in rows:
            instance = compiled.model.from_db(
                DEFAULT_DB_ALIAS, compiled.names, row[compiled.fields]
            )
            for populator in compiled.populators:
                populator.populate(row, instance)
            for name, column in compiled.annotations.items():
                setattr(instance, name, row[column])
            instances.append(instance)
        return instances

    def rows(self, **arguments: Any) -> list[tuple[Any, ...]]:
        """The query's rows as tuples (for a values_list query)."""
        return self._run(arguments)[1]
