"""The statements the services build once, at import: those their commands run most, for the pool to prepare."""

from __future__ import annotations

import importlib
import pkgutil

from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.dml import Delete, Update
from sqlalchemy.sql.selectable import CompoundSelect, Select

import bot.services


def hot_statements() -> list[Executable]:
    """Every query, UPDATE and DELETE a service module holds at its top level, once each, in a fixed order.

    The services build a statement once where a command runs it on every call (building one and its cache key cost
    more than running it), so these are the hot paths' statements, and a new one joins the list by being written
    that way. INSERTs are left out: the columns a call names make their SQL, so a statement alone does not give it."""
    found: dict[int, Executable] = {}
    for module in sorted(pkgutil.iter_modules(bot.services.__path__), key=lambda m: m.name):
        for value in vars(importlib.import_module(f"{bot.services.__name__}.{module.name}")).values():
            if isinstance(value, Select | CompoundSelect | Update | Delete):
                found.setdefault(id(value), value)
    return list(found.values())
