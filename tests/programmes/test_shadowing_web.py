"""The job-shadowing pages over real HTTP: a host offers a slot, someone from another department
books it, a third is refused, the guest reflects afterwards and both teams read it."""

from __future__ import annotations

from sqlalchemy import select

from followthrough.db import Database
from followthrough.notify.models import Notification
from followthrough.programmes.shadowing_models import ShadowingBooking, ShadowingSlot
from tests.conftest import Clock, LiveServer, at_once
from tests.factories import World
from tests.web.pages import Visitor

REFLECTION = "Every policy change is checked twice by hand."


def visitor(live_server: LiveServer, handle: str) -> Visitor:
    person = Visitor(live_server.base_url)
    assert person.sign_in(handle).status_code == 303
    return person


def test_offer_book_refuse_and_reflect_through_the_pages(
    db: Database, world: World, clock: Clock, live_server: LiveServer
) -> None:
    # The clock starts on Monday 2 March 2026, 09:00 UTC; everyone's clock is UTC.
    cleo = visitor(live_server, "cleo")
    asha = visitor(live_server, "asha")
    lee = visitor(live_server, "lee")
    hana = visitor(live_server, "hana")
    try:
        page = cleo.get("/shadowing")
        assert page.status_code == 200
        assert "Offer a slot" in page.text
        team = str(world.teams["admin"])
        refused = cleo.post("/shadowing/slots", {"team": team, "starts_at": "", "ends_at": ""})
        assert refused.status_code == 422
        late = {"team": team, "starts_at": "2026-03-03T16:00", "ends_at": "2026-03-03T18:00"}
        refused = cleo.post("/shadowing/slots", late)
        assert refused.status_code == 422
        assert "working hours" in refused.text
        slot = {"team": team, "starts_at": "2026-03-03T10:00", "ends_at": "2026-03-03T12:00"}
        assert cleo.post("/shadowing/slots", slot).status_code == 303
        assert "not booked yet" in cleo.get("/shadowing").text

        # Lee is in the host's own department: the slot is not offered to him.
        assert "Cleo Clerk" not in lee.get("/shadowing").text
        offered = asha.get("/shadowing").text
        assert "Cleo Clerk" in offered
        slot_id = int(offered.split('action="/shadowing/slots/')[1].split("/")[0])
        assert asha.post(f"/shadowing/slots/{slot_id}/book", {}).status_code == 303
        assert "you shadow Cleo Clerk of Policy Admin" in asha.get("/shadowing").text
        assert "Asha Assessor shadows you" in cleo.get("/shadowing").text
        taken = hana.post(f"/shadowing/slots/{slot_id}/book", {})
        assert taken.status_code == 409
        with db.unit_of_work(readonly=True) as session:
            booking_id = session.scalars(select(ShadowingBooking.id)).one()
            calendars = session.scalars(
                select(Notification.calendar).where(Notification.kind == "shadowing")
            ).all()
        assert len(calendars) == 2
        assert all(c is not None and "METHOD:REQUEST" in c for c in calendars)
        # Someone else's booking is as if it did not exist.
        assert hana.post(f"/shadowing/bookings/{booking_id}/cancel", {}).status_code == 404

        clock.advance(days=1, hours=4)  # Tuesday 13:00: the visit is over
        empty = asha.post(f"/shadowing/bookings/{booking_id}/reflection", {"reflection": " "})
        assert empty.status_code == 422
        written = asha.post(
            f"/shadowing/bookings/{booking_id}/reflection", {"reflection": REFLECTION}
        )
        assert written.status_code == 303
        assert written.headers["location"] == "/shadowing/reflections"
        # Both teams read it (Policy Admin's lead too); HR does not.
        assert REFLECTION in lee.get("/shadowing/reflections").text
        assert REFLECTION in cleo.get("/shadowing/reflections").text
        assert REFLECTION not in hana.get("/shadowing/reflections").text
    finally:
        for person in (cleo, asha, lee, hana):
            person.close()


def test_a_slot_withdrawn_and_booked_at_the_same_moment_ends_one_or_the_other(
    db: Database, world: World, live_server: LiveServer
) -> None:
    cleo = visitor(live_server, "cleo")
    guests = [visitor(live_server, handle) for handle in ("asha", "hana")]
    team = str(world.teams["admin"])
    try:
        for hour in (9, 10, 11, 12, 13, 14):
            slot = {
                "team": team,
                "starts_at": f"2026-03-04T{hour:02d}:00",
                "ends_at": f"2026-03-04T{hour:02d}:50",
            }
            assert cleo.post("/shadowing/slots", slot).status_code == 303
            with db.unit_of_work(readonly=True) as session:
                slot_id = max(session.scalars(select(ShadowingSlot.id)))
            answers = at_once(
                [lambda slot_id=slot_id: cleo.post(f"/shadowing/slots/{slot_id}/withdraw", {})]
                + [
                    lambda guest=guest, slot_id=slot_id: guest.post(
                        f"/shadowing/slots/{slot_id}/book", {}
                    )
                    for guest in guests
                ]
            )
            assert sorted(a.status_code for a in answers) == [303, 409, 409]
            with db.unit_of_work(readonly=True) as session:
                withdrawn = session.get(ShadowingSlot, slot_id).withdrawn_at is not None
                live = session.scalars(
                    select(ShadowingBooking.id).where(
                        ShadowingBooking.slot_id == slot_id,
                        ShadowingBooking.cancelled_at.is_(None),
                    )
                ).all()
            # Never both: a guest invited to a visit the host has taken back.
            assert (withdrawn, len(live)) in ((True, 0), (False, 1))
    finally:
        cleo.close()
        for guest in guests:
            guest.close()


def test_a_slot_booked_meanwhile_says_so_on_the_page(world: World, live_server: LiveServer) -> None:
    cleo = visitor(live_server, "cleo")
    asha = visitor(live_server, "asha")
    hana = visitor(live_server, "hana")
    try:
        slot = {
            "team": str(world.teams["admin"]),
            "starts_at": "2026-03-03T10:00",
            "ends_at": "2026-03-03T12:00",
        }
        assert cleo.post("/shadowing/slots", slot).status_code == 303
        offered = hana.get("/shadowing").text  # hana's page shows the slot as free
        slot_id = int(offered.split('action="/shadowing/slots/')[1].split("/")[0])
        assert asha.post(f"/shadowing/slots/{slot_id}/book", {}).status_code == 303
        taken = hana.post(f"/shadowing/slots/{slot_id}/book", {})
        assert taken.status_code == 409
        assert "Someone has already booked this slot" in taken.text
    finally:
        for person in (cleo, asha, hana):
            person.close()
