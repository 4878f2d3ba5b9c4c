"""Settings of the savings service beyond those every service has (shared/settings.py)."""

from pydantic_settings import BaseSettings, SettingsConfigDict


class SavingsSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore")

    # Where business managers reach the tendering service: the dashboard links each contract to
    # its tender there.
    tendering_public_url: str = "http://127.0.0.1:8002"
