"""Action link pages over real HTTP: a server that signs links with SECRET, and its settings."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from followthrough.config import Settings
from followthrough.db import Database
from tests.conftest import Clock, serving
from tests.factories import World

SECRET = "a secret only the desk knows"


@pytest.fixture
def pages(db: Database, world: World, clock: Clock) -> Iterator[tuple[httpx.Client, Settings]]:
    with serving(db, clock, secret_key=SECRET) as live:
        settings = Settings(database_url=db.url, secret_key=SECRET, public_url=live.base_url)
        with httpx.Client(base_url=live.base_url, timeout=30) as client:
            yield client, settings
