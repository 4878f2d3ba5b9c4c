"""What every request must pass before a route sees it (OWASP ASVS 2, V5 and V13 controls):

- its path and query hold no control characters and are valid UTF-8 (400): a NUL byte reaching
  PostgreSQL is an error the route did not expect;
- every `/v1` request carries a valid, unrevoked bearer token (401), checked before a byte of
  the body is read: an anonymous client cannot make a service read, hold or parse anything;
- its body is at most `HTTP_MAX_JSON_BYTES` (JSON and forms) or `HTTP_MAX_CSV_BYTES` (CSV
  uploads, plain or multipart) (413): a declared length over the limit is refused unread, and a
  body that grows past it while being read is cut off;
- a JSON body nests at most `HTTP_MAX_JSON_DEPTH` levels (422).
"""

import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING
from urllib.parse import unquote_to_bytes

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.http import BodyTooLarge, Problem, bearer_principal, field_error, problem_response

if TYPE_CHECKING:
    from shared.service import Runtime

_CONTROL = re.compile(rb"[\x00-\x1f\x7f]")
# JSON strings, so that brackets inside them are not counted as nesting.
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_CSV_TYPES = ("text/csv", "multipart/form-data")


def nests_deeper(body: bytes, limit: int) -> bool:
    """Whether the JSON document `body` nests arrays and objects more than `limit` levels."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return False  # too few brackets to be deeper; most bodies stop here
    depth = 0
    for bracket in _STRING.sub(b"", body).translate(None, _NOT_BRACKETS):
        if bracket in b"[{":
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def _odd_characters(scope: Scope) -> str | None:
    """Why the path or query string is refused, or None."""
    raw_path = scope.get("raw_path") or scope["path"].encode("utf-8", "surrogateescape")
    for part, text in (("path", raw_path), ("query", scope.get("query_string", b""))):
        decoded = unquote_to_bytes(text.replace(b"+", b" ") if part == "query" else text)
        if _CONTROL.search(decoded):
            return f"the {part} contains a control character (such as a NUL byte)"
        try:
            decoded.decode("utf-8")
        except UnicodeDecodeError:
            return f"the {part} is not valid UTF-8"
    return None


class RequestLimits:
    def __init__(self, app: ASGIApp, runtime: "Runtime") -> None:
        self.app = app
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            receive = await self._checked(scope, receive)
        except Problem as problem:
            await problem_response(Request(scope), problem)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _checked(self, scope: Scope, receive: Receive) -> Receive:
        """The request's receive channel once the request has passed; Problem if it has not."""
        settings = self.runtime.settings
        odd = _odd_characters(scope)
        if odd is not None:
            raise Problem(400, "Bad request", odd)
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        if scope["path"].startswith("/v1/"):
            principal = bearer_principal(
                headers.get("authorization"),
                settings.procure_token_secret.get_secret_value(),
                self.runtime.revoked,
            )
            scope.setdefault("state", {})["principal"] = principal
        content_type = headers.get("content-type", "").lower()
        if content_type.startswith(_CSV_TYPES):
            limit = settings.http_max_csv_bytes
        else:
            limit = settings.http_max_json_bytes
        declared = headers.get("content-length", "")
        if declared.strip().isdigit() and int(declared) > limit:
            raise BodyTooLarge(limit).problem
        if content_type.startswith(_CSV_TYPES):
            return _counting(receive, limit)  # read as the route streams it
        body = await _read_body(receive, limit)
        if body and ("json" in content_type or not content_type):
            depth_limit = settings.http_max_json_depth
            if nests_deeper(body, depth_limit):
                reason = f"nests deeper than {depth_limit} levels"
                errors = [field_error("body", reason)]
                raise Problem(422, "Invalid request", f"body: {reason}", errors)
        return _replaying(body, receive)


async def _read_body(receive: Receive, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break  # the client went away; the route sees an empty body
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(limit).problem
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replaying(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # after the body: only a disconnect can come

    return replay


def _counting(receive: Receive, limit: int) -> Callable[[], Awaitable[Message]]:
    size = 0

    async def counted() -> Message:
        nonlocal size
        message = await receive()
        if message["type"] == "http.request":
            size += len(message.get("body", b""))
            if size > limit:
                raise BodyTooLarge(limit)
        return message

    return counted
