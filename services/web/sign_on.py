"""Single sign-on with an organisation's OpenID Connect provider (Microsoft Entra ID and DfE
Sign-in are OIDC), optional: on when WEB_OIDC_ISSUER, WEB_OIDC_CLIENT_ID and
WEB_OIDC_CLIENT_SECRET are set (settings.py).

The authorization-code flow with PKCE (S256), a state and a nonce, through authlib's client:
`start` gives the provider's authorization URL for a new random state, which the browser keeps
in a short-lived cookie; `finish` checks the state the provider sends back against that cookie
(the caller does), exchanges the code (with the client secret and the PKCE verifier) and
checks the ID token: signed by a key of the provider's JWKS, its issuer, audience, expiry and
nonce. The PKCE verifier and the nonce are HMACs of the state under a key derived from the
token secret, so nothing about a sign-in in progress is stored server-side and neither can be
guessed from the state seen in URLs.

What it gives is the email address the provider vouches for (`email_verified`); the caller
maps it to an enabled account (docs/http-api.md, "Web workspace").
"""

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from authlib.integrations.httpx_client import AsyncOAuth2Client
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

# The provider's answers are small; a slow one should not hold a sign-in for long.
TIMEOUT = 10
SCOPE = "openid email profile"
LOOPBACK = {"localhost", "127.0.0.1", "::1"}
# How long a browser has to come back from the provider.
STATE_MINUTES = 10


class SignOnRefused(Exception):
    """Why a single sign-on did not sign anyone in, in words for the sign-in page."""


@dataclass(frozen=True)
class Provider:
    """What the provider's discovery document (/.well-known/openid-configuration) says."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    algorithms: tuple[str, ...]


def _derived(key: bytes, purpose: str, state: str) -> str:
    mac = hmac.new(key, f"{purpose}.{state}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


class SignOn:
    def __init__(self, issuer: str, client_id: str, client_secret: str, token_secret: str) -> None:
        parts = urlsplit(issuer)
        # The provider's answers say who someone is: over https, but for a provider on this
        # machine (a test's, a developer's).
        if parts.scheme != "https" and not (parts.scheme == "http" and parts.hostname in LOOPBACK):
            raise ValueError("WEB_OIDC_ISSUER must be an https URL")
        self.issuer = issuer.rstrip("/")
        self.client_id = client_id
        self._client_secret = client_secret
        self._key = hmac.new(
            token_secret.encode(), b"web workspace sign-on", hashlib.sha256
        ).digest()
        self._provider: Provider | None = None

    def new_state(self) -> str:
        return secrets.token_urlsafe(32)

    def nonce(self, state: str) -> str:
        return _derived(self._key, "nonce", state)

    def _verifier(self, state: str) -> str:
        return _derived(self._key, "verifier", state)

    def _client(self, redirect_uri: str) -> AsyncOAuth2Client:
        return AsyncOAuth2Client(
            client_id=self.client_id,
            client_secret=self._client_secret,
            scope=SCOPE,
            redirect_uri=redirect_uri,
            code_challenge_method="S256",
            timeout=TIMEOUT,
        )

    async def provider(self) -> Provider:
        """The provider's endpoints, discovered once; its issuer must be the one configured."""
        if self._provider is None:
            url = f"{self.issuer}/.well-known/openid-configuration"
            try:
                async with httpx.AsyncClient(timeout=TIMEOUT) as http:
                    answer = await http.get(url)
                    answer.raise_for_status()
                    found: dict[str, Any] = answer.json()
            except (httpx.HTTPError, ValueError) as exc:
                raise SignOnRefused(
                    "Your organisation's sign-in service did not answer. Try again later or"
                    " sign in with your password."
                ) from exc
            if found.get("issuer", "").rstrip("/") != self.issuer:
                raise SignOnRefused("Your organisation's sign-in service is not the one set up.")
            self._provider = Provider(
                issuer=found["issuer"],
                authorization_endpoint=found["authorization_endpoint"],
                token_endpoint=found["token_endpoint"],
                jwks_uri=found["jwks_uri"],
                algorithms=tuple(found.get("id_token_signing_alg_values_supported", ["RS256"])),
            )
        return self._provider

    async def start(self, redirect_uri: str, state: str) -> str:
        """The provider's authorization URL for this state, with its PKCE challenge and nonce."""
        provider = await self.provider()
        async with self._client(redirect_uri) as client:
            url, _ = client.create_authorization_url(
                provider.authorization_endpoint,
                state=state,
                code_verifier=self._verifier(state),
                nonce=self.nonce(state),
            )
        return str(url)

    async def finish(self, redirect_uri: str, state: str, code: str) -> str:
        """The verified email address of the person the provider signed in, for this code and
        the state (already checked against the browser's). Raises SignOnRefused."""
        provider = await self.provider()
        try:
            async with self._client(redirect_uri) as client:
                token = await client.fetch_token(
                    provider.token_endpoint,
                    code=code,
                    code_verifier=self._verifier(state),
                )
            # Fetched at each sign-in: a provider that rotates its keys is followed at once.
            async with httpx.AsyncClient(timeout=TIMEOUT) as http:
                answer = await http.get(provider.jwks_uri)
                answer.raise_for_status()
                keys = answer.json()
        except Exception as exc:  # authlib raises its own errors and httpx's
            raise SignOnRefused(
                "Your organisation's sign-in service did not confirm who you are. Try again."
            ) from exc
        claims = self.checked(str(token.get("id_token", "")), keys, state, provider)
        email = claims.get("email")
        if not isinstance(email, str) or not email or claims.get("email_verified") is not True:
            raise SignOnRefused(
                "Your organisation's account did not give a verified email address, so it cannot"
                " be matched to an account here. Sign in with your password."
            )
        return email

    def checked(
        self, id_token: str, keys: dict[str, Any], state: str, provider: Provider
    ) -> dict[str, Any]:
        """The ID token's claims, once its signature, issuer, audience, times and nonce pass."""
        registry = jwt.JWTClaimsRegistry(
            leeway=60,
            iss={"essential": True, "value": provider.issuer},
            aud={"essential": True, "value": self.client_id},
            sub={"essential": True},
            exp={"essential": True},
            nonce={"essential": True, "value": self.nonce(state)},
        )
        try:
            token = jwt.decode(
                id_token,
                KeySet.import_key_set(keys),  # type: ignore[arg-type]  # the provider's JSON, algorithms=list(provider.algorithms)
            )
            registry.validate(token.claims)
        except (JoseError, ValueError) as exc:
            raise SignOnRefused(
                "Your organisation's sign-in service gave an answer that failed our checks."
                " Try again."
            ) from exc
        return dict(token.claims)
