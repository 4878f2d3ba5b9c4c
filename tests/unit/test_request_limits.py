"""The checks every request passes before a route sees it (shared/limits.py), without I/O."""

import json

from hypothesis import given
from hypothesis import strategies as st

from shared.limits import _odd_characters, nests_deeper

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='ab[]{}"\\ ', max_size=5),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.text(alphabet='[]{}"k', max_size=3), children, max_size=3)
    ),
    max_leaves=30,
)


def _depth(value: object) -> int:
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    return 0


@given(_json)
def test_depth_is_the_nesting_of_the_document_whatever_its_strings_hold(value: object) -> None:
    body = json.dumps(value).encode()
    depth = _depth(value)
    assert nests_deeper(body, depth - 1) if depth else True
    assert not nests_deeper(body, depth)


def test_a_deep_body_is_found_and_brackets_in_strings_do_not_count() -> None:
    assert nests_deeper(b"[" * 10_000 + b"]" * 10_000, 32)
    assert not nests_deeper(b"[" * 32 + b"]" * 32, 32)
    tricky = {"a": "[[[[[[[[[[[[[[[[", "b\\": "{{{{{{", 'c"[': ["\\"]}
    assert not nests_deeper(json.dumps(tricky).encode(), 2)
    assert nests_deeper(json.dumps(tricky).encode(), 1)


def _scope(path: bytes, query: bytes = b"") -> dict[str, object]:
    return {"path": path.decode("latin-1"), "raw_path": path, "query_string": query}


def test_control_characters_and_bad_utf8_in_path_or_query_are_refused() -> None:
    assert _odd_characters(_scope(b"/v1/demands/%00")) is not None
    assert _odd_characters(_scope(b"/v1/demands", b"school_urn=%00")) is not None
    assert _odd_characters(_scope(b"/v1/demands", b"category=a%0Ab")) is not None
    assert _odd_characters(_scope(b"/v1/demands/%FF")) is not None
    assert _odd_characters(_scope(b"/v1/demands", b"cursor=%C3%28")) is not None


def test_ordinary_paths_and_queries_pass() -> None:
    assert _odd_characters(_scope(b"/v1/demands", b"school_urn=100001&category=gas+x")) is None
    assert _odd_characters(_scope(b"/trusts/1001/contracts/%C3%A9t%C3%A9")) is None
