"""Words typed on an action link's page that the desk cannot take (a decline's reason or a kept
promise's note longer than the desk keeps): the form again with the message beside the words
and the words kept (422), the link still unused and nothing written — on SQLite and PostgreSQL
alike — rather than a page saying the link can no longer be used."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import httpx
from sqlalchemy import func, select

from followthrough.config import Settings
from followthrough.db import Database
from followthrough.history.models import Event
from followthrough.links.models import UsedActionLink
from followthrough.links.rules import LinkAction
from followthrough.links.service import action_link
from followthrough.promises import service as promises
from followthrough.requests import service
from tests.conftest import Clock
from tests.factories import World, open_offered_fix


def _open(db: Database, world: World, clock: Clock) -> tuple[int, int]:
    with db.unit_of_work() as session:
        return open_offered_fix(session, world, clock())


def _counts(db: Database) -> tuple[int, int]:
    with db.unit_of_work(readonly=True) as session:
        events = session.scalar(select(func.count()).select_from(Event)) or 0
        used = session.scalar(select(func.count()).select_from(UsedActionLink)) or 0
        return int(events), int(used)


def _path(link: str | None) -> str:
    assert link is not None
    return urlsplit(link).path


def test_a_decline_reason_too_long_is_refused_beside_it_and_the_link_still_works(
    db: Database, world: World, clock: Clock, pages: tuple[httpx.Client, Settings]
) -> None:
    client, settings = pages
    _request_id, offer_id = _open(db, world, clock)
    path = _path(action_link(settings, world.people["cleo"], "decline_offer", offer_id, clock()))
    before = _counts(db)
    long = "Not ours: " + "x" * 10_000
    answer = client.post(path, data={"words": long})
    assert answer.status_code == 422, answer.text[:300]
    assert 'id="act-words-error"' in answer.text
    assert "longer than 10000 characters" in answer.text
    assert "Why are you declining?" in answer.text
    assert long in answer.text  # kept, to be shortened
    assert _counts(db) == before
    done = client.post(path, data={"words": "Not ours: a claims matter"})
    assert done.status_code == 200, done.text[:300]


def test_a_kept_promise_note_too_long_is_refused_beside_it(
    db: Database, world: World, clock: Clock, pages: tuple[httpx.Client, Settings]
) -> None:
    client, settings = pages
    request_id, offer_id = _open(db, world, clock)
    with db.unit_of_work() as session:
        cleo = world.actor(session, "cleo")
        service.accept_offer(session, cleo, request_id, offer_id, clock())
        promise = promises.make_promise(
            session, cleo, request_id, "Call the customer", clock() + timedelta(hours=2), clock()
        )
        promise_id = promise.id
    link = action_link(settings, world.people["cleo"], LinkAction.KEEP_PROMISE, promise_id, clock())
    path = _path(link)
    before = _counts(db)
    answer = client.post(path, data={"words": "Called. " + "x" * 2_000})
    assert answer.status_code == 422, answer.text[:300]
    assert 'id="act-words-error"' in answer.text
    assert "longer than 2000 characters" in answer.text
    assert _counts(db) == before
    assert client.post(path, data={"words": "Called the customer"}).status_code == 200
