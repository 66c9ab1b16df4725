"""The readers of the event history (timeline, lead board, Insight, exports) use the typed
payloads: every key they read in SQL is a field of the payload of that kind, they name event
kinds through `EventKind`, and a stored payload reads back as the payload that was written,
whatever an import added beside it."""

from __future__ import annotations

import ast
import json
import typing
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from followthrough.history.payloads import (
    PAYLOADS,
    Accepted,
    EventKind,
    Offered,
    Payload,
    Rated,
    Resolved,
    Resumed,
    UnknownEventKind,
    from_json,
)
from followthrough.org.local_time import clock_of
from followthrough.requests.schemas import EventOut
from followthrough.requests.web import describe

SOURCE = Path(__file__).resolve().parents[1] / "src" / "followthrough"
# Every module that reads events' kinds or payloads.
READERS = (
    "requests/web.py",
    "requests/board.py",
    "insight/silo.py",
    "insight/recognition.py",
    "insight/health.py",
    "insight/scorecard.py",
    "insight/ripple.py",
    "insight/rules.py",
    "insight/routing_service.py",
    "history/export.py",
)
CLASSES = {cls.__name__: cls for cls in PAYLOADS.values()}


def _trees() -> list[tuple[str, ast.Module]]:
    return [(name, ast.parse((SOURCE / name).read_text())) for name in READERS]


def _keys_named(tree: ast.AST) -> list[tuple[str, str]]:
    """(payload class, field) of every `Class.key("field")` in a module."""
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "key"
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id in CLASSES
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            found.append((node.func.value.id, node.args[0].value))
    return found


def test_every_key_a_reader_names_is_a_field_of_that_kinds_payload() -> None:
    named = [(module, cls, key) for module, tree in _trees() for cls, key in _keys_named(tree)]
    # The scan sees the readers' keys (a scan that finds nothing would prove nothing).
    assert {("insight/scorecard.py", "Resolved", "within_target")} <= {
        (m, c, k) for m, c, k in named
    }
    assert {"insight/silo.py", "insight/health.py", "requests/board.py"} <= {m for m, _, _ in named}
    for module, cls, key in named:
        declared = {f.name for f in fields(CLASSES[cls])}
        assert key in declared, f"{module}: {cls} has no field {key!r}"


def test_readers_name_no_payload_key_and_no_event_kind_as_a_bare_string() -> None:
    kinds = {k.value for k in EventKind}
    for module, tree in _trees():
        for node in ast.walk(tree):
            # Event.payload["waited_seconds"] and the like.
            if (
                isinstance(node, ast.Subscript)
                and isinstance(node.value, ast.Attribute)
                and node.value.attr == "payload"
            ):
                assert not isinstance(node.slice, ast.Constant), (
                    f"{module}:{node.lineno} reads payload[{node.slice.value!r}]"
                )
            # Event.kind == "resolved", kind == "accepted".
            if isinstance(node, ast.Compare):
                sides = [node.left, *node.comparators]
                about_kind = any(
                    (isinstance(s, ast.Attribute) and s.attr in ("kind", "offer_kind"))
                    or (isinstance(s, ast.Name) and s.id == "kind")
                    for s in sides
                )
                bare = [s.value for s in sides if isinstance(s, ast.Constant)]
                assert not (about_kind and set(bare) & kinds), (
                    f"{module}:{node.lineno} compares a kind with {bare}"
                )
            # Event.kind.in_(("accepted", ...)).
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "in_"
                and isinstance(node.func.value, ast.Attribute)
                and node.func.value.attr == "kind"
            ):
                constants = {
                    c.value for a in node.args for c in ast.walk(a) if isinstance(c, ast.Constant)
                }
                assert not constants & kinds, f"{module}:{node.lineno} lists kinds {constants}"


def test_a_key_the_payload_does_not_have_fails_when_asked_for() -> None:
    assert Accepted.key("waited_seconds") == "waited_seconds"
    with pytest.raises(AttributeError, match="waited"):
        Accepted.key("waited")
    # Not stored (the resumption's `why` names the sub-request), so not readable in SQL.
    with pytest.raises(AttributeError):
        Resumed.key("child_id")


def _stored(payload: Payload) -> Payload:
    """The payload as a reader gets it back: through JSON, as the database keeps it."""
    return payload.__class__(
        **{
            f.name: getattr(payload, f.name)
            for f in fields(payload)
            if f.metadata.get("stored", True) is not False
        }
    )


