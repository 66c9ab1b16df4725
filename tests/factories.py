"""A small insurer for tests: claims and policy administration, and the people of the story."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cache

from argon2 import PasswordHasher, profiles
from sqlalchemy.orm import Session

from followthrough.auth.service import hash_password
from followthrough.cases.service import add_case
from followthrough.org import service as org
from followthrough.org.service import actor_for
from followthrough.requests.rules import Actor
from followthrough.requests.service import NewRequest, open_offer_of, open_request

PASSWORD = "correct horse battery"


@dataclass
class World:
    people: dict[str, int] = field(default_factory=dict)
    teams: dict[str, int] = field(default_factory=dict)
    services: dict[str, int] = field(default_factory=dict)
    departments: dict[str, int] = field(default_factory=dict)

    def actor(self, session: Session, handle: str) -> Actor:
        return actor_for(session, org.get_person(session, self.people[handle]))


def open_wrong_address(session: Session, world: World, now: datetime) -> int:
    """Asha asks Policy Admin to correct a policy's address: the plainest request of the story."""
    return open_request(
        session,
        world.actor(session, "asha"),
        NewRequest(
            title="Wrong address", need="Fix it", service_id=world.services["correct_policy"]
        ),
        now,
    ).id


# The product checks a password with the cost written in its stored hash, so a world whose
# hashes are argon2's cheapest (the profile argon2 provides for tests) signs in through exactly
# the product's code at a tiny fraction of the cost: a full-cost check is 0.2-0.6 s of a core,
# and the suite signs people in several hundred times. Tests about what that cost does to the
# desk (a burst of wrong passwords) give their people `costly_password_hash` instead.
_CHEAP_HASHER = PasswordHasher.from_parameters(profiles.CHEAPEST)


@cache
def password_hash() -> str:
    """PASSWORD hashed once per process, at argon2's cheapest cost (see above)."""
    return _CHEAP_HASHER.hash(PASSWORD)


@cache
def costly_password_hash() -> str:
    """PASSWORD hashed once per process the way the product hashes every new password."""
    return hash_password(PASSWORD)


def give_costly_passwords(session: Session, world: World, *handles: str) -> None:
    """These people's stored hash costs what a real account's does to check."""
    for handle in handles:
        org.get_person(session, world.people[handle]).password_hash = costly_password_hash()
    session.flush()


def build_world(session: Session) -> World:
    """Claims (assessor), policy admin (lead, duty owner, clerk), HR (confidential), triage."""
    world = World()
    hashed = password_hash()
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


# ---- a confidential request and the objects around it, for the authorisation test -------------

GRIEVANCE_TITLE = "Grievance about Quokka-Title-91"
GRIEVANCE_NEED = "Manatee-Need-37 happened twice"
HR_ONLY_CASE = "CASE-HRONLY-7Q2"
HR_ONLY_CUSTOMER = "Zebulon-Customer-7Q2"


@dataclass(frozen=True)
class ConfidentialStory:
    """otto raises a policy fix (Policy Admin's); tess raises an HR grievance (confidential).
    A shared case waits on both; a second case waits only on the grievance."""

    normal: int
    confidential: int
    shared_case: int
    hr_only_case: int


def build_confidential_story(session: Session, world: World, now: datetime) -> ConfidentialStory:
    otto, tess = world.actor(session, "otto"), world.actor(session, "tess")
    shared = add_case(session, otto, "CASE-SHARED-1", "Shared Customer", None, "", now)
    hr_only = add_case(session, tess, HR_ONLY_CASE, HR_ONLY_CUSTOMER, None, "", now)
    normal = open_request(
        session,
        otto,
        NewRequest(
            title="Correct my policy schedule",
            need="The schedule names the wrong car",
            service_id=world.services["correct_policy"],
            case_ids=(shared.id,),
        ),
        now,
    )
    confidential = open_request(
        session,
        tess,
        NewRequest(
            title=GRIEVANCE_TITLE,
            need=GRIEVANCE_NEED,
            service_id=world.services["grievance"],
            case_ids=(shared.id, hr_only.id),
        ),
        now,
    )
    session.flush()
    return ConfidentialStory(normal.id, confidential.id, shared.id, hr_only.id)


def open_offered_fix(session: Session, world: World, now: datetime) -> tuple[int, int]:
    """asha raises a policy fix; it is offered to Policy Admin. The request and the offer."""
    request = open_request(
        session,
        world.actor(session, "asha"),
        NewRequest(
            title="Policy P-1 has the wrong address",
            need="Correct it so the claim can be paid",
            service_id=world.services["correct_policy"],
        ),
        now,
    )
    offer = open_offer_of(session, request.id)
    assert offer is not None
    return request.id, offer.id
