"""The what-if page over real HTTP: leads and admins only; a change that cannot be tried is
answered 422 naming the field."""

from __future__ import annotations

from tests.conftest import LiveServer
from tests.factories import World
from tests.web.pages import Visitor


def visitor(live_server: LiveServer, handle: str) -> Visitor:
    person = Visitor(live_server.base_url)
    assert person.sign_in(handle).status_code == 303
    return person


def test_only_leads_try_changes_and_bad_changes_are_named(
    world: World, live_server: LiveServer
) -> None:
    asha = visitor(live_server, "asha")
    try:
        assert asha.get("/practice/what-if").status_code == 403
    finally:
        asha.close()
    carl = visitor(live_server, "carl")  # Claims' lead
    try:
        page = carl.get("/practice/what-if")
        assert page.status_code == 200
        assert "Try a change first" in page.text
        # Trying a change writes nothing: a GET, the change in the address.
        refused = carl.get("/practice/what-if?team=0&extra_people=1.5&bounces_kept=150")
        assert refused.status_code == 422
        assert "between 0 and 100 percent" in refused.text
        assert "must be a whole number" in refused.text
        for odd in ("nan", "inf", "-inf", "1e999"):
            answer = carl.get(f"/practice/what-if?team=0&extra_people={odd}")
            assert answer.status_code == 422, odd
            assert "must be a number" in answer.text
    finally:
        carl.close()
