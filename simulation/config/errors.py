"""Config errors: one line naming the file, the key path and the problem.

:func:`validation_error` turns pydantic's first error into that line, with the file that
set the key and, for an unknown key, a 'did you mean' among the keys allowed there.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ValidationError

from simulation.config.schema import Config


def printable(text: str) -> str:
    """``text`` on one line: control characters (newlines, tabs, NUL, ...) escaped, as in ``repr``."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class ConfigError(Exception):
    """A bad config: one line naming the file, the key path and the problem."""

    def __init__(self, file: str | Path | None, key: str, problem: str):
        self.file = printable(str(file)) if file is not None else "<config>"
        self.key = printable(str(key))
        self.problem = printable(str(problem))
        super().__init__(f"{self.file}: {self.key}: {self.problem}" if self.key else f"{self.file}: {self.problem}")


_UNION_TAG = re.compile(r"[a-z][a-z-]*\[.*\]|str", re.DOTALL)


def _format_loc(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _field_names_at(model: type[BaseModel], loc: tuple) -> list[str]:
    """Known keys of the table that holds ``loc[-1]`` (for 'did you mean')."""
    ann: Any = model
    for part in loc[:-1]:
        ann = _unwrap(ann)
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            field = ann.model_fields.get(part)
            if field is None:
                return []
            ann = field.annotation
        elif get_origin(ann) in (dict, list):
            ann = get_args(ann)[-1]  # a dict key or a list index: step into the value type
        else:
            return []
    ann = _unwrap(ann)
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return list(ann.model_fields)
    return []


def _unwrap(ann: Any) -> Any:
    """Strip Optional/Annotated/unions down to a model, dict or list type."""
    while True:
        origin = get_origin(ann)
        if origin in (dict, list):
            return ann
        args = [a for a in get_args(ann) if a is not type(None)]
        if origin is None or not args:
            return ann
        candidates = [a for a in args if (isinstance(a, type) and issubclass(a, BaseModel))
                      or get_origin(a) in (dict, list)]
        ann = candidates[0] if candidates else args[0]


def validation_error(exc: ValidationError, prov: dict, default_file: str,
                     model: type[BaseModel] | None = None) -> ConfigError:
    """The first error of a validation as one line: the file that set the key (``prov``:
    key path -> file; else ``default_file``), the key, the problem; unknown keys get a
    'did you mean' among the keys of ``model`` (default :class:`Config`) at that place."""
    err = exc.errors()[0]
    loc = tuple(err["loc"])
    # drop pydantic's union-branch tags (e.g. 'list[str]', 'literal[...]', 'function-before[...]')
    loc = tuple(p for p in loc if not (isinstance(p, str) and _UNION_TAG.fullmatch(p)))
    key = _format_loc(loc)
    file = source_of(loc, prov) or default_file
    kind = err["type"]
    if kind == "extra_forbidden":
        problem = "unknown key" + (did_you_mean(str(loc[-1]), _field_names_at(model or Config, loc)) if loc else "")
    elif kind == "missing":
        problem = "missing required key"
    else:
        value = err.get("input")
        problem = err["msg"].removeprefix("Value error, ")  # a validator's own words
        if not (kind == "value_error" and isinstance(value, dict | list)):  # not about a whole table
            problem += f" (got {repr(value) if not isinstance(value, dict | list) else type(value).__name__})"
    more = len(exc.errors()) - 1
    if more:
        problem += f" (and {more} more error{'s' if more > 1 else ''})"
    return ConfigError(rel_path(file), key, problem)


def did_you_mean(word: str, known: list[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``known`` to ``word``, else ``""``."""
    close = difflib.get_close_matches(word, known, n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def source_of(loc: tuple, prov: dict) -> str | None:
    """The file that set the key at ``loc`` or the closest table above it (``prov``: key path -> file)."""
    for n in range(len(loc), 0, -1):
        if loc[:n] in prov:
            return prov[loc[:n]]
    return None


def rel_path(file: str | Path) -> str:
    """``file`` relative to the working directory when it lies below it."""
    p = Path(file)
    try:
        return str(p.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(p)

