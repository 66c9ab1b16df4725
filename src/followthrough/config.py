"""Settings: one object, built by a function, read from FOLLOWTHROUGH_* environment variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every setting the product reads. Unknown FOLLOWTHROUGH_* variables fail loudly."""

    model_config = SettingsConfigDict(env_prefix="FOLLOWTHROUGH_", extra="forbid")

    database_url: str = "sqlite:///var/followthrough.sqlite3"
    # Run the sweeper inside the web process (the embedded default). With several workers on
    # PostgreSQL it is still safe: due items are claimed with SKIP LOCKED.
    sweeper_in_process: bool = True
    sweep_interval_seconds: float = Field(default=30.0, gt=0)
    session_days: int = Field(default=14, gt=0)
    secure_cookies: bool = False
    # The demo's history ends at a fixed instant; serving it "from then on" keeps it as seeded
    # instead of firing days of escalations the moment the server starts.
    clock_start: datetime | None = None
    # How many requests each worker process works on at once (its thread pool; the framework's
    # own default is 40). Beyond about one per core they only contend for the interpreter and
    # the database: on the 2-core bench machine, 2 workers x 2 ran the desk workload with about a
    # quarter less CPU per operation than 4 workers x 40 (docs/benchmarks.md). Requests beyond
    # the limit wait, in arrival order, for a free slot.
    worker_threads: int = Field(default=4, ge=1, le=200)
    # How long a request may wait for a free worker (and, on SQLite, for its turn to write)
    # before it is answered 503 with Retry-After. Waiting happens on the event loop, holding
    # nothing, so a burst never blocks health checks or reads.
    admission_wait_seconds: float = Field(default=10.0, gt=0, le=300)
    # Password hashing has its own lane (auth.passwords): this many argon2 checks at once per
    # process (each takes a core for 0.2-0.6 s, so 1 suits 2 cores), at most
    # `password_checks_waiting` more waiting, each at most `password_check_wait_seconds`; beyond
    # that a sign-in is answered 503 with Retry-After and the rest of the desk keeps its workers.
    password_checks_at_once: int = Field(default=1, ge=1, le=64)
    password_checks_waiting: int = Field(default=8, ge=0, le=1000)
    password_check_wait_seconds: float = Field(default=5.0, gt=0, le=60)
    # Insight: figures about groups smaller than this are shown only inside the group.
    insight_minimum_group_size: int = Field(default=5, ge=1)
    # Attachments: the largest file accepted (bytes), and where files are kept — never in the
    # database. "local" keeps them in `attachment_folder`; "s3" in an S3-compatible bucket
    # (credentials from the usual AWS_* variables or the machine's role, never from here).
    attachment_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1, le=1024 * 1024 * 1024)
    attachment_storage: Literal["local", "s3"] = "local"
    attachment_folder: Path = Path("var/attachments")
    attachment_s3_bucket: str | None = None
    attachment_s3_prefix: str = "attachments/"
    attachment_s3_endpoint_url: str | None = None
    attachment_s3_region: str | None = None
    # Mail (followthrough.mail). Our Message-IDs end in `mail_domain`; messages come from
    # `mail_from`; replies and new requests by mail go to `mail_inbound_address` (plus-addressed:
    # desk+r7@…, desk+s-claims@…). `public_url` is where links in mail point.
    mail_domain: str = "followthrough.localhost"
    mail_from: str = "Followthrough <desk@followthrough.localhost>"
    mail_inbound_address: str = "desk@followthrough.localhost"
    public_url: str = "http://127.0.0.1:8000"
    # Signs links in mail (unsubscribe, actions). Required to send mail; keep it secret and stable.
    secret_key: SecretStr | None = None
    # The outgoing mail server. Nothing is sent while smtp_host is empty; when set, the sweeper
    # delivers the outbox. "starttls" upgrades a plain connection (port 587), "tls" is TLS from
    # the first byte (port 465), "none" is plain (a local relay only).
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_security: Literal["none", "starttls", "tls"] = "starttls"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    # Delivery: messages per batch, tries before a message is given up as failed (the wait
    # doubles from mail_retry_seconds after each failure), and how long a sender's claim on a
    # message lasts before another process may take it over (a sender that died).
    mail_batch_size: int = Field(default=100, ge=1, le=10_000)
    mail_max_attempts: int = Field(default=8, ge=1, le=100)
    mail_retry_seconds: float = Field(default=60.0, gt=0)
    mail_lease_seconds: float = Field(default=300.0, gt=0)
    # A notification older than this when its turn comes is not mailed (it stays in the inbox):
    # mail switched on for a desk with a long unsent outbox must not send months of old news.
    mail_max_age_hours: float = Field(default=72.0, gt=0)
    # Mail in, two ways (use either or both). The receiver (`followthrough mail serve`) takes
    # mail the organisation's mail server forwards, over SMTP or, with mail_receiver_lmtp, LMTP;
    # it accepts mail up to mail_receiver_max_bytes. The mailbox poller (`followthrough mail
    # poll`) reads imap_folder on imap_host, waits with IDLE where the server has it, and moves
    # each mail it has taken to imap_done_folder so no mail is taken twice; a mail larger than
    # mail_receiver_max_bytes is set aside there, read only as far as the limit.
    mail_receiver_host: str = "127.0.0.1"
    mail_receiver_port: int = Field(default=2525, ge=1, le=65535)
    mail_receiver_lmtp: bool = False
    mail_receiver_max_bytes: int = Field(default=25 * 1024 * 1024, ge=1024)
    imap_host: str | None = None
    imap_port: int = Field(default=993, ge=1, le=65535)
    imap_security: Literal["none", "starttls", "tls"] = "tls"
    imap_username: str | None = None
    imap_password: SecretStr | None = None
    imap_folder: str = "INBOX"
    imap_done_folder: str = "Followthrough"
    imap_idle_seconds: float = Field(default=300.0, gt=0, le=29 * 60)
    # Action links (followthrough.links) are signed with `secret_key`; while it is being
    # changed, links signed with `previous_secret_key` still work. A link works once, for
    # `action_link_hours` after it was made.
    previous_secret_key: SecretStr | None = None
    action_link_hours: float = Field(default=72.0, gt=0, le=24 * 60)
    # Webhooks (followthrough.webhooks): a delivery is retried with growing waits for
    # `webhook_retry_hours`; each try waits at most `webhook_timeout_seconds` for an answer.
    webhook_retry_hours: float = Field(default=72.0, ge=1, le=24 * 30)
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    # Chat (followthrough.chat): only Slack's and Microsoft's webhook hosts are accepted, unless
    # this is set (a test receiver, or a chat server inside the organisation).
    chat_allow_any_host: bool = False
    # A chat post is retried (with the webhooks' growing waits) for `chat_retry_hours`, then given
    # up: chat is about now. A channel whose every post failed for that long is switched off.
    chat_retry_hours: float = Field(default=24.0, ge=1, le=24 * 30)
    # Learning records (practice.roleplay.xapi): role-play statements go to the Learning Record
    # Store whose xAPI endpoint is `lrs_url` (e.g. https://lrs.example/xAPI), signed in with
    # HTTP basic; nothing is sent while it is empty. Learners are named by their handle on this
    # desk; their e-mail address is sent instead only when `lrs_send_email` is on.
    lrs_url: str | None = None
    lrs_username: str | None = None
    lrs_password: SecretStr | None = None
    lrs_send_email: bool = False

    @model_validator(mode="after")
    def _s3_needs_a_bucket(self) -> Settings:
        if self.attachment_storage == "s3" and not self.attachment_s3_bucket:
            raise ValueError(
                "FOLLOWTHROUGH_ATTACHMENT_STORAGE=s3 needs FOLLOWTHROUGH_ATTACHMENT_S3_BUCKET"
            )
        return self


PREFIX = "FOLLOWTHROUGH_"


def unknown_variables(environ: Mapping[str, str]) -> list[str]:
    """FOLLOWTHROUGH_* variables that name no setting: almost always a typo."""
    known = {PREFIX + name.upper() for name in Settings.model_fields}
    return sorted(
        key for key in environ if key.upper().startswith(PREFIX) and key.upper() not in known
    )


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment, with explicit overrides (CLI flags) taking precedence.

    A mistyped variable stops the start-up instead of being silently ignored.
    """
    unknown = unknown_variables(os.environ)
    if unknown:
        raise ValueError(
            f"unknown setting(s): {', '.join(unknown)}; known: {', '.join(sorted(Settings.model_fields))}"
        )
    clean = {key: value for key, value in overrides.items() if value is not None}
    return Settings(**clean)  # type: ignore[arg-type]
