"""Settings: one object, built by a function, read from FOLLOWTHROUGH_* environment variables."""

from __future__ import annotations

from pydantic import Field
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
    # Minimum resolved requests of a service before its own history is used for timescales.
    timescale_min_history: int = Field(default=20, ge=1)
    secure_cookies: bool = False


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment, with explicit overrides (CLI flags) taking precedence."""
    clean = {key: value for key, value in overrides.items() if value is not None}
    return Settings(**clean)  # type: ignore[arg-type]