def _payloads(cls: type[Payload]) -> st.SearchStrategy[Payload]:
    """Any payload of the class; numbers and instants as JSON and the writers keep them."""
    hints = typing.get_type_hints(cls)
    overrides: dict[str, st.SearchStrategy[object]] = {}
    for f in fields(cls):
        hint = hints[f.name]
        if float in typing.get_args(hint) or hint is float:
            overrides[f.name] = st.floats(allow_nan=False, allow_infinity=False)
        elif datetime in typing.get_args(hint) or hint is datetime:
            overrides[f.name] = st.none() | st.datetimes(timezones=st.just(UTC))
    return st.builds(cls, **overrides)


@given(
    st.sampled_from(sorted(PAYLOADS.values(), key=lambda c: c.__name__)).flatmap(_payloads),
    st.dictionaries(
        st.sampled_from(["imported_from", "synthetic", "source_id", "activity", "status"]),
        st.one_of(st.text(max_size=5), st.booleans(), st.integers()),
    ),
)
def test_a_stored_payload_reads_back_as_written_whatever_an_import_adds(
    payload: Payload, extra: dict[str, object]
) -> None:
    document = json.loads(json.dumps({**extra, **payload.to_json()}))
    assert from_json(payload.KIND.value, document) == _stored(payload)


def test_a_value_of_the_wrong_type_leaves_the_field_at_its_default() -> None:
    # A log's own "note" column of numbers, and a bounce written as text.
    read = from_json("offered", {"note": 12, "intake": True})
    assert read == Offered(intake=True)
    assert from_json("accepted", {"bounce": "yes", "waited_seconds": 60}) == Accepted(
        waited_seconds=60.0
    )
    with pytest.raises(UnknownEventKind):
        from_json("teleported", {})


def test_a_resolution_without_a_target_is_not_measured() -> None:
    assert "within_target" not in Resolved(resolution="Fixed").to_json()
    assert Resolved(resolution="Fixed", within_target=False).to_json() == {
        "resolution": "Fixed",
        "within_target": False,
    }
    read = from_json("resolved", {"resolution": "Fixed"})
    assert isinstance(read, Resolved)
    assert read.within_target is None


def _event(kind: str, payload: dict[str, object]) -> EventOut:
    return EventOut(
        id=1,
        kind=kind,
        at=datetime(2026, 3, 2, 9, tzinfo=UTC),
        actor_id=7,
        team_id=3,
        other_team_id=None,
        person_id=None,
        payload=payload,
    )


def test_the_timeline_reads_the_typed_payload() -> None:
    people, teams = {7: "Cleo"}, {3: "Policy Admin"}
    late = describe(
        _event("resolved", {"resolution": "Fixed", "within_target": False}), people, teams
    )
    assert late.text == "Cleo resolved it (after the target)"
    assert late.detail == "Fixed"
    unmeasured = describe(
        _event("resolved", {"resolution": "Fixed", "imported_from": "log.csv"}), people, teams
    )
    assert unmeasured.text == "Cleo resolved it"
    rated = describe(
        _event("rated", Rated(understand=5, own=4, serve=3, communicate=2).to_json()), people, teams
    )
    assert rated.text == "Cleo rated it: Understand 5 · Own 4 · Serve 3 · Communicate 2"
    promise = describe(
        _event(
            "promise_made", {"promise_id": 4, "what": "Call", "due_at": "2026-03-02T15:30:00+00:00"}
        ),
        people,
        teams,
    )
    # 2 March 2026 is a Monday; 15:30 UTC is 21:00 in Kolkata (+05:30, no daylight saving).
    assert (promise.text, promise.detail) == ("Cleo promised: Call", "by Mon 2 Mar, 15:30 UTC")
    in_kolkata = describe(
        _event(
            "promise_made", {"promise_id": 4, "what": "Call", "due_at": "2026-03-02T15:30:00+00:00"}
        ),
        people,
        teams,
        clock_of("Asia/Kolkata", "en_GB"),
    )
    assert in_kolkata.detail == "by Mon 2 Mar, 21:00 IST"
    bounce = describe(_event("accepted", {"offer_id": 2, "bounce": True}), people, teams)
    assert (bounce.text, bounce.tone) == (
        "Cleo accepted and is now the owner — it bounced back to Policy Admin",
        "warn",
    )
    # A kind the product does not write is shown, not refused.
    assert describe(_event("teleported", {}), people, teams).text == "Cleo: teleported"
