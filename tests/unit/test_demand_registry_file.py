"""Registry files and what a reload changes: only real changes, moves, departures, closures."""

from services.demand.domain.registry_changes import Departure, registry_changes
from services.demand.domain.schools import School
from services.demand.registry import parse_registry

HEADER = "URN,EstablishmentName,Trusts (code),Trusts (name),EstablishmentStatus (name)"


def school(urn: str, trust: str, status: str = "Open", name: str | None = None) -> School:
    return School(
        urn=urn,
        trust_id=trust,
        trust_name=f"Trust {trust}",
        name=name or f"School {urn}",
        phase=None,
        postcode=None,
        local_authority=None,
        pupils=None,
        status=status,
    )


def registry(*rows: str) -> str:
    return "\n".join([HEADER, *rows]) + "\n"


def test_rows_without_a_trust_are_skipped_counted_and_remembered() -> None:
    parsed = parse_registry(
        registry("100001,School 100001,1001,Trust 1001,Open", "100002,Solo,,,Open", "x,Odd,,,Open")
    )
    assert parsed.errors == []
    assert [s.urn for s in parsed.schools] == ["100001"]
    assert parsed.skipped_without_trust == 2
    assert parsed.without_trust == ["100002"]  # a valid URN: it may have left a trust


def test_a_urn_twice_in_one_file_is_an_error() -> None:
    parsed = parse_registry(
        registry("100001,A,1001,Trust 1001,Open", "100001,B,1002,Trust 1002,Open")
    )
    assert parsed.errors == [{"field": "line 3.URN", "reason": "URN 100001 is also on line 2"}]


def test_a_first_load_joins_every_school() -> None:
    parsed = parse_registry(registry("100001,School 100001,1001,Trust 1001,Open"))
    changes = registry_changes(parsed, {})
    assert changes.joined == [school("100001", "1001")]
    assert (changes.left, changes.unchanged, changes.withdraw) == ([], 0, [])


def test_a_reload_of_the_same_file_changes_nothing() -> None:
    parsed = parse_registry(registry("100001,School 100001,1001,Trust 1001,Open"))
    changes = registry_changes(parsed, {"100001": school("100001", "1001")})
    assert (changes.joined, changes.left, changes.unchanged) == ([], [], 1)


def test_a_changed_detail_is_a_joined_event_with_the_new_details() -> None:
    parsed = parse_registry(registry("100001,New Name,1001,Trust 1001,Open"))
    changes = registry_changes(parsed, {"100001": school("100001", "1001")})
    assert changes.joined == [school("100001", "1001", name="New Name")]
    assert (changes.left, changes.withdraw) == ([], [])


def test_a_move_leaves_the_old_trust_joins_the_new_and_withdraws_open_demand() -> None:
    parsed = parse_registry(registry("100001,School 100001,1002,Trust 1002,Open"))
    changes = registry_changes(parsed, {"100001": school("100001", "1001")})
    assert changes.left == [Departure("100001", "1001", "moved to trust 1002")]
    assert changes.joined == [school("100001", "1002")]
    assert changes.withdraw == [("100001", "school moved to trust 1002")]


def test_a_blank_trust_for_a_school_in_a_trust_means_it_left() -> None:
    parsed = parse_registry(registry("100001,School 100001,,,Open", "100003,Never ours,,,Open"))
    changes = registry_changes(parsed, {"100001": school("100001", "1001")})
    assert changes.left == [Departure("100001", "1001", "no longer in a trust")]
    assert changes.joined == []
    assert changes.withdraw == [("100001", "school left trust 1001")]


def test_a_closure_withdraws_open_demand_once() -> None:
    closing = parse_registry(registry("100001,School 100001,1001,Trust 1001,Closed"))
    changes = registry_changes(closing, {"100001": school("100001", "1001")})
    assert changes.joined == [school("100001", "1001", status="Closed")]
    assert changes.withdraw == [("100001", "school closed")]
    again = registry_changes(closing, {"100001": school("100001", "1001", status="Closed")})
    assert (again.joined, again.withdraw, again.unchanged) == ([], [], 1)
