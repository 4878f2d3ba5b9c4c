"""Demand line rules: who may submit for which school, canonical units, amendments, statuses."""

import base64
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest

from services.demand.domain.lines import (
    AWARDED,
    IN_TENDER,
    OPEN,
    WITHDRAWN,
    ActingFor,
    LineFields,
    Refusal,
    RegisteredSchool,
    amended_line,
    canonical_line,
    change_refusal,
    first_uses,
    school_refusal,
)
from services.demand.domain.paging import Position, decode_cursor, encode_cursor
from services.demand.rules import DemandAmendment, DemandSubmission
from shared.domain.categories import Category
from tests.helpers import demand_line

CATEGORIES = {
    "electricity": Category(
        "electricity", "Electricity", "kWh", "09310000-5", Decimal("0.2"), False
    ),
    "water": Category("water", "Water supply", "m3", "65100000-4", Decimal("0"), False),
    "catering": Category("catering", "School catering", "meal", "55524000-9", Decimal("0.2"), True),
}
END = date.today() + timedelta(days=200)
OPEN_SCHOOL = RegisteredSchool("100001", "1001", "Open")


def submission(**changes: Any) -> DemandSubmission:
    return DemandSubmission.model_validate(demand_line(END.isoformat(), **changes))


# --- who may submit for which school ----------------------------------------------------------


def test_a_school_submits_for_itself() -> None:
    assert school_refusal("100001", OPEN_SCHOOL, ActingFor(school_urn="100001")) is None


def test_a_school_may_not_submit_for_another_school() -> None:
    refusal = school_refusal("100002", OPEN_SCHOOL, ActingFor(school_urn="100001"))
    assert refusal == Refusal(
        "school_urn",
        "a token for school 100001 submits only for that school, not 100002",
        forbidden=True,
    )


def test_a_trust_submits_for_its_own_schools_only() -> None:
    assert school_refusal("100001", OPEN_SCHOOL, ActingFor(trust_id="1001")) is None
    refusal = school_refusal("100001", OPEN_SCHOOL, ActingFor(trust_id="1002"))
    assert refusal == Refusal("school_urn", "school 100001 is not in trust 1002", forbidden=True)


def test_unknown_left_and_closed_schools_are_refused() -> None:
    unknown = school_refusal("100009", None, ActingFor(trust_id="1001"))
    assert unknown == Refusal("school_urn", "URN 100009 is not in the registry")
    left = RegisteredSchool("100001", None, "Open")
    assert school_refusal("100001", left, ActingFor(school_urn="100001")) == Refusal(
        "school_urn", "school 100001 is not in a trust"
    )
    # For its old trust it is simply not one of theirs any more.
    assert school_refusal("100001", left, ActingFor(trust_id="1001")) == Refusal(
        "school_urn", "school 100001 is not in trust 1001", forbidden=True
    )
    closed = RegisteredSchool("100001", "1001", "Closed")
    assert school_refusal("100001", closed, ActingFor(trust_id="1001")) == Refusal(
        "school_urn", "school 100001 is closed"
    )


# --- canonical units --------------------------------------------------------------------------


def test_a_line_in_the_categorys_unit_is_kept_as_sent() -> None:
    line = canonical_line(submission(), CATEGORIES)
    assert isinstance(line, LineFields)
    assert (line.unit, line.quantity, line.current_unit_price) == (
        "kWh",
        Decimal("145000"),
        Decimal("0.2870"),
    )


def test_a_compatible_unit_is_converted_exactly() -> None:
    # 145 MWh at 287.0000 GBP/MWh = 145,000 kWh at 0.287 GBP/kWh (the same 41,615 GBP a year)
    line = canonical_line(
        submission(quantity="145", unit="MWh", current_unit_price="287.0000"), CATEGORIES
    )
    assert isinstance(line, LineFields)
    assert (line.unit, str(line.quantity), str(line.current_unit_price)) == (
        "kWh",
        "145000",
        "0.287",
    )
    # 1,200,000 litres at 0.0021 GBP/litre = 1,200 m3 at 2.1 GBP/m3
    water = canonical_line(
        submission(category="water", quantity="1200000", unit="litre", current_unit_price="0.0021"),
        CATEGORIES,
    )
    assert isinstance(water, LineFields)
    assert (water.unit, str(water.quantity), str(water.current_unit_price)) == ("m3", "1200", "2.1")


def test_an_incompatible_unit_is_refused_naming_the_accepted_ones() -> None:
    assert canonical_line(submission(unit="m3"), CATEGORIES) == Refusal(
        "unit", "electricity is measured in kWh; send one of: kWh, Wh, MWh, GWh"
    )
    assert canonical_line(submission(category="catering", unit="kWh"), CATEGORIES) == Refusal(
        "unit", "catering is measured in meal; send one of: meal"
    )


