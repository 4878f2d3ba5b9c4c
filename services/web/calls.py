"""Calling the services' APIs as the signed-in person. For each call the workspace mints a
bearer token that lives a few minutes, with the account's role and scope and the person's email
address as its subject (shared/auth.py), and sends it server-side; the browser never holds it.
Each service checks role and scope on its own, as for any client.
"""

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from services.web.domain.accounts import Account
from shared.auth import Role, issue_token

# Long enough for one page's calls, short enough to be worthless if it leaked from a log.
TOKEN_TTL = timedelta(minutes=5)


class ServiceError(Exception):
    """A service refused (`status` 4xx, with its problem details' field `errors`, each
    {"field": ..., "reason": ...}) or could not answer (`status` 502)."""

    def __init__(self, status: int, detail: str, errors: Sequence[Mapping[str, str]] = ()) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = list(errors)


def person_token(secret: str, account: Account) -> str:
    return issue_token(secret, Role(account.role), account.scope, TOKEN_TTL, subject=account.email)


class Services:
    """The services' base URLs by name, and one HTTP client for all calls."""

    def __init__(self, urls: Mapping[str, str], secret: str) -> None:
        self.urls = {name: url.rstrip("/") for name, url in urls.items()}
        self._secret = secret
        self._client: httpx.AsyncClient | None = None

    @asynccontextmanager
    async def lifespan(self, _: FastAPI) -> AsyncIterator[None]:
        async with httpx.AsyncClient(timeout=10) as client:
            self._client = client
            yield
            self._client = None

    async def get(
        self, account: Account, service: str, path: str, params: Mapping[str, str] | None = None
    ) -> Any:
        """The JSON a service answers `GET path` with, asked as `account`."""
        return await self.send(account, "GET", service, path, params=params)

    async def send(
        self,
        account: Account,
        method: str,
        service: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        content: bytes | None = None,
        content_type: str | None = None,
        headers: Mapping[str, str] | None = None,
        wait_seconds: float | None = None,
    ) -> Any:
        """The JSON a service answers `method path` with (None for an empty answer), asked as
        `account`; a JSON body in `json`, or raw bytes of `content_type` (a CSV) in `content`;
        more `headers` (an Idempotency-Key) besides; `wait_seconds` for a call known to be long
        (a whole registry), else the client's."""
        if self._client is None:
            raise ServiceError(502, "the workspace is not started yet")
        headers = dict(headers or {})
        headers["Authorization"] = f"Bearer {person_token(self._secret, account)}"
        if content_type is not None:
            headers["Content-Type"] = content_type
        try:
            response = await self._client.request(
                method,
                f"{self.urls[service]}{path}",
                params=params,
                json=json,
                content=content,
                headers=headers,
                timeout=wait_seconds if wait_seconds is not None else httpx.USE_CLIENT_DEFAULT,
            )
        except httpx.HTTPError as exc:
            raise ServiceError(502, f"the {service} service did not answer") from exc
        if response.status_code >= 500:
            raise ServiceError(502, f"the {service} service had a problem")
        if response.status_code >= 400:
            try:
                problem = response.json()
            except ValueError:
                raise ServiceError(response.status_code, response.text[:200]) from None
            detail = str(problem.get("detail") or problem.get("title"))
            raise ServiceError(response.status_code, detail, problem.get("errors") or ())
        return response.json() if response.content else None

    async def fetch(self, account: Account | None, service: str, path: str) -> httpx.Response:
        """A service's answer to `GET path` as it is (a page's part, a CSV, a stylesheet), asked
        as `account` (as no one when None); ServiceError 502 when it cannot answer."""
        if self._client is None:
            raise ServiceError(502, "the workspace is not started yet")
        headers = {}
        if account is not None:
            headers["Authorization"] = f"Bearer {person_token(self._secret, account)}"
        try:
            response = await self._client.get(f"{self.urls[service]}{path}", headers=headers)
        except httpx.HTTPError as exc:
            raise ServiceError(502, f"the {service} service did not answer") from exc
        if response.status_code >= 500:
            raise ServiceError(502, f"the {service} service had a problem")
        return response
