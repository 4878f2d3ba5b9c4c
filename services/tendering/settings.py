"""Tendering's own configuration: the opening and award policies of its background scheduler."""

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class PolicySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TENDER_", env_ignore_empty=True, extra="ignore")

    # Open a pool's tender this many days before its earliest contract end; unset: only managers
    # open tenders.
    auto_open_days: int | None = Field(default=None, ge=0, le=3650)
    # How long a tender opened by the policy takes bids.
    auto_bidding_days: int = Field(default=14, ge=1, le=365)
    # At the deadline, award each tender where price alone decides and close lots without bids,
    # without waiting for a manager; where quality counts and bids came in, the manager awards.
    auto_award: bool = True
    # The trust's own minimum tendering period off the regulated route, in days (quotes and
    # below-threshold competition have no statutory one); unset: none.
    below_threshold_min_days: int | None = Field(default=None, ge=0, le=365)
    scheduler_interval_seconds: float = Field(default=1.0, gt=0, le=3600)
