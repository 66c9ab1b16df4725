"""Every refused value said in plain words, naming the field as its page labels it; the API says
the same after the field's API name. A state badge in words; one name per timescale source.

Expected sentences are written out here, not taken from the code that makes them.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator

import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select

from followthrough.db import Database
from followthrough.requests.models import Offer
from followthrough.requests.service import (
    NewRequest,
    accept_offer,
    open_request,
    resolve_request,
)
from followthrough.timescale.rules import SOURCE_NAMES, EstimateBasis, source_of, with_source
from followthrough.web.pages import state_words
from followthrough.web.problems import what_is_wrong
from tests.conftest import Clock, LiveServer
from tests.factories import World
from tests.web.pages import Visitor

ERROR = re.compile(r'<(?:p|span) class="error"[^>]*>(.*?)</(?:p|span)>', re.S)
# What pydantic, a field's API name or a programmer would say, never a person.
JARGON = re.compile(
    r"String should|Input should|Value error|Field required|_id\b|\w_\w|"
    r"Please fill this in|Enter a whole number|invalid literal|regex|pattern",
)


class _Sample(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=1, max_length=200)
    customers: int = Field(default=0, ge=0)
    hours: float = Field(default=1.0, gt=0, le=365)
    day_start: str = Field(default="09:00", pattern=r"^\d{2}:\d{2}$")


def _wrong(**values: object) -> list[str]:
    with pytest.raises(ValidationError) as refused:
        _Sample.model_validate(values)
    return [what_is_wrong(error) for error in refused.value.errors()]


def test_each_kind_of_refused_value_is_said_in_plain_words() -> None:
    assert _wrong(title="x" * 250) == ["must be at most 200 characters (this has 250)"]
    assert _wrong(title="") == ["must not be empty"]
    assert _wrong() == ["is required"]
    assert _wrong(title="t", customers="") == ["is required"]
    assert _wrong(title="t", customers="many") == ["must be a whole number"]
    assert _wrong(title="t", customers=-1) == ["must not be negative"]
    assert _wrong(title="t", hours=0) == ["must be more than 0"]
    assert _wrong(title="t", hours=400) == ["must be 365 or less"]
    assert _wrong(title="t", day_start="9") == ["must be a time of day like 09:00"]
    assert _wrong(title="t", colour="red") == ["is not a field this accepts"]


def test_the_api_names_the_field_by_its_api_name_in_plain_words(
    live_server: LiveServer, tokens: dict[str, str]
) -> None:
    answer = live_server.client(tokens["asha"]).post(
        "/requests", json={"title": "x" * 250, "need": "n"}
    )
    assert answer.status_code == 422
    body = answer.json()
    assert body["detail"] == "title must be at most 200 characters (this has 250)"
    assert body["errors"] == [
        {"field": "title", "message": "must be at most 200 characters (this has 250)"}
    ]


@pytest.fixture
def visit(live_server: LiveServer) -> Iterator[Callable[[str], Visitor]]:
    visitors: dict[str, Visitor] = {}

    def signed_in(handle: str) -> Visitor:
        if handle not in visitors:
            visitors[handle] = Visitor(live_server.base_url)
            assert visitors[handle].sign_in(handle).status_code == 303
        return visitors[handle]

    yield signed_in
    for visitor in visitors.values():
        visitor.close()


def _errors(page: str) -> list[str]:
    return [html.unescape(m).strip() for m in ERROR.findall(page)]


def test_every_form_of_a_request_says_what_is_wrong_naming_the_field_as_labelled(
    db: Database, world: World, clock: Clock, visit: Callable[[str], Visitor]
) -> None:
    with db.unit_of_work() as session:
        rid = open_request(
            session,
            world.actor(session, "otto"),
            NewRequest(
                title="Correct my policy schedule",
                need="The schedule names the wrong car",
                service_id=world.services["correct_policy"],
            ),
            clock.now,
        ).id
        offer = session.scalars(select(Offer.id).where(Offer.request_id == rid)).one()
        accept_offer(session, world.actor(session, "dan"), rid, offer, clock.now)
    dan = visit("dan")
    long = "x" * 5001
    said: dict[str, list[str]] = {}
    for name, path, form in [
        ("update", "updates", {"body": ""}),
        ("promise", "promises", {"what": "", "due_at": "2020-01-01T10:00"}),
        ("promise date", "promises", {"what": "Call back", "due_at": "soon"}),
        ("question", "clarification", {"question": long}),
        ("resolution", "resolve", {"resolution": "  "}),
        ("pause", "wait", {"reason": "nonsense", "note": ""}),
        ("version", "updates", {"body": "x", "version": "zz"}),
    ]:
        page = dan.post(f"/requests/{rid}/{path}", form)
        assert page.status_code in (409, 422), name
        said[name] = _errors(page.text)
    assert said["update"] == ["\u201cUpdate\u201d must not be empty."]
    assert said["promise"] == ["\u201cWhat will you do?\u201d must not be empty."]
    assert said["promise date"] == ["\u201cBy when?\u201d must be a date and time."]
    assert said["question"] == [
        "\u201cQuestion\u201d must be at most 5,000 characters (this has 5,001)."
    ]
    assert said["resolution"] == ["\u201cWhat was done?\u201d must not be empty."]
    assert said["pause"] == [
        "\u201cWaiting on\u201d must be one of the choices given.",
        "\u201cWhat are you waiting for?\u201d must not be empty.",
    ]
    assert said["version"] == []  # said at the top: "The page is out of date; reload it …"
    past = dan.post(f"/requests/{rid}/promises", {"what": "Call", "due_at": "2020-01-01T10:00"})
    assert _errors(past.text) == ["\u201cBy when?\u201d must be in the future."]
    for name, messages in said.items():
        for message in messages:
            assert not JARGON.search(message), f"{name}: {message}"
    with db.unit_of_work() as session:
        resolve_request(session, world.actor(session, "dan"), rid, "Fixed", clock.now)
    otto = visit("otto")
    rating = otto.post(f"/requests/{rid}/rating", {"own": "4"})
    assert _errors(rating.text) == [
        "\u201cUnderstand\u201d is required.",
        "\u201cServe\u201d is required.",
        "\u201cCommunicate\u201d is required.",
    ]


def test_admin_and_game_forms_name_their_fields_in_words(
    world: World, visit: Callable[[str], Visitor]
) -> None:
    ada = visit("ada")
    team = ada.post(
        "/admin/teams",
        {"name": "", "department_id": "", "timezone": "Europe/London", "working_days": "9"},
    )
    messages = _errors(team.text)
    assert "\u201cName\u201d must not be empty." in messages
    assert (
        "\u201cWorking days\u201d must be the working days as digits from 1 (Monday) to 7 "
        "(Sunday), like 12345." in messages
    )
    game = ada.post(
        "/practice/new",
        {
            "title": "T",
            "scenario": "insurance",
            "teams": "Blue",
            "rounds": "x",
            "days_per_round": "91",
            "budget_per_round": "1000",
            "replications": "2",
        },
    )
    assert "\u201cRounds\u201d must be a number." in _errors(game.text)
    for message in [*messages, *_errors(game.text)]:
        assert not JARGON.search(message), message


@pytest.mark.parametrize(
    ("state", "waiting_on", "badge"),
    [
        ("needs_clarification", "clarification", "needs clarification"),
        ("waiting", "requester", "waiting on the requester"),
        ("waiting", "sub_request", "waiting on a sub-request"),
        ("waiting", "outside", "waiting on someone outside"),
        ("in_progress", None, "in progress"),
    ],
)
def test_a_state_badge_says_the_state_once_in_words(
    state: str, waiting_on: str | None, badge: str
) -> None:
    assert state_words(state, waiting_on) == badge


def test_each_timescale_source_has_one_name_that_reads_back() -> None:
    assert len(set(SOURCE_NAMES.values())) == len(EstimateBasis)
    said = with_source(
        "8 in 10 similar requests were resolved within 2 business days", EstimateBasis.HISTORY
    )
    assert said.endswith("(this service's record)")
    assert source_of(said) is EstimateBasis.HISTORY
    calibrated = with_source(
        "8 in 10 similar requests are resolved within 3 business days", EstimateBasis.CALIBRATED
    )
    assert source_of(calibrated) is EstimateBasis.CALIBRATED
    too_little = with_source(
        "More than 3 business days; too little history to be sure", EstimateBasis.TOO_LITTLE_HISTORY
    )
    assert too_little == "More than 3 business days; too little history to be sure"
    assert source_of(too_little) is EstimateBasis.TOO_LITTLE_HISTORY
    # Requests estimated before the names keep their meaning.
    assert source_of("… within 2 business days (from history)") is EstimateBasis.HISTORY
    assert source_of("… within 2 business days (calibrated model)") is EstimateBasis.CALIBRATED


def test_the_api_names_the_timescale_source_as_the_pages_do(
    world: World, live_server: LiveServer, tokens: dict[str, str]
) -> None:
    service = world.services["correct_policy"]
    answer = live_server.client(tokens["asha"]).get(f"/services/{service}/timescale").json()
    assert answer["source_name"] == SOURCE_NAMES[EstimateBasis(answer["source"])]
    assert answer["source_name"] in answer["basis"]
