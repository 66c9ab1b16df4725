"""The base of every API body and form model, shared by every domain's HTTP face."""

from __future__ import annotations

from pydantic import ConfigDict

from followthrough.fields import RefusesNul


class Input(RefusesNul):
    """Every API body and form model: unknown fields, NUL characters and unbounded values are
    refused here, naming the field (ids, counts and instants take the types in fields.py)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
