"""A small insurer for tests: claims and policy administration, and the people of the story."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from followthrough.auth.service import hash_password
from followthrough.org import service as org
from followthrough.org.service import actor_for
from followthrough.requests.rules import Actor

PASSWORD = "correct horse battery"


@dataclass
class World:
    people: dict[str, int] = field(default_factory=dict)
    teams: dict[str, int] = field(default_factory=dict)
    services: dict[str, int] = field(default_factory=dict)
    departments: dict[str, int] = field(default_factory=dict)

    def actor(self, session: Session, handle: str) -> Actor:
        return actor_for(session, org.get_person(session, self.people[handle]))


def build_world(session: Session) -> World:
    """Claims (assessor), policy admin (lead, duty owner, clerk), HR (confidential), triage."""
    world = World()
    hashed = hash_password(PASSWORD)
    for handle, name in [
        ("asha", "Asha Assessor"),
        ("lee", "Lee Lead"),
        ("dan", "Dan Duty"),
        ("cleo", "Cleo Clerk"),
        ("carl", "Carl Claims Lead"),
        ("hana", "Hana HR"),
        ("otto", "Otto Outsider"),
        ("tess", "Tess Triage"),
        ("ada", "Ada Admin"),
    ]:
        person = org.add_person(
            session,
            handle,
            name,
            f"{handle}@example.com",
            password_hash=hashed,
            is_admin=handle == "ada",
        )
        world.people[handle] = person.id
    for name in ("Claims", "Policy Administration", "People", "Operations"):
        world.departments[name] = org.add_department(session, name).id
    p = world.people
    claims = org.add_team(session, world.departments["Claims"], "Claims", lead_id=p["carl"])
    org.add_member(session, claims.id, p["asha"])
    admin = org.add_team(
        session,
        world.departments["Policy Administration"],
        "Policy Admin",
        lead_id=p["lee"],
        duty_owner_id=p["dan"],
    )
    org.add_member(session, admin.id, p["cleo"])
    hr = org.add_team(session, world.departments["People"], "HR", lead_id=p["hana"])
    triage = org.add_team(session, world.departments["Operations"], "Triage", lead_id=p["tess"])
    triage.is_triage = True
    world.teams = {"claims": claims.id, "admin": admin.id, "hr": hr.id, "triage": triage.id}
    world.services["correct_policy"] = org.add_service(
        session,
        admin.id,
        "Correct a policy document",
        accept_target_hours=2,
        update_every_hours=4,
        resolve_target_hours=16,
        auto_close_days=3,
    ).id
    world.services["claim_review"] = org.add_service(session, claims.id, "Review a claim").id
    world.services["grievance"] = org.add_service(
        session, hr.id, "Raise a grievance", confidential=True
    ).id
    session.flush()
    return world
