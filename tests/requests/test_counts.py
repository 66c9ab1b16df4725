"""True counts: every number beside a list is a COUNT of the whole list (never its cap), through
the access rule; "see all" pages through every row exactly once, in the order of what is due.

The expected numbers and orders are read straight from the tables here, not through the board.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from followthrough.db import Database
from followthrough.errors import InvalidInput, NotAllowed
from followthrough.history.models import Event
from followthrough.promises.service import make_promise
from followthrough.requests import board, service
from followthrough.requests.access import may_read
from followthrough.requests.models import Offer, Request
from followthrough.sweeper.service import sweep
from tests.conftest import Clock
from tests.factories import World

MANY = 77  # more than any list shows before "see all" and more than one page of any full list


def _open_many(
    db: Database, world: World, clock: Clock, count: int, handle: str = "asha", **extra: object
) -> list[int]:
    """`count` requests, a minute apart (so each is due a minute after the one before)."""
    ids = []
    with db.unit_of_work() as session:
        actor = world.actor(session, handle)
        for n in range(count):
            fields: dict[str, object] = {
                "title": f"Policy P-{n:03} has the wrong address",
                "need": "Correct it",
                "service_id": world.services["correct_policy"],
                **extra,
            }
            request = service.open_request(
                session,
                actor,
                service.NewRequest(**fields),  # type: ignore[arg-type]
                clock.now + timedelta(minutes=n),
            )
            ids.append(request.id)
    return ids


def _walk(fetch: Callable[[int], board.Listed[Any]]) -> tuple[list[board.Listed[Any]], list[Any]]:
    """Every page of a full list, following "next" until there is none."""
    pages: list[board.Listed[Any]] = []
    rows: list[Any] = []
    number = 1
    while True:
        listed = fetch(number)
        pages.append(listed)
        rows.extend(listed.items)
        if not listed.more:
            return pages, rows
        number += 1


def _open_offers_to(session: Session, team_id: int) -> list[tuple[int, datetime]]:
    """(offer id, due) of the open offers to a team, soonest due first (ties by id)."""
    return [
        (r[0], r[1])
        for r in session.execute(
            select(Offer.id, Offer.due_at)
            .where(Offer.state == "open", Offer.to_team_id == team_id)
            .order_by(Offer.due_at, Offer.id)
        )
    ]


def test_offers_and_escalations_are_counted_in_full_and_see_all_lists_each_once(
    db: Database, world: World, clock: Clock
) -> None:
    ids = _open_many(db, world, clock, MANY)
    admin = world.teams["admin"]
    with db.unit_of_work(readonly=True) as session:
        expected_offers = _open_offers_to(session, admin)
        assert len(expected_offers) == MANY
        cleo = world.actor(session, "cleo")
        now = clock.now + timedelta(minutes=MANY)
        home = board.needs_me(session, cleo, now)
        assert home.offers.total == MANY
        assert len(home.offers.items) == board.HOME_PREVIEW
        assert [o.offer_id for o in home.offers.items] == [
            o for o, _ in expected_offers[: board.HOME_PREVIEW]
        ]
        assert board.nav_counts(session, cleo, now).needs_me == MANY

        pages, rows = _walk(lambda n: board.home_list(session, cleo, now, "offers", n))
        assert [(p.first, p.last, p.total) for p in pages] == [
            (1, 25, MANY),
            (26, 50, MANY),
            (51, 75, MANY),
            (76, 77, MANY),
        ]
        assert [o.offer_id for o in rows] == [o for o, _ in expected_offers]

        queue_offers, rows = _walk(lambda n: board.team_offers(session, cleo, admin, n))
        assert queue_offers[0].total == MANY
        assert [len(p.items) for p in queue_offers] == [20, 20, 20, 17]
        assert sorted(o.offer_id for o in rows) == sorted(o for o, _ in expected_offers)
        queue, rows = _walk(lambda n: board.team_queue(session, cleo, admin, now, (), n))
        assert queue[0].total == MANY
        assert [len(p.items) for p in queue] == [50, 27]
        assert sorted(q.request_id for q in rows) == sorted(ids)

    # Nobody accepts in time: one sweep escalates all of them to the lead.
    clock.advance(hours=4)
    sweep(db, clock.now)
    late = _open_many(db, world, clock, 1, title="The latest one")[0]
    clock.advance(hours=3)
    sweep(db, clock.now)  # the latest one's offer is escalated now, after all the others
    with db.unit_of_work(readonly=True) as session:
        escalations = list(
            session.execute(
                select(Event.request_id, Event.at).where(
                    Event.kind.in_(("escalated", "update_escalated")), Event.team_id == admin
                )
            )
        )
        assert len(escalations) > MANY
        lee = world.actor(session, "lee")
        lead = board.lead_board(session, lee, admin, clock.now)
        assert lead.escalations.total == len(escalations)
        assert len(lead.escalations.items) == board.BOARD_PREVIEW
        assert late in [e.request_id for e in lead.escalations.items]
        assert lead.offers.total == MANY + 1
        pages, rows = _walk(
            lambda n: board.board_list(session, lee, admin, clock.now, "escalations", n)
        )
        assert len(pages) == -(-len(escalations) // board.PAGE_SIZE)
        assert sorted((e.request_id, e.at) for e in rows) == sorted(escalations)
        assert [e.at for e in rows] == sorted((e.at for e in rows), reverse=True)

        escalated_requests = {rid for rid, _ in escalations}
        home = board.needs_me(session, lee, clock.now)
        assert home.escalations.total == len(escalated_requests)
        assert late in [e.request_id for e in home.escalations.items]
        pages, rows = _walk(lambda n: board.home_list(session, lee, clock.now, "escalations", n))
        assert sorted(e.request_id for e in rows) == sorted(escalated_requests)
        # The badge: the offers to the lead's team and the requests escalated to the lead.
        assert board.nav_counts(session, lee, clock.now).needs_me == MANY + 1 + len(
            escalated_requests
        )


def test_the_lists_due_first_are_ordered_by_due_time_not_by_id(
    db: Database, world: World, clock: Clock
) -> None:
    first = _open_many(db, world, clock, 3)
    with db.unit_of_work() as session:
        cleo = world.actor(session, "cleo")
        for rid in first:
            offer = service.open_offer_of(session, rid)
            assert offer is not None
            service.accept_offer(session, cleo, rid, offer.id, clock.now)
        # Promises made in the opposite order of their due times.
        for n, rid in enumerate(first):
            make_promise(
                session, cleo, rid, f"Call {n}", clock.now + timedelta(hours=5 - n), clock.now
            )
    with db.unit_of_work(readonly=True) as session:
        cleo = world.actor(session, "cleo")
        home = board.needs_me(session, cleo, clock.now)
        assert [p.what for p in home.promises_due.items] == ["Call 2", "Call 1", "Call 0"]
        asha = world.actor(session, "asha")
        mine = board.needs_me(session, asha, clock.now)
        assert [p.what for p in mine.promises_to_me.items] == ["Call 2", "Call 1", "Call 0"]
        assert {p.made_by for p in mine.promises_to_me.items} == {"Cleo Clerk"}
        due = list(
            session.execute(
                select(Request.id, Request.next_update_due_at)
                .where(Request.requester_id == world.people["asha"])
                .order_by(Request.next_update_due_at, Request.id)
            )
        )
        assert [r.request_id for r in mine.my_requests.items] == [r[0] for r in due]
        assert [r.owner for r in mine.my_requests.items] == ["Cleo Clerk"] * 3


def test_counts_hold_only_what_the_viewer_may_read(
    db: Database, world: World, clock: Clock
) -> None:
    """An admin may open any team's board, but a confidential grievance is HR's alone."""
    grievances = _open_many(db, world, clock, 3, "otto", service_id=world.services["grievance"])
    normal = _open_many(db, world, clock, 2, "otto")
    clock.advance(hours=80)
    sweep(db, clock.now)
    hr, admin = world.teams["hr"], world.teams["admin"]
    with db.unit_of_work(readonly=True) as session:
        ada, hana = world.actor(session, "ada"), world.actor(session, "hana")
        requests = {r.id: r for r in session.scalars(select(Request))}
        for viewer, team in ((ada, hr), (hana, hr), (ada, admin)):
            readable = {rid for rid, r in requests.items() if may_read(session, viewer, r)}
            offers = [
                o
                for o in session.scalars(select(Offer).where(Offer.state == "open"))
                if o.to_team_id == team and o.request_id in readable
            ]
            escalations = int(
                session.scalar(
                    select(func.count())
                    .select_from(Event)
                    .where(
                        Event.team_id == team,
                        Event.kind.in_(board.ESCALATION_KINDS),
                        Event.request_id.in_(readable),
                    )
                )
                or 0
            )
            lead = board.lead_board(session, viewer, team, clock.now)
            assert lead.offers.total == len(offers)
            assert lead.escalations.total == escalations
            assert board.team_queue(session, viewer, team, clock.now).total == len(
                {rid for rid in readable if requests[rid].team_id == team}
            )
        assert board.lead_board(session, ada, hr, clock.now).offers.total == 0
        assert board.lead_board(session, hana, hr, clock.now).offers.total == len(grievances)
        assert board.lead_board(session, ada, admin, clock.now).offers.total == len(normal)
        # Otto raised all five and reads all five: his own requests are his, confidential or not.
        otto = world.actor(session, "otto")
        assert board.needs_me(session, otto, clock.now).my_requests.total == 5
        with pytest.raises(NotAllowed):
            board.board_list(session, hana, admin, clock.now, "offers")


def test_questions_to_the_requester_are_on_home_and_in_the_badge(
    db: Database, world: World, clock: Clock
) -> None:
    rid = _open_many(db, world, clock, 1)[0]
    with db.unit_of_work() as session:
        cleo = world.actor(session, "cleo")
        offer = service.open_offer_of(session, rid)
        assert offer is not None
        service.accept_offer(session, cleo, rid, offer.id, clock.now)
    with db.unit_of_work(readonly=True) as session:
        assert board.nav_counts(session, world.actor(session, "asha"), clock.now).needs_me == 0
    clock.advance(minutes=10)
    with db.unit_of_work() as session:
        service.ask_clarification(
            session, world.actor(session, "cleo"), rid, "Which address is right?", clock.now
        )
    with db.unit_of_work(readonly=True) as session:
        asha = world.actor(session, "asha")
        home = board.needs_me(session, asha, clock.now)
        assert home.questions.total == 1
        (question,) = home.questions.items
        assert (question.request_id, question.question, question.asked_by) == (
            rid,
            "Which address is right?",
            "Cleo Clerk",
        )
        assert board.nav_counts(session, asha, clock.now).needs_me == 1
        # Nobody else owes the answer.
        assert board.needs_me(session, world.actor(session, "cleo"), clock.now).questions.total == 0
    with db.unit_of_work() as session:
        service.answer_clarification(
            session, world.actor(session, "asha"), rid, "The one on the claim", clock.now
        )
    with db.unit_of_work(readonly=True) as session:
        asha = world.actor(session, "asha")
        assert board.needs_me(session, asha, clock.now).questions.total == 0
        assert board.nav_counts(session, asha, clock.now).needs_me == 0


def test_a_page_past_the_end_shows_the_last_page_and_a_wrong_list_is_refused(
    db: Database, world: World, clock: Clock
) -> None:
    _open_many(db, world, clock, 30)
    with db.unit_of_work(readonly=True) as session:
        cleo = world.actor(session, "cleo")
        last = board.home_list(session, cleo, clock.now, "offers", 9)
        assert (last.first, last.last, last.total, last.page) == (26, 30, 30, 2)
        empty = board.home_list(session, cleo, clock.now, "escalations", 3)
        assert (empty.items, empty.total) == ([], 0)
        with pytest.raises(InvalidInput):
            board.home_list(session, cleo, clock.now, "everything")
        with pytest.raises(InvalidInput):
            board.home_list(session, cleo, clock.now, "offers", 0)


def test_escalations_raised_by_one_catching_up_sweep_put_the_latest_missed_first(
    db: Database, world: World, clock: Clock
) -> None:
    """A sweeper that was down raises many escalations at one moment: the request that went
    wrong most recently is at the top of the lead's Home and board, not behind the old ones."""
    ids = _open_many(db, world, clock, 30)
    clock.advance(days=3)
    sweep(db, clock.now)
    with db.unit_of_work(readonly=True) as session:
        requests = list(session.scalars(select(Request).where(Request.id.in_(ids))))
        at = set(session.scalars(select(Event.at).where(Event.kind.in_(board.ESCALATION_KINDS))))
        assert at == {clock.now}  # all raised by the one sweep

        def missed(r: Request) -> datetime:
            dues = [d for d in (r.next_update_due_at, r.resolve_due_at) if d is not None]
            return min(dues)

        expected = [r.id for r in sorted(requests, key=missed, reverse=True)]
        assert expected[0] == ids[-1]  # the last one opened fell due last
        lee = world.actor(session, "lee")
        home = board.needs_me(session, lee, clock.now)
        assert [e.request_id for e in home.escalations.items] == expected[: board.HOME_PREVIEW]
        _, rows = _walk(
            lambda n: board.board_list(
                session, lee, world.teams["admin"], clock.now, "escalations", n
            )
        )
        # A request may have been escalated twice in that sweep (its offer and its update).
        assert list(dict.fromkeys(e.request_id for e in rows)) == expected
