"""Team roles: who is accountable for new requests."""

from __future__ import annotations

import pytest

from followthrough.db import Database
from followthrough.errors import InvalidInput, NotFound
from followthrough.org import service
from followthrough.org.models import Membership
from followthrough.requests import service as requests
from followthrough.requests.service import NewRequest
from tests.conftest import T0
from tests.factories import World


def test_a_new_duty_owner_becomes_a_member_and_is_accountable_for_new_requests(
    db: Database, world: World
) -> None:
    with db.unit_of_work() as session:
        service.set_team_roles(
            session, world.teams["admin"], {"duty_owner_id": world.people["otto"]}
        )
        assert session.get(Membership, (world.teams["admin"], world.people["otto"])) is not None
    with db.unit_of_work() as session:
        new = NewRequest(title="t", need="n", service_id=world.services["correct_policy"])
        request = requests.open_request(session, world.actor(session, "asha"), new, T0)
        assert request.owner_id == world.people["otto"]


def test_clearing_the_duty_owner_hands_new_requests_back_to_the_lead(
    db: Database, world: World
) -> None:
    with db.unit_of_work() as session:
        service.set_team_roles(session, world.teams["admin"], {"duty_owner_id": None})
    with db.unit_of_work() as session:
        new = NewRequest(title="t", need="n", service_id=world.services["correct_policy"])
        request = requests.open_request(session, world.actor(session, "asha"), new, T0)
        assert request.owner_id == world.people["lee"]


def test_roles_name_a_bad_field_or_person_and_change_nothing(db: Database, world: World) -> None:
    with pytest.raises(InvalidInput) as bad_role, db.unit_of_work() as session:
        service.set_team_roles(session, world.teams["admin"], {"owner_id": world.people["otto"]})
    assert bad_role.value.field == "owner_id"
    with pytest.raises(NotFound) as nobody, db.unit_of_work() as session:
        service.set_team_roles(session, world.teams["admin"], {"lead_id": 999})
    assert nobody.value.field == "lead_id"
    with db.unit_of_work(readonly=True) as session:
        team = service.get_team(session, world.teams["admin"])
        assert (team.lead_id, team.duty_owner_id) == (world.people["lee"], world.people["dan"])
