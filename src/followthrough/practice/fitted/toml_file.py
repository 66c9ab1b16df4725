"""The fitted scenario as a scenario file, so it can be read, changed and run like the shipped
ones (`followthrough sim run mine.toml`). Scenario files are plain TOML with tables, arrays of
tables and inline tables; this writes exactly that shape."""

from __future__ import annotations

import json
import math
from typing import Any

from followthrough.practice.sim.scenario import Scenario


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("a scenario file holds only finite numbers")
        return repr(value)
    if isinstance(value, str):
        # A JSON string is a valid TOML basic string (same escapes).
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {type(value).__name__} to a scenario file")


def _lines(fields: dict[str, Any]) -> list[str]:
    return [f"{key} = {_value(value)}" for key, value in fields.items() if value is not None]


def scenario_toml(scenario: Scenario) -> str:
    """TOML text that `parse_scenario` reads back as an equal scenario."""
    data = scenario.model_dump(mode="python")
    lines = ["# Fitted from the desk's own history (followthrough fitted scenario)."]
    tables = ("behaviour", "customers")
    arrays = ("departments", "services", "journeys")
    lines += _lines({k: v for k, v in data.items() if k not in tables + arrays})
    for table in tables:
        lines += ["", f"[{table}]", *_lines(data[table])]
    for array in arrays:
        for item in data[array]:
            lines += ["", f"[[{array}]]", *_lines(item)]
    return "\n".join(lines) + "\n"
