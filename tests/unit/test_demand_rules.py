"""What a valid submission is: the validation rules of issue 3, on JSON, and on Kafka records."""

import hashlib
import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from services.demand.domain.submissions import (
    HASHED_FIELDS,
    contract_end_refusal,
    latest_contract_end,
    request_hash,
)
from services.demand.ingress_records import read_record
from services.demand.rules import (
    DemandAmendment,
    DemandSubmission,
    KafkaSubmission,
    WithdrawalRequest,
)
from shared.domain.ranges import PRICE_MAX, QUANTITY_MAX
from tests.helpers import demand_line

TODAY = date.today()
NEXT_YEAR = (TODAY + timedelta(days=365)).isoformat()


def body(**changes: Any) -> dict[str, Any]:
    return demand_line(NEXT_YEAR, **changes)


def errors(data: dict[str, Any]) -> dict[str, str]:
    """field -> message of each error, validating as JSON (what the HTTP API does)."""
    try:
        DemandSubmission.model_validate_json(json.dumps(data))
    except ValidationError as exc:
        return {".".join(str(p) for p in e["loc"]): e["msg"] for e in exc.errors()}
    return {}


def test_a_valid_submission() -> None:
    s = DemandSubmission.model_validate_json(json.dumps(body(notes="meter 2\nsite B")))
    assert s.quantity == Decimal("145000")
    assert s.current_unit_price == Decimal("0.2870")
    assert s.contract_end == TODAY + timedelta(days=365)
    assert s.notes == "meter 2\nsite B"


@pytest.mark.parametrize("quantity", ["0", "-1", "0.0000", "-0.5"])
def test_quantity_must_be_positive(quantity: str) -> None:
    assert "greater than 0" in errors(body(quantity=quantity))["quantity"]


def test_quantity_may_be_a_json_integer_but_never_a_float() -> None:
    assert errors(body(quantity=145000)) == {}
    assert "not JSON numbers" in errors(body(quantity=145000.5))["quantity"]
    assert "not JSON numbers" in errors(body(current_unit_price=0.287))["current_unit_price"]


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "1,000", "abc", ""])
def test_quantity_must_be_a_finite_decimal(value: str) -> None:
    assert "quantity" in errors(body(quantity=value))


def test_price_may_be_zero_but_not_negative() -> None:
    assert errors(body(current_unit_price="0")) == {}
    assert (
        "greater than or equal to 0"
        in errors(body(current_unit_price="-0.01"))["current_unit_price"]
    )


@pytest.mark.parametrize(
    ("price", "ok"), [("0.2870", True), ("0.1234", True), ("12", True), ("0.12345", False)]
)
def test_price_has_at_most_4_decimal_places(price: str, ok: bool) -> None:
    problems = errors(body(current_unit_price=price))
    assert ("current_unit_price" not in problems) is ok
    if not ok:
        assert "at most 4 decimal places" in problems["current_unit_price"]


@pytest.mark.parametrize(
    "value", ["2027-02-30", "2027-13-01", "20270331", "31/03/2027", "2027-3-1", 1700000000, ""]
)
def test_contract_end_must_be_a_real_date(value: object) -> None:
    assert "contract_end" in errors(body(contract_end=value))


def test_contract_end_at_most_5_years_ahead() -> None:
    # Today as the rule reads it (in UTC, now): a run that crosses midnight must not disagree.
    today = datetime.now(UTC).date()
    limit = latest_contract_end(today)
    assert errors(body(contract_end=limit.isoformat())) == {}
    too_far = (limit + timedelta(days=1)).isoformat()
    assert "5 years" in errors(body(contract_end=too_far))["contract_end"]
    # A contract that has already ended (the school is out of contract) is still demand.
    assert errors(body(contract_end=(today - timedelta(days=30)).isoformat())) == {}


@pytest.mark.parametrize(
    ("today", "limit"),
    [
        (date(2026, 3, 31), date(2031, 3, 31)),
        (date(2027, 2, 28), date(2032, 2, 28)),
        # 29 February: five years on there is none, so the limit moves to the 28th.
        (date(2028, 2, 29), date(2033, 2, 28)),
    ],
)
def test_the_5_years_rule_is_a_pure_function_of_today(today: date, limit: date) -> None:
    assert latest_contract_end(today) == limit
    assert contract_end_refusal(limit, today) is None
    assert contract_end_refusal(limit + timedelta(days=1), today) == (
        "must not be more than 5 years ahead"
    )
    assert contract_end_refusal(date(1999, 12, 31), today) == "must not be before 2000-01-01"
    assert contract_end_refusal(date(2000, 1, 1), today) is None


@pytest.mark.parametrize(("term", "ok"), [(1, True), (120, True), (0, False), (121, False)])
def test_term_is_1_to_120_months(term: int, ok: bool) -> None:
    assert ("term_months" not in errors(body(term_months=term))) is ok


@pytest.mark.parametrize("term", ["24", 24.0, True, 24.5])
def test_term_must_be_a_json_integer(term: object) -> None:
    assert "term_months" in errors(body(term_months=term))


@pytest.mark.parametrize(
    ("field", "limit"),
    [("category", 64), ("unit", 32), ("current_supplier", 200), ("notes", 2000)],
)
def test_text_fields_are_length_limited(field: str, limit: int) -> None:
    assert field not in errors(body(**{field: "x" * limit}))
    assert "at most" in errors(body(**{field: "x" * (limit + 1)}))[field]


