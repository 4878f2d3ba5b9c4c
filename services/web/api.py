"""The web workspace's machine API, under /v1, for operators (a bearer token of role operator):
add a person's account, disable one, and issue a new set-password link. `procure user add`,
`procure user disable` and `procure user link` call it, as `procure token revoke` calls
demand's; a compose operator can call it with curl. The operators' pages (operator_pages.py)
do the same work through the same functions (`new_account`, `new_link`, `disable_account`).
"""

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from services.web import passwords, store
from services.web.domain.accounts import MAX_EMAIL, MAX_NAME, Account, is_email
from services.web.domain.passwords import password_problem
from services.web.settings import WebSettings
from shared.auth import Role, TokenError, check_scope
from shared.domain.errors import Invalid, NotFound
from shared.http import Caller, require_role
from shared.openapi import problems
from shared.service import runtime_of
from shared.unit_of_work import unit_of_work

router = APIRouter(prefix="/v1", tags=["web"], responses=problems())
# An account's email address in a path.
EmailPath = Annotated[str, Path(max_length=MAX_EMAIL)]


def web_settings(request: Request) -> WebSettings:
    settings: WebSettings = request.app.state.web_settings
    return settings


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: Annotated[str, Field(max_length=MAX_EMAIL, description="the person's email address")]
    name: Annotated[str, Field(min_length=1, max_length=MAX_NAME, pattern=r"^[^\x00-\x1f\x7f]*$")]
    role: Literal["manager", "school", "supplier", "operator"]
    scope: str | None = Field(
        default=None,
        description="the trust's id (manager), the school's URN (school) or the supplier's id"
        " (supplier); none for an operator",
    )
    password: SecretStr | None = Field(
        default=None,
        description="the first password (12 characters or more, not a common one); without"
        " one the answer carries a one-time set-password link",
    )

    @field_validator("email")
    @classmethod
    def _an_email(cls, email: str) -> str:
        if not is_email(email.strip()):
            raise ValueError("is not an email address")
        return email.strip()


class UserOut(BaseModel):
    email: str
    name: str
    role: str
    scope: str | None
    disabled: bool
    set_password_url: str | None = Field(
        default=None, description="the one-time link where the person sets their password"
    )
    set_password_expires_at: datetime | None = None

    @classmethod
    def of(cls, account: Account, **link: object) -> "UserOut":
        return cls.model_validate(
            {
                "email": account.email,
                "name": account.name,
                "role": account.role,
                "scope": account.scope,
                "disabled": account.disabled,
            }
            | link
        )


class DisabledOut(BaseModel):
    email: str
    disabled: bool
    sessions_ended: int = Field(description="the signed-in sessions that ended with it")


def public_url(request: Request) -> str:
    """Where people reach this workspace: WEB_PUBLIC_URL, else the address of this request."""
    configured = web_settings(request).web_public_url
    return (configured or str(request.base_url)).rstrip("/")


async def new_account(request: Request, body: UserIn) -> UserOut:
    """The account added; without a password, the answer carries its set-password link.
    Raises Invalid (the scope or password, by field) or EmailTaken."""
    try:
        scope = check_scope(Role(body.role), body.scope)
    except TokenError as exc:
        raise Invalid(str(exc), errors=[("scope", str(exc))]) from exc
    password = body.password.get_secret_value() if body.password else None
    hashed = None
    if password is not None:
        refused = password_problem(password, password, body.email)
        if refused:
            raise Invalid(refused, errors=[("password", refused)])
        hashed = await asyncio.to_thread(passwords.hash_password, password)
    now = datetime.now(UTC)
    ttl = timedelta(hours=web_settings(request).web_password_link_hours)
    async with unit_of_work(runtime_of(request).pool) as work:
        account = await store.add_account(
            work.conn,
            email=body.email,
            name=body.name,
            role=body.role,
            scope=scope,
            password_hash=hashed,
            now=now,
        )
        if hashed is not None:
            return UserOut.of(account)
        token = await store.add_link(work.conn, account.account_id, now, ttl)
    return UserOut.of(
        account,
        set_password_url=f"{public_url(request)}/set-password/{token}",
        set_password_expires_at=now + ttl,
    )


async def new_link(request: Request, email: str) -> UserOut:
    """A new set-password link for the enabled account, its older links used up; NotFound
    when there is no such enabled account."""
    now = datetime.now(UTC)
    ttl = timedelta(hours=web_settings(request).web_password_link_hours)
    async with unit_of_work(runtime_of(request).pool) as work:
        reissued = await store.reissue_link(work.conn, email, now, ttl)
    if reissued is None:
        raise NotFound(f"there is no enabled account for {email}", title="No such account")
    account, token = reissued
    return UserOut.of(
        account,
        set_password_url=f"{public_url(request)}/set-password/{token}",
        set_password_expires_at=now + ttl,
    )


async def disable_account(request: Request, email: str) -> DisabledOut:
    """The account disabled, its sessions and links ended; NotFound when there is none."""
    async with unit_of_work(runtime_of(request).pool) as work:
        disabled = await store.disable(work.conn, email, datetime.now(UTC))
    if disabled is None:
        raise NotFound(f"there is no account for {email}", title="No such account")
    account, ended = disabled
    return DisabledOut(email=account.email, disabled=True, sessions_ended=ended)


@router.post("/users", status_code=201, response_model=UserOut, responses=problems(409))
async def add_user(body: UserIn, request: Request, caller: Caller) -> UserOut:
    """Add a person's account (operators). Without a password, the answer carries a one-time
    link where they set one themselves."""
    require_role(caller, Role.OPERATOR)
    return await new_account(request, body)


@router.post("/users/{email}/disable", response_model=DisabledOut, responses=problems(404))
async def disable_user(email: EmailPath, request: Request, caller: Caller) -> DisabledOut:
    """Disable an account (operators): it can no longer sign in, its sessions end at once and
    its set-password links stop working."""
    require_role(caller, Role.OPERATOR)
    return await disable_account(request, email)


@router.post("/users/{email}/link", response_model=UserOut, responses=problems(404))
async def reissue_link(email: EmailPath, request: Request, caller: Caller) -> UserOut:
    """Issue a new one-time set-password link for an enabled account (operators), e.g. when a
    person forgot their password or the first link expired. Older unused links of the account
    stop working; its password and sessions are left as they are until the link is used."""
    require_role(caller, Role.OPERATOR)
    return await new_link(request, email)
