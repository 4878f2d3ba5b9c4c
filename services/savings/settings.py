"""Settings of the savings service beyond those every service has (shared/settings.py)."""

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class SavingsSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore")

    # Where business managers reach the tendering service: the dashboard links each contract to
    # its tender there.
    tendering_public_url: str = "http://127.0.0.1:8002"
    # A dashboard session ends after this long without a request ...
    dashboard_session_idle_minutes: float = Field(default=30, gt=0)
    # ... and this long after sign-in however busy it is (or sooner, when its token expires).
    dashboard_session_max_hours: float = Field(default=12, gt=0)
