"""Search's visible set is the access rule's, however a desk's rows come to change.

Each search document carries scope tokens kept by the database's triggers (migration
b3f81d6c2e47), and a search narrows by them inside the full-text index. These tests change a
desk's rows at random (who raised, owns and holds requests, who takes part, offers opened,
answered and withdrawn, confidentiality, which team owns a service) and check after every few
changes, for every person of the world and for made-up viewers (no team, several teams, an admin
in a team), that search finds and counts exactly what `requests.access.readable_requests`
answers. Then the bulk path (`search.documents`) must make the very documents the triggers
made.
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select, text, update
from sqlalchemy.orm import Session

from followthrough.cases.models import Case, RequestCase
from followthrough.db import Database
from followthrough.history.models import Event
from followthrough.org.actors import Actor
from followthrough.org.models import Service
from followthrough.requests.access import readable_requests
from followthrough.requests.models import Offer, Request, RequestParticipant, RequestUpdate
from followthrough.search import documents, rules, service
from followthrough.search.models import RequestSearch
from tests.conftest import T0
from tests.factories import World

WORD = "ferret"  # in every request's title: a search for it should find all a viewer may read


def _viewers(world: World, session: Session) -> list[Actor]:
    people = world.people
    teams = world.teams
    made_up = [
        Actor(person_id=people["otto"]),  # no team at all
        Actor(person_id=people["asha"], team_ids=frozenset(teams.values())),  # every team
        Actor(person_id=people["ada"], is_admin=True, team_ids=frozenset({teams["hr"]})),
        Actor(person_id=people["cleo"], team_ids=frozenset({teams["hr"], teams["claims"]})),
    ]
    return [world.actor(session, handle) for handle in people] + made_up


def _readable(session: Session, viewer: Actor) -> set[int]:
    return set(session.scalars(readable_requests(viewer).with_only_columns(Request.id)))


def _found(session: Session, viewer: Actor) -> tuple[set[int], int]:
    found = service.search_requests(session, viewer, rules.parse(WORD), limit=500)
    return {hit.id for hit in found.items}, found.total


class RandomDesk:
    """Changes rows the way any writer might (services, importer, a person with psql)."""

    def __init__(self, world: World, seed: int) -> None:
        self.rng = random.Random(seed)
        self.people = list(world.people.values())
        self.teams = list(world.teams.values())
        self.services = list(world.services.values())
        self.n = 0

    def _request(self, session: Session) -> Request | None:
        ids = list(session.scalars(select(Request.id)))
        return session.get(Request, self.rng.choice(ids)) if ids else None

    def step(self, session: Session) -> None:
        rng = self.rng
        choice = rng.randrange(1, 10)
        request = self._request(session)
        if request is None or rng.random() < 0.2:
            self.n += 1
            service_id = rng.choice([*self.services, None])
            svc = session.get(Service, service_id) if service_id else None
            session.add(
                Request(
                    title=f"{WORD} number {self.n}",
                    need=f"need {self.n}",
                    requester_id=rng.choice(self.people),
                    service_id=service_id,
                    team_id=rng.choice(self.teams),
                    owner_id=rng.choice(self.people),
                    confidential=svc.confidential if svc else rng.random() < 0.2,
                    opened_at=T0 + timedelta(minutes=self.n),
                )
            )
        elif choice == 1:
            person = rng.choice(self.people)
            if session.get(RequestParticipant, (request.id, person)) is None:
                session.add(RequestParticipant(request_id=request.id, person_id=person))
        elif choice == 2:
            session.execute(
                delete(RequestParticipant).where(RequestParticipant.request_id == request.id)
            )
        elif choice == 3:
            session.add(
                Offer(
                    request_id=request.id,
                    from_person_id=rng.choice(self.people),
                    to_team_id=rng.choice(self.teams),
                    to_person_id=rng.choice([*self.people, None, None]),
                    offered_at=T0,
                    due_at=T0,
                )
            )
        elif choice == 4:
            offers = list(session.scalars(select(Offer).where(Offer.request_id == request.id)))
            if offers:
                offer = rng.choice(offers)
                offer.state = rng.choice(["accepted", "declined", "expired", "open"])
                if rng.random() < 0.3:
                    offer.to_team_id = rng.choice(self.teams)
        elif choice == 5:
            session.execute(delete(Offer).where(Offer.request_id == request.id))
        elif choice == 6:
            field = rng.choice(["team_id", "owner_id", "requester_id"])
            pool = self.teams if field == "team_id" else self.people
            setattr(request, field, rng.choice(pool))
        elif choice == 7:
            request.confidential = not request.confidential
            request.service_id = rng.choice([*self.services, None])
        elif choice == 8:
            session.execute(
                update(Service)
                .where(Service.id == rng.choice(self.services))
                .values(team_id=rng.choice(self.teams))
            )
        else:
            self.n += 1
            session.add(
                RequestUpdate(
                    request_id=request.id,
                    author_id=request.owner_id,
                    body=f"update {self.n}",
                    posted_at=T0,
                )
            )
            if rng.random() < 0.5:
                case = Case(reference=f"REF-{self.n}", customer=f"Customer {self.n}", created_at=T0)
                session.add(case)
                session.flush()
                session.add(RequestCase(request_id=request.id, case_id=case.id))
            if rng.random() < 0.5:  # a conversation's words are in the document, others' not
                kind = rng.choice(["clarification_asked", "clarification_answered", "reopened"])
                key = "answer" if kind == "clarification_answered" else "question"
                session.add(
                    Event(
                        kind=kind,
                        at=T0,
                        request_id=request.id,
                        actor_id=request.requester_id,
                        payload={key: f"said {self.n}"},
                    )
                )
        session.flush()


def _documents(session: Session) -> list[tuple[Any, ...]]:
    vector = "vector::text" if session.get_bind().dialect.name == "postgresql" else "''"
    return [
        tuple(row)
        for row in session.execute(
            text(
                f"SELECT request_id, title, body, cases, scope, {vector} FROM request_search"
                " ORDER BY request_id"
            )
        )
    ]


def test_search_finds_and_counts_exactly_what_the_access_rule_lets_each_viewer_read(
    db: Database, world: World
) -> None:
    desk = RandomDesk(world, seed=12)
    checked = 0
    for round_ in range(12):
        with db.unit_of_work() as session:
            for _ in range(15):
                desk.step(session)
        with db.unit_of_work(readonly=True) as session:
            for viewer in _viewers(world, session):
                readable = _readable(session, viewer)
                found, total = _found(session, viewer)
                assert found == readable, (round_, viewer)
                assert total == len(readable), (round_, viewer)
                checked += len(readable)
    assert checked > 500  # the viewers could read plenty: the equality was not of empty sets


def test_the_bulk_path_makes_the_documents_the_triggers_made(db: Database, world: World) -> None:
    desk = RandomDesk(world, seed=7)
    with db.unit_of_work() as session:
        for _ in range(150):
            desk.step(session)
    with db.unit_of_work(readonly=True) as session:
        kept_by_triggers = _documents(session)
    assert len(kept_by_triggers) > 10
    # Every part of a document was there to make: updates, cases and a conversation's words.
    bodies = " ".join(d[2] for d in kept_by_triggers)
    assert "update" in bodies
    assert "said" in bodies
    assert any(d[3] for d in kept_by_triggers)

    with db.unit_of_work() as session:
        connection = session.connection()
        suspended = documents.suspend_triggers(connection)
        session.execute(delete(RequestSearch))
        documents.rebuild_documents(connection)
        documents.rebuild_case_index(connection)
        documents.resume_triggers(connection, suspended)
    with db.unit_of_work(readonly=True) as session:
        assert _documents(session) == kept_by_triggers
        for viewer in _viewers(world, session):
            found, total = _found(session, viewer)
            assert found == _readable(session, viewer)
            assert total == len(found)

    # The triggers are back: a change after the bulk load keeps its document.
    with db.unit_of_work() as session:
        desk.n = 10_000
        for _ in range(40):
            desk.step(session)
    with db.unit_of_work() as session:
        before = _documents(session)
        documents.rebuild_documents(session.connection())
        assert _documents(session) == before


def test_documents_are_not_kept_while_the_triggers_are_suspended(
    db: Database, world: World
) -> None:
    """So a bulk loader must rebuild what it wrote (and the rebuild finds it)."""
    with db.unit_of_work() as session:
        suspended = documents.suspend_triggers(session.connection())
        request = Request(
            title=f"{WORD} loaded in bulk",
            need="n",
            requester_id=world.people["otto"],
            team_id=world.teams["admin"],
            owner_id=world.people["dan"],
            opened_at=T0,
        )
        session.add(request)
        session.flush()
        assert _documents(session) == []
        documents.rebuild_documents(session.connection(), request.id, request.id)
        documents.resume_triggers(session.connection(), suspended)
    with db.unit_of_work(readonly=True) as session:
        otto = world.actor(session, "otto")
        assert _found(session, otto) == ({request.id}, 1)
