"""A database connection lost under the app (a restart, a failover) costs one request, not more."""

from __future__ import annotations

import psycopg

from followthrough.db import Database
from tests.conftest import PG_ADMIN_URL, Clock, serving
from tests.factories import World, build_world


def test_a_lost_connection_answers_503_once_then_the_pool_recovers(
    pg_db: Database, clock: Clock
) -> None:
    from tests.conftest import issue_tokens

    with pg_db.unit_of_work() as session:
        world: World = build_world(session)
    tokens = issue_tokens(pg_db, world, clock)
    with serving(pg_db, clock) as live:
        client = live.client(tokens["asha"])
        assert client.get("/requests").status_code == 200
        database = pg_db.engine.url.database
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            ended = admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = %s AND pid != pg_backend_pid()",
                (database,),
            ).fetchall()
        assert ended, "the app held at least one connection"
        lost = client.get("/requests")
        assert lost.status_code == 503
        assert lost.headers["content-type"].startswith("application/problem+json")
        assert "try again" in lost.json()["detail"]
        # The pool replaced every connection older than the loss: the next calls just work.
        for _ in range(3):
            assert client.get("/requests").status_code == 200