def test_an_unknown_category_is_refused_naming_the_known_ones() -> None:
    assert canonical_line(submission(category="rockets"), CATEGORIES) == Refusal(
        "category", "unknown category 'rockets'; known categories: catering, electricity, water"
    )


# --- amendments -------------------------------------------------------------------------------


def current() -> LineFields:
    line = canonical_line(submission(notes="old", current_supplier="Acme"), CATEGORIES)
    assert isinstance(line, LineFields)
    return line


def amend(**patch: Any) -> LineFields | Refusal:
    return amended_line(current(), DemandAmendment.model_validate(patch), CATEGORIES)


def test_an_amendment_changes_only_what_it_sends() -> None:
    after = amend(quantity="150000", term_months=36)
    assert after == LineFields(
        school_urn="100001",
        category="electricity",
        unit="kWh",
        quantity=Decimal("150000"),
        current_unit_price=Decimal("0.2870"),
        current_supplier="Acme",
        contract_end=END,
        term_months=36,
        notes="old",
    )


def test_null_clears_an_optional_field() -> None:
    after = amend(notes=None, current_supplier=None)
    assert isinstance(after, LineFields)
    assert (after.notes, after.current_supplier) == (None, None)


def test_an_empty_amendment_changes_nothing() -> None:
    assert amend() == current()
    # the same values sent again are no change either (150000 == 150000.0)
    assert amend(quantity="145000.0", school_urn="100001", category="electricity") == current()


def test_an_amendment_unit_applies_to_the_quantity_and_price_it_sends() -> None:
    # 0.15 GWh = 150,000 kWh; the price was not sent, so it stays 0.2870 per kWh
    after = amend(quantity="0.15", unit="GWh")
    assert isinstance(after, LineFields)
    assert (str(after.quantity), after.current_unit_price, after.unit) == (
        "150000",
        Decimal("0.2870"),
        "kWh",
    )
    assert amend(quantity="3", unit="litre") == Refusal(
        "unit", "electricity is measured in kWh; send one of: kWh, Wh, MWh, GWh"
    )


@pytest.mark.parametrize(("field", "value"), [("school_urn", "100002"), ("category", "water")])
def test_school_and_category_cannot_change(field: str, value: str) -> None:
    assert amend(**{field: value}) == Refusal(
        field, "cannot be changed; withdraw this line and submit a new one"
    )


def test_which_statuses_allow_a_change() -> None:
    tender = UUID("00000000-0000-0000-0000-000000000001")
    assert change_refusal(OPEN, None) is None
    assert change_refusal(IN_TENDER, tender) == (
        f"the line is in open tender {tender}; it can change only if that is cancelled"
    )
    assert change_refusal(AWARDED, tender) == f"the line was awarded in tender {tender}"
    assert change_refusal(WITHDRAWN, None) == "the line has been withdrawn"


# --- one key twice in a batch; cursors --------------------------------------------------------


def test_first_uses_point_repeats_at_the_first_use_of_their_key() -> None:
    assert first_uses(["a", None, "b", "a", None, "a", "b"]) == [None, None, None, 0, None, 0, 2]
    assert first_uses([]) == []


def test_cursor_round_trip() -> None:
    position = Position(datetime(2026, 5, 1, 9, 30, 0, 123456, tzinfo=UTC), uuid4())
    assert decode_cursor(encode_cursor(position)) == position


# A fixed id: the tests' names hold the cursors, and parallel workers must collect the same names.
SOME_ID = UUID("3f2c7a9e-8b1d-4e6f-a5c4-2d9b0e7f1a63")
NAIVE = base64.urlsafe_b64encode(f"2026-05-01T09:30:00|{SOME_ID}".encode()).decode()
# Well formed, but out of range once in UTC (the database driver failed on them: a 500).
EARLIEST = base64.urlsafe_b64encode(f"0001-01-01T00:00:00+14:00|{SOME_ID}".encode()).decode()
LATEST = base64.urlsafe_b64encode(f"9999-12-31T23:59:59-14:00|{SOME_ID}".encode()).decode()


@pytest.mark.parametrize("cursor", ["", "abc", "!!!", "aGVsbG8", NAIVE, EARLIEST, LATEST, "é"])
def test_a_cursor_not_issued_by_the_service_is_refused(cursor: str) -> None:
    with pytest.raises(ValueError, match="not a cursor"):
        decode_cursor(cursor)
