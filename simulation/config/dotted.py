"""Dotted config paths (``world.output.induced_multiplier``, list items by index): set and get.

Parameter overrides, experiment uncertainties and the tests' config edits all go through
:func:`set_dotted`; :func:`get_dotted` reads a path the same way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from simulation.config.errors import ConfigError

if TYPE_CHECKING:
    from simulation.config.schema import Config


def _list_index(items: list, part: str, dotted: str) -> int:
    if not part.isdigit() or int(part) >= len(items):
        raise ConfigError(None, dotted, f"'{part}' is not an index of a list of {len(items)}")
    return int(part)


def set_dotted(data: dict, dotted: str, value: Any) -> None:
    """Set ``a.b.c`` in nested dicts (creating tables), for parameter overrides.

    A whole-number part indexes an existing list item, e.g.
    ``escalation.levels.5.measures.0.approval_probability``.
    """
    parts = dotted.split(".")
    cur: Any = data
    for p in parts[:-1]:
        if isinstance(cur, list):
            nxt = cur[_list_index(cur, p, dotted)]
        else:
            nxt = cur.get(p)
            if nxt is None:
                nxt = cur[p] = {}
        if not isinstance(nxt, dict | list):
            raise ConfigError(None, dotted, f"'{p}' is not a table")
        cur = nxt
    if isinstance(cur, list):
        cur[_list_index(cur, parts[-1], dotted)] = value
    else:
        cur[parts[-1]] = value


def get_dotted(config: Config | dict, dotted: str) -> Any:
    """Read ``a.b.c`` from a config or its dict: fields, dict keys, list items by index
    (as :func:`set_dotted` writes them). Raises ``KeyError(part)`` at the first part not found."""
    cur: Any = config
    for p in dotted.split("."):
        if isinstance(cur, list) and p.isdigit() and int(p) < len(cur):
            cur = cur[int(p)]
        elif isinstance(cur, dict) and p in cur:
            cur = cur[p]
        elif isinstance(cur, BaseModel) and p in type(cur).model_fields:
            cur = getattr(cur, p)
        else:
            raise KeyError(p)
    return cur

