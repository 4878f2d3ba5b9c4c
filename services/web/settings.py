"""Settings of the web workspace beyond those every service has (shared/settings.py)."""

from datetime import timedelta

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.web.domain.sessions import Limits
from services.web.domain.throttle import Throttle


class WebSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore")

    # Where the web workspace calls the services' APIs, as the signed-in person.
    demand_url: str = "http://127.0.0.1:8001"
    tendering_url: str = "http://127.0.0.1:8002"
    savings_url: str = "http://127.0.0.1:8003"
    # The address people use for this workspace, for the set-password links it hands out
    # (default: the address the request that made the link was sent to).
    web_public_url: str = ""
    # A session ends after this long without a request ...
    web_session_idle_minutes: float = Field(default=30, gt=0)
    # ... and this long after sign-in however busy it is.
    web_session_max_hours: float = Field(default=12, gt=0)
    # How long a set-password link works (it works once).
    web_password_link_hours: float = Field(default=72, gt=0)
    # Sign-in throttling: refused for a while after this many failures in the window, for one
    # email address or from one client address.
    web_throttle_minutes: float = Field(default=15, gt=0)
    web_throttle_per_email: int = Field(default=5, ge=1)
    web_throttle_per_client: int = Field(default=20, ge=1)

    # Optional single sign-on with an OpenID Connect provider (sign_on.py): on when all three
    # are set. The issuer's discovery document is at {issuer}/.well-known/openid-configuration;
    # register {WEB_PUBLIC_URL}/sign-in/callback with the provider as the redirect URI.
    web_oidc_issuer: str = ""
    web_oidc_client_id: str = ""
    web_oidc_client_secret: SecretStr = SecretStr("")

    def sign_on_configured(self) -> bool:
        return bool(
            self.web_oidc_issuer
            and self.web_oidc_client_id
            and self.web_oidc_client_secret.get_secret_value()
        )

    def limits(self) -> Limits:
        return Limits(
            idle=timedelta(minutes=self.web_session_idle_minutes),
            lifetime=timedelta(hours=self.web_session_max_hours),
        )

    def throttle(self) -> Throttle:
        return Throttle(
            window=timedelta(minutes=self.web_throttle_minutes),
            per_email=self.web_throttle_per_email,
            per_client=self.web_throttle_per_client,
        )
