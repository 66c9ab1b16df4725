"""The per-person inbox and the outbox for later delivery by mail or chat."""
