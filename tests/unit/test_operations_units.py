"""Pure parts of what operators rely on: the URL printed for a listening address, and the
correlation id taken from a request's headers."""

import re

from procure.launcher import url_of
from shared.logging import correlation_id_of


def test_a_wildcard_address_is_reached_on_the_loopback_address() -> None:
    assert url_of("0.0.0.0", 8001) == "http://127.0.0.1:8001"  # noqa: S104
    assert url_of("::", 8002) == "http://127.0.0.1:8002"
    assert url_of("127.0.0.1", 8003) == "http://127.0.0.1:8003"
    assert url_of("10.1.2.3", 8001) == "http://10.1.2.3:8001"
    assert url_of("procure.internal", 8001) == "http://procure.internal:8001"
    assert url_of("::1", 8001) == "http://[::1]:8001"


def test_a_sane_correlation_id_is_kept_and_any_other_replaced() -> None:
    assert correlation_id_of([(b"X-Correlation-ID", b"po-2027-0001")]) == "po-2027-0001"
    assert correlation_id_of([(b"x-request-id", b"req:42")]) == "req:42"
    # X-Correlation-ID wins over X-Request-ID.
    both = [(b"x-request-id", b"req"), (b"x-correlation-id", b"corr")]
    assert correlation_id_of(both) == "corr"
    for insane in (b"", b"has space", b"line\nbreak", b'"quoted"', b"x" * 200, b"\xff\xfe"):
        made = correlation_id_of([(b"x-correlation-id", insane)])
        assert re.fullmatch(r"[0-9a-f]{32}", made), insane
    assert correlation_id_of([]) != correlation_id_of([])
