"""A big award is sent in parts that each stay far below Kafka's 1 MB message limit, and its parts
are read as they are (test_events.py reads events written before parts as one whole part)."""

from shared.events import (
    ALLOCATIONS_PER_EVENT,
    Envelope,
    TenderAwarded,
    award_parts,
    read_data,
    upcast,
)
from tests.helpers import award_to, new_event

KAFKA_DEFAULT_MAX_MESSAGE_BYTES = 1_048_576


def test_a_small_award_is_one_event() -> None:
    whole = award_to(3)
    assert award_parts(whole) == [whole]
    assert (whole.part, whole.parts) == (1, 1)


def test_a_big_award_is_split_in_order_with_the_same_award_fields() -> None:
    whole = award_to(2 * ALLOCATIONS_PER_EVENT + 1)
    parts = award_parts(whole)
    assert [(p.part, p.parts) for p in parts] == [(1, 3), (2, 3), (3, 3)]
    assert [len(p.allocations) for p in parts] == [ALLOCATIONS_PER_EVENT, ALLOCATIONS_PER_EVENT, 1]
    assert [a for p in parts for a in p.allocations] == whole.allocations
    fields = set(TenderAwarded.model_fields) - {"allocations", "part", "parts"}
    for p in parts:
        assert {f: getattr(p, f) for f in fields} == {f: getattr(whole, f) for f in fields}


def test_every_part_of_a_ten_thousand_school_award_fits_a_default_kafka_message() -> None:
    whole = award_to(10_000)
    wire = new_event(whole, trust_id="9001", correlation_id="c").model_dump_json().encode()
    assert len(wire) > KAFKA_DEFAULT_MAX_MESSAGE_BYTES  # why awards are split at all
    parts = award_parts(whole)
    assert len(parts) == 10
    for p in parts:
        event = new_event(p, trust_id="9001", correlation_id="c")
        size = len(event.model_dump_json().encode())
        # Room to spare for the record's key, headers and batch overhead.
        assert size < KAFKA_DEFAULT_MAX_MESSAGE_BYTES / 2
        assert read_data(Envelope.model_validate_json(event.model_dump_json()), TenderAwarded) == p


def test_current_versions_are_not_rewritten() -> None:
    part = award_parts(award_to(ALLOCATIONS_PER_EVENT + 1))[1]
    event = new_event(part, trust_id="9001", correlation_id="c")
    assert event.event_version == 2
    assert upcast(event) == event
    assert read_data(event, TenderAwarded) == part
