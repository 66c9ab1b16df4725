"""The scorer's model (1-3 s to load) is loaded before a request's unit of work opens, so no
transaction — and on SQLite no write turn — waits on it."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from sqlalchemy import event

from followthrough.db import Database
from followthrough.practice.roleplay import scoring, service
from followthrough.practice.roleplay.embedding import WordLlamaEmbedder, load_embedder
from tests.conftest import Clock, LiveServer, issue_tokens
from tests.factories import World


class OpenTransactions:
    """How many transactions are open on a database's engine right now, from its events."""

    def __init__(self, db: Database) -> None:
        self.count = 0
        self._guard = threading.Lock()
        for name, step in (("begin", 1), ("commit", -1), ("rollback", -1)):
            event.listen(db.engine, name, self._counter(step))

    def _counter(self, step: int) -> Any:
        def count(*_: Any) -> None:
            with self._guard:
                self.count += step

        return count


def test_the_first_scored_reply_loads_the_model_with_no_transaction_open(
    db: Database,
    world: World,
    clock: Clock,
    live_server: LiveServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tokens = issue_tokens(db, world, clock)
    api = live_server.client(tokens[sorted(tokens)[0]])
    transactions = OpenTransactions(db)
    open_while_loading: list[int] = []
    open_while_replying: list[int] = []

    def loading() -> WordLlamaEmbedder:
        open_while_loading.append(transactions.count)
        return load_embedder()

    real_give_reply = service.give_reply

    def replying(*args: Any, **kwargs: Any) -> Any:
        open_while_replying.append(transactions.count)
        return real_give_reply(*args, **kwargs)

    # As in a process that has not scored anything yet.
    monkeypatch.setattr(scoring, "_shipped", [])
    monkeypatch.setattr(scoring, "load_embedder", loading)
    monkeypatch.setattr(service, "give_reply", replying)

    started = api.post("/roleplay/attempts", json={"scenario": "operations-peer"})
    assert started.status_code == 201, started.text
    attempt = started.json()["id"]
    assert api.post(f"/roleplay/attempts/{attempt}/turns", json={"choice": 0}).status_code == 201
    reply = api.post(
        f"/roleplay/attempts/{attempt}/turns",
        json={"text": "What does the customer actually need from us?"},
    )
    assert reply.status_code == 201, reply.text

    # Loaded once, for the first request that needed it, with no transaction open; while the
    # reply was scored and written, its own transaction was (the count can see one).
    assert open_while_loading == [0]
    assert open_while_replying == [1]
    assert transactions.count == 0


def test_threads_asking_at_once_share_one_load(monkeypatch: pytest.MonkeyPatch) -> None:
    loads: list[int] = []
    release = threading.Event()

    def loading() -> WordLlamaEmbedder:
        loads.append(1)
        release.wait(5)
        return load_embedder()

    monkeypatch.setattr(scoring, "_shipped", [])
    monkeypatch.setattr(scoring, "load_embedder", loading)
    models: list[scoring.ScoringModel] = []
    askers = [
        threading.Thread(target=lambda: models.append(scoring.shipped_model())) for _ in range(4)
    ]
    for asker in askers:
        asker.start()
    # The first is loading; give the others time to ask too (without the shared load, each of
    # them would now be loading as well).
    while not loads:
        time.sleep(0.01)
    time.sleep(0.3)
    release.set()
    for asker in askers:
        asker.join(10)
    assert len(loads) == 1
    assert len(models) == 4
    assert all(model is models[0] for model in models)
