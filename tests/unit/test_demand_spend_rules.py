"""Spend line rules (pure): the fields as the edge reads them, the unit conversion, the period,
the implied unit price, who may record for which school, and the demand that uncontracted
spend makes in one step, with its figures worked out by hand."""

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from services.demand.domain.lines import ActingFor, Refusal, RegisteredSchool, school_refusal
from services.demand.domain.spend import (
    DemandFromSpend,
    Invoiced,
    SpendFields,
    demand_from_spend,
    fingerprint,
    period_refusal,
    spend_line,
)
from services.demand.spend_rules import KafkaSpend, SpendSubmission
from tests.unit.test_demand_lines import CATEGORIES

TODAY = date(2026, 6, 15)


def body(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "school_urn": "100001",
        "category": "electricity",
        "supplier": "Acme Energy",
        "invoice_ref": "INV-1",
        "period_start": "2026-01-01",
        "period_end": "2026-03-31",
        "quantity": "12000",
        "amount": "3444.00",
    }
    return {k: v for k, v in (base | changes).items() if v is not ...}


def line(**changes: Any) -> SpendFields | Refusal:
    return spend_line(SpendSubmission.model_validate(body(**changes)), CATEGORIES, TODAY)


def errors(**changes: Any) -> dict[str, str]:
    with pytest.raises(ValidationError) as caught:
        SpendSubmission.model_validate(body(**changes))
    return {str(e["loc"][0]): e["msg"] for e in caught.value.errors()}


def test_a_valid_line_in_the_category_unit() -> None:
    result = line()
    assert result == SpendFields(
        "100001",
        "electricity",
        "kWh",
        "Acme Energy",
        "INV-1",
        date(2026, 1, 1),
        date(2026, 3, 31),
        Decimal(12000),
        Decimal("3444.00"),
    )


def test_a_quantity_in_a_compatible_unit_is_converted_exactly() -> None:
    result = line(quantity="12.345678", unit="MWh")
    assert isinstance(result, SpendFields)
    assert (result.unit, result.quantity) == ("kWh", Decimal("12345.678"))
    wrong = line(unit="litre")
    assert isinstance(wrong, Refusal) and wrong.field == "unit"
    assert wrong.reason.startswith("electricity is measured in kWh; send one of: kWh")
    unknown = line(category="rockets")
    assert isinstance(unknown, Refusal) and unknown.field == "category"


def test_amounts_are_pounds_to_the_penny_from_zero_to_a_trillion() -> None:
    assert "amount" not in _refused(amount="0")
    assert "amount" not in _refused(amount="1000000000000", quantity="1000000")
    assert errors(amount="1.005")["amount"] == "at most 2 decimal places"
    assert errors(amount="1000000000000.01")["amount"] == "must be at most 1,000,000,000,000"
    assert "greater than or equal to 0" in errors(amount="-0.01")["amount"]
    assert "send decimals as strings" in errors(amount=12.5)["amount"]


def _refused(**changes: Any) -> dict[str, str]:
    try:
        SpendSubmission.model_validate(body(**changes))
    except ValidationError as exc:
        return {str(e["loc"][0]): e["msg"] for e in exc.errors()}
    return {}


def test_the_amount_is_at_most_a_million_pounds_per_unit() -> None:
    # 2 kWh at 1,000,000 GBP each is the most 2 kWh may cost; a penny more is refused.
    assert isinstance(line(quantity="2", amount="2000000.00"), SpendFields)
    refused = line(quantity="2", amount="2000000.01")
    assert isinstance(refused, Refusal) and refused.field == "amount"
    # Converted first: 0.000002 MWh is 0.002 kWh, at most 2,000 GBP.
    assert isinstance(line(quantity="0.000002", unit="MWh", amount="2000.00"), SpendFields)
    assert isinstance(line(quantity="0.000002", unit="MWh", amount="2000.01"), Refusal)


def test_quantities_keep_the_demand_ranges() -> None:
    assert "greater than 0" in errors(quantity="0")["quantity"]
    assert errors(quantity="100000001")["quantity"] == "must be at most 100,000,000"
    assert "once converted from GWh" in errors(quantity="101", unit="GWh")["quantity"]


def test_supplier_and_invoice_ref_are_trimmed_non_empty_and_bounded() -> None:
    parsed = SpendSubmission.model_validate(body(supplier="  Acme  ", invoice_ref=" A-1 "))
    assert (parsed.supplier, parsed.invoice_ref) == ("Acme", "A-1")
    assert "at least 1 character" in errors(supplier="   ")["supplier"]
    assert "at most 200 characters" in errors(supplier="x" * 201)["supplier"]
    assert "at least 1 character" in errors(invoice_ref="")["invoice_ref"]
    assert "at most 100 characters" in errors(invoice_ref="x" * 101)["invoice_ref"]
    assert "line breaks" in errors(invoice_ref="a\nb")["invoice_ref"]
    assert "Field required" in errors(supplier=...)["supplier"]


