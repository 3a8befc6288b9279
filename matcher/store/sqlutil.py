"""`column IN (many values)` as one bound parameter on both engines.

Rendering thousands of placeholders costs more than the query itself. SQLite gets the values
as one JSON array (`IN (SELECT value FROM json_each(?))`), PostgreSQL as one text array
(`= ANY(?)`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Text, bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator, TypeEngine


class TextList(TypeDecorator[list[str]]):
    """A list of strings sent as one parameter (JSON text on SQLite, text[] on PostgreSQL)."""

    impl = Text
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(ARRAY(Text()))
        return dialect.type_descriptor(Text())

    def process_bind_param(self, value: list[str] | None, dialect: Dialect) -> Any:
        if value is None or dialect.name == "postgresql":
            return value
        return json.dumps(value)


class _InValues(FunctionElement[bool]):
    """`column IN (values)` with the values in one parameter.

    Deliberately untyped: a Boolean-typed function would be rendered `... = 1` on SQLite,
    which hides the IN from the planner and turns index lookups into table scans.
    """

    name = "in_values"
    inherit_cache = True


@compiles(_InValues, "sqlite")
def _in_values_sqlite(element: _InValues, compiler: SQLCompiler, **kw: Any) -> str:
    column, values = list(element.clauses)
    return (f"{compiler.process(column, **kw)} IN "
            f"(SELECT value FROM json_each({compiler.process(values, **kw)}))")


@compiles(_InValues, "postgresql")
def _in_values_postgresql(element: _InValues, compiler: SQLCompiler, **kw: Any) -> str:
    column, values = list(element.clauses)
    return f"{compiler.process(column, **kw)} = ANY({compiler.process(values, **kw)})"


@compiles(_InValues)
def _in_values_default(element: _InValues, compiler: SQLCompiler, **kw: Any) -> str:
    raise NotImplementedError(f"in_values is not available on {compiler.dialect.name}")


def in_values(column: Any, values: Iterable[str]) -> ColumnElement[bool]:
    """`column IN values` as a single bound parameter (any number of values)."""
    return _InValues(column, bindparam(None, list(values), type_=TextList(), unique=True))
