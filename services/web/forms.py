"""What every page and form of the workspace shares: its cookies, its security headers and its
protection against cross-site request forgery (CSRF).

A browser gets a random id in a cookie (`procure_web_csrf`) on its first page. Every form
carries, in a hidden field, an HMAC of that id and of the browser's session cookie (signed
double-submit, OWASP's CSRF cheat sheet), keyed with a key derived from PROCURE_TOKEN_SECRET;
every POST must carry the value that matches the cookies it comes with. Another site can make a
browser send our cookies but can neither read them nor compute the HMAC, and a cookie planted
from elsewhere matches no token it could have seen. The token changes with the session, so one
seen before sign-in is no good after it. Besides, a POST whose Origin (else Referer) is another
site's is refused outright, as the savings dashboard does.

Cookies are HttpOnly and SameSite=Lax, Secure and `__Host-` prefixed over https (so no
subdomain or plain-http page can set them). Names differ from the savings dashboard's: browsers
share cookies between ports of one host.
"""

import base64
import hashlib
import hmac
import secrets
from urllib.parse import urlsplit

from fastapi import Request, Response

from shared.page_security import EXPIRED, page_headers
from shared.sessions import RANDOM_ID

SESSION_COOKIE = "procure_web_session"
CSRF_COOKIE = "procure_web_csrf"
CSRF_FIELD = "csrf_token"
# The stylesheet is the only thing a page loads.
HEADERS = page_headers("'self'")
CROSS_SITE = (
    "This form was sent from another website, so it was refused. Open this service's own page"
    " and use the form there."
)


def cookie_name(request: Request, name: str) -> str:
    """`__Host-` + name over https: browsers then take it only as Secure, host-only, path /."""
    return f"__Host-{name}" if request.url.scheme == "https" else name


def set_cookie(
    request: Request, response: Response, name: str, value: str, max_age: int | None = None
) -> None:
    """An HttpOnly cookie of this host; Lax, so that the browser sends it on a top-level GET
    from elsewhere too (a provider's redirect back); for the session when no `max_age`."""
    response.set_cookie(
        cookie_name(request, name),
        value,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )


def delete_cookie(request: Request, response: Response, name: str) -> None:
    response.delete_cookie(
        cookie_name(request, name),
        path="/",
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="lax",
    )


def cookie(request: Request, name: str) -> str:
    return request.cookies.get(cookie_name(request, name), "")


def csrf_key(token_secret: str) -> bytes:
    """The CSRF key, derived from the token secret (so no new secret to manage), and useless
    for signing tokens."""
    return hmac.new(token_secret.encode(), b"web workspace csrf", hashlib.sha256).digest()


def csrf_token(key: bytes, browser: str, session: str) -> str:
    mac = hmac.new(key, f"{browser}.{session}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


class Browser:
    """The browser's CSRF id for a page: the one its cookie holds, else a new one that the
    page's response sets."""

    def __init__(self, request: Request, key: bytes, session: str | None = None) -> None:
        held = cookie(request, CSRF_COOKIE)
        self.fresh = not RANDOM_ID.fullmatch(held)
        self.id = secrets.token_urlsafe(32) if self.fresh else held
        self.token = csrf_token(key, self.id, session or "")

    def keep(self, request: Request, response: Response) -> None:
        if self.fresh:
            set_cookie(request, response, CSRF_COOKIE, self.id)


def forgery(request: Request, key: bytes, submitted: str, session: str | None) -> str | None:
    """Why a form POST must be refused, or None when it came from our own page."""
    source = request.headers.get("origin") or request.headers.get("referer")
    # `Origin: null` (a sandboxed or privacy-hiding sender) has no host, so it is refused too.
    if source is not None and urlsplit(source).netloc != request.url.netloc:
        return CROSS_SITE
    browser = cookie(request, CSRF_COOKIE)
    if not RANDOM_ID.fullmatch(browser):
        return EXPIRED
    expected = csrf_token(key, browser, session or "")
    if not hmac.compare_digest(expected.encode(), submitted.encode()):
        return EXPIRED
    return None