def test_the_period() -> None:
    # Both ends counted: 1 January to 1 January is one day; a leap year's 366 days are fine.
    assert period_refusal(date(2024, 1, 1), date(2024, 1, 1), TODAY) is None
    assert period_refusal(date(2024, 1, 1), date(2024, 12, 31), TODAY) is None
    assert period_refusal(date(2024, 1, 1), date(2025, 1, 1), TODAY) == Refusal(
        "period_end", "an invoice period spans at most 366 days (both ends counted)"
    )
    assert period_refusal(date(2026, 2, 2), date(2026, 2, 1), TODAY) == Refusal(
        "period_end", "must not be before period_start"
    )
    # Advance invoices: a future period is fine, up to five years ahead.
    assert period_refusal(date(2031, 1, 1), date(2031, 6, 15), TODAY) is None
    refused = period_refusal(date(2031, 1, 1), date(2031, 6, 16), TODAY)
    assert refused is not None and refused.field == "period_end"
    refused = period_refusal(date(1999, 12, 31), date(2000, 1, 1), TODAY)
    assert refused is not None and refused.field == "period_start"
    assert "YYYY-MM-DD" in errors(period_start="20260101")["period_start"]


def test_closed_schools_record_spend_but_the_scope_still_holds() -> None:
    closed = RegisteredSchool("100001", "1001", "Closed")
    manager = ActingFor(trust_id="1001")
    assert school_refusal("100001", closed, manager, closed_ok=True) is None
    assert school_refusal("100001", closed, manager) is not None
    other = school_refusal("100001", closed, ActingFor(trust_id="1002"), closed_ok=True)
    assert other is not None and other.forbidden
    school = school_refusal("100001", closed, ActingFor(school_urn="100002"), closed_ok=True)
    assert school is not None and school.forbidden


def test_the_fingerprint_tells_a_resend_from_another_line() -> None:
    first = line()
    # The same line: the other unit, the amount written to the penny, the Kafka record's form.
    assert isinstance(first, SpendFields)
    for same in (
        line(quantity="12", unit="MWh"),
        line(quantity="12000.000", unit="kWh", amount="3444"),
        spend_line(KafkaSpend.model_validate(body(trust_id="1001")), CATEGORIES, TODAY),
    ):
        assert isinstance(same, SpendFields)
        assert fingerprint(same) == fingerprint(first)
    for other in (line(amount="3444.01"), line(supplier="Acme"), line(period_end="2026-03-30")):
        assert isinstance(other, SpendFields)
        assert fingerprint(other) != fingerprint(first)


# --- demand from uncontracted spend, by hand ---------------------------------------------------


def test_two_invoices_make_a_year_of_demand() -> None:
    lines = [
        Invoiced(date(2026, 1, 1), date(2026, 1, 31), Decimal("1000"), Decimal("287.00"), "A"),
        Invoiced(date(2026, 2, 1), date(2026, 2, 28), Decimal("500.5"), Decimal("150.15"), "B"),
    ]
    # Days: 1 January to 28 February, both counted: 31 + 28 = 59.
    # Quantity: 1000 + 500.5 = 1500.5 kWh; a year of it: 1500.5 x 365 / 59 = 547682.5 / 59.
    #   59 x 9282 = 547638, remainder 44.5; 44.5 / 59 = 0.7542372...: 9282.754237 (6 places).
    # Price: (287.00 + 150.15) / 1500.5 = 437.15 / 1500.5; 1500.5 x 0.2913 = 437.09565,
    #   remainder 0.05435 / 1500.5 = 0.0000362...: 0.2913362...: 0.2913 (4 places).
    # Supplier: the latest invoice's (ends 28 February): B.
    assert demand_from_spend(lines) == DemandFromSpend(
        quantity=Decimal("9282.754237"),
        current_unit_price=Decimal("0.2913"),
        current_supplier="B",
        first_day=date(2026, 1, 1),
        last_day=date(2026, 2, 28),
        days=59,
        invoices=2,
    )


def test_rounding_is_half_up_and_a_year_is_365_days() -> None:
    # One day's invoice: 0.000001 kWh x 365 / 1 = 0.000365; 0.01 GBP / 200 kWh = 0.00005,
    # exactly half a step of 0.0001: up to 0.0001.
    made = demand_from_spend(
        [Invoiced(date(2026, 3, 1), date(2026, 3, 1), Decimal("200"), Decimal("0.01"), "A")]
    )
    assert isinstance(made, DemandFromSpend)
    assert (made.quantity, made.current_unit_price) == (Decimal("73000"), Decimal("0.0001"))
    # 0.0000015 kWh over 365 days is 0.0000015 a year: half a step of 0.000001, up to 0.000002.
    made = demand_from_spend(
        [Invoiced(date(2025, 1, 1), date(2025, 12, 31), Decimal("0.0000015"), Decimal("0"), "A")]
    )
    assert isinstance(made, DemandFromSpend) and made.quantity == Decimal("0.000002")
    # Overlapping invoices count once each; the span is first start to last end. Equal ends:
    # the later start is the latest invoice.
    made = demand_from_spend(
        [
            Invoiced(date(2025, 1, 1), date(2025, 12, 31), Decimal("100"), Decimal("10"), "A"),
            Invoiced(date(2025, 7, 1), date(2025, 12, 31), Decimal("50"), Decimal("5"), "B"),
        ]
    )
    assert isinstance(made, DemandFromSpend)
    assert (made.quantity, made.current_unit_price, made.current_supplier) == (
        Decimal("150"),
        Decimal("0.1"),
        "B",
    )


def test_spend_that_makes_no_demand_line_says_why() -> None:
    assert demand_from_spend([]) == "no spend"
    tiny = [Invoiced(date(2025, 1, 1), date(2025, 12, 31), Decimal("0.0000004"), Decimal(0), "A")]
    assert "rounds to 0" in str(demand_from_spend(tiny))
    huge = [Invoiced(date(2026, 1, 1), date(2026, 1, 1), Decimal("100000000"), Decimal(0), "A")]
    assert "more than 100,000,000" in str(demand_from_spend(huge))