@pytest.mark.parametrize("field", ["category", "unit", "current_supplier", "notes"])
def test_text_fields_refuse_control_characters(field: str) -> None:
    # PostgreSQL cannot store NUL; a NUL must be refused here, not fail a whole batch there.
    assert "control characters" in errors(body(**{field: "a\x00b"}))[field]


def test_one_line_fields_refuse_line_breaks() -> None:
    assert "line breaks" in errors(body(current_supplier="Acme\nEnergy"))["current_supplier"]


@pytest.mark.parametrize("urn", ["12345", "1234567", "abcdef", "12345a", ""])
def test_urn_is_6_digits(urn: str) -> None:
    assert "6 digits" in errors(body(school_urn=urn))["school_urn"]


def test_required_and_unknown_fields() -> None:
    problems = errors(body(category=..., colour="red"))
    assert problems["category"] == "Field required"
    assert problems["colour"] == "Extra inputs are not permitted"


def test_whitespace_around_text_is_ignored() -> None:
    s = DemandSubmission.model_validate(body(category=" electricity ", school_urn=" 100001"))
    assert (s.category, s.school_urn) == ("electricity", "100001")


def test_request_hash_ignores_the_kafka_fields_and_field_order() -> None:
    plain = DemandSubmission.model_validate(body())
    kafka = KafkaSubmission.model_validate(body(submission_id="s-1", trust_id="1001"))
    reordered = DemandSubmission.model_validate(dict(reversed(list(body().items()))))
    assert request_hash(plain) == request_hash(kafka) == request_hash(reordered)
    assert request_hash(plain) != request_hash(
        DemandSubmission.model_validate(body(term_months=36))
    )


def test_the_hash_covers_every_field_of_a_submission() -> None:
    # The domain names them; the edge's model must have exactly those (and the Kafka ones more).
    assert list(HASHED_FIELDS) == sorted(DemandSubmission.model_fields)


def _hash_as_first_written(submission: DemandSubmission) -> str:
    # The definition the stored hashes were made with: a retry must still match them.
    fields = submission.model_dump(mode="json", include=set(DemandSubmission.model_fields))
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()


_texts = st.text(st.characters(blacklist_categories=["Cc", "Cs"]), min_size=1, max_size=40).filter(
    str.strip
)


@given(
    quantity=st.decimals(min_value=Decimal("0.000001"), max_value=QUANTITY_MAX, places=6),
    price=st.decimals(min_value=0, max_value=PRICE_MAX, places=4),
    unit=_texts.filter(lambda unit: len(unit.strip()) <= 32),  # a unit is at most 32 characters
    supplier=st.none() | _texts,
    notes=st.none() | _texts,
    term=st.integers(1, 120),
    exponent=st.booleans(),
)
def test_request_hash_is_the_hash_first_written(
    quantity: Decimal,
    price: Decimal,
    unit: str,
    supplier: str | None,
    notes: str | None,
    term: int,
    exponent: bool,
) -> None:
    submission = DemandSubmission.model_validate(
        body(
            quantity=f"{quantity:E}" if exponent else str(quantity),
            current_unit_price=str(price),
            unit=unit,
            current_supplier=supplier,
            notes=notes,
            term_months=term,
            category="électricité ✓",
        )
    )
    assert request_hash(submission) == _hash_as_first_written(submission)


def test_amendment_keeps_what_is_left_out_and_refuses_null_for_required_fields() -> None:
    patch = DemandAmendment.model_validate({"quantity": "5", "notes": None})
    assert patch.model_fields_set == {"quantity", "notes"}
    with pytest.raises(ValidationError) as exc:
        DemandAmendment.model_validate({"quantity": None, "term_months": None, "x": 1})
    assert {e["loc"][0] for e in exc.value.errors()} == {"quantity", "term_months", "x"}
    with pytest.raises(ValidationError):
        DemandAmendment.model_validate({"current_unit_price": "0.12345"})


def test_withdrawal_reason_is_optional_and_limited() -> None:
    assert WithdrawalRequest.model_validate({}).reason is None
    with pytest.raises(ValidationError):
        WithdrawalRequest.model_validate({"reason": "x" * 501})


# --- Kafka records ----------------------------------------------------------------------------


def record(**changes: Any) -> bytes:
    return json.dumps(body(**({"submission_id": "sub-1", "trust_id": "1001"} | changes))).encode()


def test_a_good_record() -> None:
    submission = read_record(record())
    assert isinstance(submission, KafkaSubmission)
    assert (submission.submission_id, submission.trust_id) == ("sub-1", "1001")


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (None, "empty record"),
        (b"", "empty record"),
        (b"{not json", "malformed JSON"),
        (b"\xff\xfe\x00", "malformed JSON"),
        (b"[1, 2]", "invalid submission: record: Input should be an object"),
        (record(quantity=1.5), "invalid submission: quantity: send decimals as strings"),
        (record(term_months="24"), "invalid submission: term_months: Input should be a valid int"),
        (record(colour="red"), "invalid submission: colour: unknown field"),
        (record(submission_id=...), "invalid submission: submission_id: Field required"),
        (record(trust_id="TR01"), "invalid submission: trust_id: a trust code is digits"),
        (record(notes="x" * 70_000), "oversized payload: 70"),
    ],
)
def test_bad_records_say_why(value: bytes | None, reason: str) -> None:
    result = read_record(value)
    assert isinstance(result, str)
    assert result.startswith(reason), result


def test_the_size_limit_is_on_bytes() -> None:
    value = record()
    assert not isinstance(read_record(value, max_bytes=len(value)), str)
    assert read_record(value, max_bytes=len(value) - 1) == (
        f"oversized payload: {len(value)} bytes (the limit is {len(value) - 1})"
    )
