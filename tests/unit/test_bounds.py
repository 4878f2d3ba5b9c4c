"""Bounded values on every way in (issue 12): each money, quantity and date field accepts its
documented range, refuses a value just outside it naming the field, and the worst combination
accepted fits every column and computation downstream."""

import json
from dataclasses import astuple
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Context, Decimal
from typing import Any
from uuid import uuid4

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from services.demand.demand_csv import parse_demand_csv
from services.demand.ingress_records import read_record
from services.demand.registry import parse_registry, read_registry
from services.demand.rules import DemandAmendment, DemandSubmission, KafkaSubmission
from services.savings.domain.ledger import Allocation, ledger_figures
from services.tendering.domain.pricing import PriceTier, TierError, check_tiers
from services.tendering.domain.route import estimated_value
from services.tendering.schemas import BidIn, EvaluationIn, OpenTenderIn, WeightsIn
from shared.domain.money import percentage, to_pence
from tests.helpers import demand_line

TODAY = datetime.now(UTC).date()
NEXT_YEAR = (TODAY + timedelta(days=365)).isoformat()
# The ledger's columns: money NUMERIC(18, 2), saving % NUMERIC(21, 2).
MONEY_COLUMN = Decimal("1e16")
PCT_COLUMN = Decimal("1e19")
# Written out here, not imported, so a change of range is a deliberate change of this test.
QUANTITY_MAX = Decimal("100000000")
PRICE_MAX = Decimal("1000000")
EXACT = Context(prec=100)
PENNY = Decimal("0.01")


def body(**changes: Any) -> dict[str, Any]:
    return demand_line(NEXT_YEAR, **changes)


def refusals(model: type[BaseModel], data: dict[str, Any]) -> dict[str, str]:
    """field path -> reason, validating JSON as the HTTP API does."""
    try:
        model.model_validate_json(json.dumps(data))
    except ValidationError as exc:
        return {".".join(str(p) for p in e["loc"]): e["msg"] for e in exc.errors()}
    return {}


# --- demand: each field at its limits -------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "accepted", "refused", "reason"),
    [
        ("quantity", "100000000", "100000000.000001", "must be at most 100,000,000"),
        ("quantity", "0.000001", "0", "greater than 0"),
        ("current_unit_price", "1000000", "1000000.0001", "must be at most 1,000,000"),
        ("current_unit_price", "0", "-0.0001", "greater than or equal to 0"),
        ("current_unit_price", "0.0001", "0.00001", "at most 4 decimal places"),
        ("contract_end", "2000-01-01", "1999-12-31", "must not be before 2000-01-01"),
        ("contract_end", NEXT_YEAR, "0001-01-01", "must not be before 2000-01-01"),
        ("term_months", 120, 121, "less than or equal to 120"),
        ("term_months", 1, 0, "greater than or equal to 1"),
    ],
)
def test_each_demand_field_has_a_range(
    field: str, accepted: object, refused: object, reason: str
) -> None:
    assert refusals(DemandSubmission, body(**{field: accepted})) == {}
    problems = refusals(DemandSubmission, body(**{field: refused}))
    assert list(problems) == [field]
    assert reason in problems[field]


def test_the_values_of_the_issue_are_refused_naming_the_field() -> None:
    assert refusals(DemandSubmission, body(current_unit_price="1000000000000000")) == {
        "current_unit_price": "must be at most 1,000,000"
    }
    for value in ("1e30", "1E+131072", "1E+999999"):
        assert refusals(DemandSubmission, body(current_unit_price=value)) == {
            "current_unit_price": "must be at most 1,000,000"
        }
        assert refusals(DemandSubmission, body(quantity=value)) == {
            "quantity": "must be at most 100,000,000"
        }
    assert refusals(DemandSubmission, body(contract_end="0001-01-01")) == {
        "contract_end": "must not be before 2000-01-01"
    }


@pytest.mark.parametrize("value", ["NaN", "nan", "sNaN", "Infinity", "-Infinity", "inf"])
def test_nan_and_infinity_are_refused_with_a_reason(value: str) -> None:
    for field in ("quantity", "current_unit_price"):
        reason = refusals(DemandSubmission, body(**{field: value}))[field]
        assert "NaN, Infinity" in reason


@pytest.mark.parametrize("value", ["\u0661\u0662", "12²", "1_000", "1,000", "0x10", "12 kWh", ""])
def test_only_ascii_decimal_text_is_read(value: str) -> None:
    # Python's Decimal reads Arabic-Indic "12" as 12 and "1_000" as 1000; the wire format does not.
    assert (
        "must be a finite decimal" in refusals(DemandSubmission, body(quantity=value))["quantity"]
    )


@pytest.mark.parametrize(
    ("sent", "value"),
    [("1.45E+5", "145000"), ("1e3", "1000"), (" 12 ", "12"), ("+5", "5"), (".5", "0.5")],
)
def test_exponent_notation_in_range_is_the_same_exact_number(sent: str, value: str) -> None:
    submission = DemandSubmission.model_validate_json(json.dumps(body(quantity=sent)))
    assert submission.quantity == Decimal(value)


def test_exponent_notation_beyond_the_places_is_refused() -> None:
    assert refusals(DemandSubmission, body(current_unit_price="1E-5")) == {
        "current_unit_price": "at most 4 decimal places"
    }
    assert refusals(DemandSubmission, body(quantity="1E-7")) == {
        "quantity": "at most 6 decimal places"
    }


def test_negative_zero_is_zero() -> None:
    submission = DemandSubmission.model_validate(body(current_unit_price="-0"))
    assert submission.current_unit_price == 0


def test_floats_are_still_refused_with_their_own_reason() -> None:
    assert "not JSON numbers" in refusals(DemandSubmission, body(quantity=1.5))["quantity"]
    # A JSON integer is fine, however it is written, while it is in range.
    assert refusals(DemandSubmission, body(quantity=100_000_000)) == {}
    assert "at most" in refusals(DemandSubmission, body(quantity=10**40))["quantity"]


# --- in another unit: the range holds once converted ----------------------------------------


@pytest.mark.parametrize(
    ("changes", "field", "reason"),
    [
        # 100,001 MWh is 100,001,000 kWh.
        ({"quantity": "100001", "unit": "MWh"}, "quantity", "at most 100,000,000 kWh"),
        # 1,001 GBP per Wh is 1,001,000 GBP per kWh.
        ({"current_unit_price": "1001", "unit": "Wh"}, "current_unit_price", "per kWh"),
        # 0.000001 Ml is 0.001 m3: fine; 0.000001 litre would be 1e-9 m3: fine (9 places).
    ],
)
def test_a_converted_value_must_also_be_in_range(
    changes: dict[str, str], field: str, reason: str
) -> None:
    problems = refusals(DemandSubmission, body(**changes))
    assert list(problems) == [field]
    assert reason in problems[field]


def test_converted_values_at_the_limits_are_accepted() -> None:
    assert refusals(DemandSubmission, body(quantity="100000", unit="MWh")) == {}
    assert refusals(DemandSubmission, body(current_unit_price="1000", unit="kWh")) == {}
    # 0.0001 GBP per GWh is 1e-10 GBP per kWh: the finest price the ledger is sized for.
    assert (
        refusals(DemandSubmission, body(quantity="1", current_unit_price="0.0001", unit="GWh"))
        == {}
    )
    assert (
        refusals(
            DemandSubmission,
            body(category="water", unit="litre", quantity="0.000001", current_unit_price="0.0001"),
        )
        == {}
    )


def test_amendments_have_the_same_ranges() -> None:
    assert refusals(DemandAmendment, {"quantity": "100000000.5"}) == {
        "quantity": "must be at most 100,000,000"
    }
    assert list(refusals(DemandAmendment, {"unit": "GWh", "quantity": "101"})) == ["quantity"]
    assert refusals(DemandAmendment, {"contract_end": "1999-12-31"}) == {
        "contract_end": "must not be before 2000-01-01"
    }
    assert refusals(DemandAmendment, {"current_unit_price": "NaN"}) != {}
    assert refusals(DemandAmendment, {"quantity": "100000000", "contract_end": "2000-01-01"}) == {}


def test_kafka_records_out_of_range_say_why() -> None:
    def record(**changes: Any) -> bytes:
        return json.dumps(body(submission_id="s-1", trust_id="1001", **changes)).encode()

    assert isinstance(read_record(record(quantity="100000000")), KafkaSubmission)
    assert read_record(record(current_unit_price="1E+131072")) == (
        "invalid submission: current_unit_price: must be at most 1,000,000"
    )
    assert read_record(record(contract_end="0001-01-01")) == (
        "invalid submission: contract_end: must not be before 2000-01-01"
    )
    assert read_record(record(quantity="200", unit="GWh")) == (
        "invalid submission: quantity: must be at most 100,000,000 kWh once converted from GWh"
    )
    reason = read_record(record(quantity="Infinity"))
    assert isinstance(reason, str)
    assert reason.startswith("invalid submission: quantity: must be a finite decimal")


def test_csv_rows_out_of_range_are_reported_by_column() -> None:
    header = "school_urn,category,quantity,unit,current_unit_price,contract_end,term_months"
    rows = [
        f"100001,electricity,100000000,kWh,1000000,{NEXT_YEAR},120",
        f"100001,electricity,1e30,kWh,0.2870,{NEXT_YEAR},24",
        f"100001,electricity,145000,kWh,1000000.0001,{NEXT_YEAR},24",
        "100001,electricity,145000,kWh,0.2870,0001-01-01,24",
        f"100001,electricity,145000,kWh,NaN,{NEXT_YEAR},24",
    ]
    parsed = parse_demand_csv("\n".join([header, *rows]) + "\n")
    assert [row.line for row in parsed.rows] == [2]
    assert [(e.line, e.column, e.reason) for e in parsed.errors] == [
        (3, "quantity", "must be at most 100,000,000"),
        (4, "current_unit_price", "must be at most 1,000,000"),
        (5, "contract_end", "must not be before 2000-01-01"),
        (6, "current_unit_price", parsed.errors[3].reason),
    ]
    assert "NaN" in parsed.errors[3].reason


# --- bids and tenders -------------------------------------------------------------------------


def bid(*tiers: tuple[object, object], quality: object = "70") -> dict[str, Any]:
    return {
        "quality_score": quality,
        "price_tiers": [{"min_quantity": m, "unit_price": p} for m, p in tiers],
    }


def test_bid_tiers_at_their_limits() -> None:
    assert refusals(BidIn, bid(("0", "1000000"), ("1000000000000000", "0.0001"))) == {}
    assert refusals(BidIn, bid(("0", "1000000.0001"))) == {
        "price_tiers.0.unit_price": "must be at most 1,000,000"
    }
    assert refusals(BidIn, bid(("0", "1E+999999"))) == {
        "price_tiers.0.unit_price": "must be at most 1,000,000"
    }
    assert refusals(BidIn, bid(("0", "0"))) == {
        "price_tiers.0.unit_price": "Input should be greater than 0"
    }
    assert refusals(BidIn, bid(("0", "0.00001"))) == {
        "price_tiers.0.unit_price": "at most 4 decimal places"
    }
    assert refusals(BidIn, bid(("0", "1"), ("1000000000000000.1", "1"))) == {
        "price_tiers.1.min_quantity": "must be at most 1,000,000,000,000,000"
    }
    assert list(refusals(BidIn, bid(("0", "NaN")))) == ["price_tiers.0.unit_price"]
    assert list(refusals(BidIn, bid(("-1", "1")))) == ["price_tiers.0.min_quantity"]
    # Quality is the buyer's score: one an older client still sends is accepted and ignored.
    assert refusals(BidIn, bid(("0", "1"), quality="100.5")) == {}


def test_a_bids_supplier_name_is_trimmed_and_bounded() -> None:
    named = bid(("0", "1")) | {"supplier_name": "  Volt Energy Ltd  "}
    assert BidIn.model_validate(named).supplier_name == "Volt Energy Ltd"
    assert BidIn.model_validate(bid(("0", "1"))).supplier_name is None
    assert refusals(BidIn, named | {"supplier_name": "x" * 200}) == {}
    assert refusals(BidIn, named | {"supplier_name": " " + "x" * 200 + " "}) == {}
    assert refusals(BidIn, named | {"supplier_name": "x" * 201}) == {
        "supplier_name": "String should have at most 200 characters"
    }
    assert refusals(BidIn, named | {"supplier_name": "   "}) == {
        "supplier_name": "String should have at least 1 character"
    }
    assert list(refusals(BidIn, named | {"supplier_name": "Volt\nEnergy"})) == ["supplier_name"]
    assert list(refusals(BidIn, named | {"supplier_name": 42})) == ["supplier_name"]


def test_quality_scores_at_their_limits() -> None:
    def score(quality: object) -> dict[str, Any]:
        return {"scores": [{"bid_id": str(uuid4()), "quality_score": quality}]}

    assert refusals(EvaluationIn, score("100")) == {}
    assert refusals(EvaluationIn, score("0")) == {}
    assert refusals(EvaluationIn, score("100.5")) == {
        "scores.0.quality_score": "must be at most 100"
    }
    assert list(refusals(EvaluationIn, score("1E-999999"))) == ["scores.0.quality_score"]
    assert list(refusals(EvaluationIn, {"scores": []})) == ["scores"]


def test_tier_rules_in_the_domain_have_the_same_limits() -> None:
    top = [PriceTier(Decimal(0), PRICE_MAX), PriceTier(Decimal("1e15"), Decimal("0.0001"))]
    assert check_tiers(top) == tuple(top)
    for tiers, field in (
        ([PriceTier(Decimal(0), PRICE_MAX + Decimal("0.0001"))], "price_tiers[0].unit_price"),
        (
            [PriceTier(Decimal(0), Decimal(1)), PriceTier(Decimal("1e15") + 1, Decimal(1))],
            "price_tiers[1].min_quantity",
        ),
        (
            [PriceTier(Decimal(0), Decimal(1)), PriceTier(Decimal("1.0000001"), Decimal(1))],
            "price_tiers[1].min_quantity",
        ),
    ):
        with pytest.raises(TierError) as exc:
            check_tiers(tiers)
        assert exc.value.field == field


def test_weights_are_from_0_to_1() -> None:
    assert refusals(WeightsIn, {"price": "1", "quality": "0"}) == {}
    assert refusals(WeightsIn, {"price": "0.6667", "quality": "0.3333"}) == {}
    assert refusals(WeightsIn, {"price": "1E+1000000", "quality": "0"}) == {
        "price": "must be at most 1"
    }
    assert list(refusals(WeightsIn, {"price": "-0.1", "quality": "NaN"})) == ["price", "quality"]


def test_a_tender_closes_at_most_a_year_ahead() -> None:
    def tender(closes_at: datetime) -> dict[str, Any]:
        return {"trust_id": "1001", "category": "electricity", "closes_at": closes_at.isoformat()}

    now = datetime.now(UTC)
    assert refusals(OpenTenderIn, tender(now + timedelta(days=365))) == {}
    assert refusals(OpenTenderIn, tender(now + timedelta(days=367))) == {
        "closes_at": "must be at most 366 days ahead"
    }
    assert list(refusals(OpenTenderIn, {**tender(now), "closes_at": "9999-12-31T23:59:59Z"})) == [
        "closes_at"
    ]
    assert list(refusals(OpenTenderIn, {**tender(now), "term_months": 121})) == ["term_months"]


# --- registry -------------------------------------------------------------------------------

HEADER = (
    "URN,EstablishmentName,Trusts (code),Trusts (name),EstablishmentStatus (name),NumberOfPupils"
)


def registry(*rows: str) -> str:
    return "\n".join([HEADER, *rows]) + "\n"


@pytest.mark.parametrize(
    ("pupils", "reason"),
    [
        ("99999999999", "must be at most 100,000"),
        ("9" * 5000, "must be at most 100,000"),
        ("100001", "must be at most 100,000"),
        ("²", "not a whole number (ASCII digits 0-9)"),
        ("\u0661\u0662", "not a whole number (ASCII digits 0-9)"),
        ("-5", "not a whole number (ASCII digits 0-9)"),
        ("12.5", "not a whole number (ASCII digits 0-9)"),
    ],
)
def test_number_of_pupils_out_of_range_is_a_row_error(pupils: str, reason: str) -> None:
    parsed = parse_registry(registry(f"100001,A,1001,Trust 1001,Open,{pupils}"))
    assert parsed.schools == []
    assert parsed.errors == [{"field": "line 2.NumberOfPupils", "reason": reason}]


def test_number_of_pupils_at_its_limits() -> None:
    parsed = parse_registry(
        registry("100001,A,1001,T,Open,0", "100002,B,1001,T,Open,100000", "100003,C,1001,T,Open,")
    )
    assert parsed.errors == []
    assert [s.pupils for s in parsed.schools] == [0, 100000, None]


def test_urns_and_trust_codes_are_ascii_digits() -> None:
    parsed = parse_registry(
        registry("\u0661\u0660\u0660\u0660\u0660\u0661,A,1001,T,Open,", "100002,B,¹²,T,Open,")
    )
    assert parsed.errors == [
        {"field": "line 2.URN", "reason": "a URN is 6 digits"},
        {"field": "line 3.Trusts (code)", "reason": "a trust code is digits"},
    ]


def test_registry_text_with_a_nul_is_a_row_error() -> None:
    parsed = parse_registry(registry("100001,A\x00B,1001,T,Open,"))
    assert parsed.errors == [
        {"field": "line 2.EstablishmentName", "reason": "must not contain control characters"}
    ]


def test_a_registry_upload_that_is_not_utf8_names_the_byte() -> None:
    data = registry("100001,Ecole,1001,T,Open,").encode().replace(b"Ecole", b"\xc9cole")
    parsed = read_registry(data)
    assert parsed.schools == []
    at = data.index(b"\xc9")
    assert parsed.errors == [{"field": "body", "reason": f"not UTF-8 text (byte {at})"}]
    with_bom = b"\xef\xbb\xbf" + registry("100001,A,1001,T,Open,12").encode()
    assert [s.pupils for s in read_registry(with_bom).schools] == [12]


def test_an_unreadable_registry_csv_is_an_error_not_a_failure() -> None:
    parsed = parse_registry(registry(f'100001,"{"x" * 200_000}",1001,T,Open,'))
    assert [e["field"] for e in parsed.errors] == ["line 2"]
    assert "not readable CSV" in parsed.errors[0]["reason"]


# --- what the ranges guarantee downstream ---------------------------------------------------


def exact_figures(q: Decimal, b: Decimal, p: Decimal, s: Decimal, term: int) -> tuple[Any, ...]:
    """The ledger formulas (docs/domain-rules.md, "Savings, per school"), worked here in
    100-digit arithmetic and rounded once."""

    def pence(x: Decimal) -> Decimal:
        return x.quantize(PENNY, rounding=ROUND_HALF_UP, context=EXACT)

    baseline = EXACT.multiply(q, b)
    contract = EXACT.multiply(q, p)
    saving = EXACT.subtract(baseline, contract)
    term_saving = EXACT.divide(EXACT.multiply(saving, term), 12)
    pct = (
        None
        if baseline == 0
        else EXACT.multiply(EXACT.divide(saving, baseline), 100).quantize(
            PENNY, rounding=ROUND_HALF_UP, context=EXACT
        )
    )
    scale = EXACT.multiply(q, EXACT.subtract(s, p))
    return (pence(baseline), pence(contract), pence(saving), pence(term_saving), pct, pence(scale))


def figures_of(q: Decimal, b: Decimal, p: Decimal, s: Decimal, term: int) -> tuple[Any, ...]:
    return astuple(ledger_figures(Allocation("100001", q, b, p, s), term))


def test_ledger_figures_are_exact_beyond_28_digits() -> None:
    # q x b = 2,600,990,310,009.02499999999999999999: pence 0.02, not the 0.03 that rounding
    # the product to Python's default 28 digits first would give.
    q, b = Decimal("5099990.500000001"), Decimal("509999.0499999999")
    figures = figures_of(q, b, Decimal("0.0001"), Decimal("0.0001"), 12)
    assert figures[0] == Decimal("2600990310009.02")
    assert figures == exact_figures(q, b, Decimal("0.0001"), Decimal("0.0001"), 12)


@pytest.mark.parametrize(
    ("q", "b", "p", "term"),
    [
        (QUANTITY_MAX, PRICE_MAX, PRICE_MAX, 120),  # the largest costs
        (QUANTITY_MAX, Decimal(0), PRICE_MAX, 120),  # the largest cost increase, no percentage
        (QUANTITY_MAX, PRICE_MAX, Decimal("0.0001"), 120),  # the largest saving
        (QUANTITY_MAX, Decimal("1e-10"), PRICE_MAX, 120),  # the largest percentage
        (Decimal("1e-9"), Decimal("1e-10"), Decimal("0.0001"), 1),  # the smallest
    ],
)
def test_the_worst_combinations_fit_the_ledger_columns(
    q: Decimal, b: Decimal, p: Decimal, term: int
) -> None:
    figures = figures_of(q, b, p, PRICE_MAX, term)
    assert figures == exact_figures(q, b, p, PRICE_MAX, term)
    *money, pct = [*figures[:4], figures[5], figures[4]]
    assert all(abs(x) < MONEY_COLUMN for x in money), figures
    assert pct is None if b == 0 else abs(pct) < PCT_COLUMN


def scaled(high: Decimal, places: int, low: int = 0) -> st.SearchStrategy[Decimal]:
    """Decimals from low to `high` with `places` places (as integers: fast to generate)."""
    top = int(high.scaleb(places))
    return st.integers(low, top).map(lambda n: Decimal(n).scaleb(-places))


quantities = scaled(QUANTITY_MAX, 9, low=1)
prices = scaled(PRICE_MAX, 10)
bid_prices = scaled(PRICE_MAX, 4, low=1)


@settings(max_examples=300)
@given(
    q=quantities | st.just(QUANTITY_MAX),
    b=prices | st.sampled_from([Decimal(0), Decimal("1e-10"), PRICE_MAX]),
    p=bid_prices | st.sampled_from([Decimal("0.0001"), PRICE_MAX]),
    s=bid_prices,
    term=st.integers(1, 120),
)
def test_any_accepted_line_fits_the_ledger_exactly(
    q: Decimal, b: Decimal, p: Decimal, s: Decimal, term: int
) -> None:
    figures = figures_of(q, b, p, s, term)
    assert figures == exact_figures(q, b, p, s, term)
    assert all(abs(x) < MONEY_COLUMN for x in (*figures[:4], figures[5]))
    assert figures[4] is None or abs(figures[4]) < PCT_COLUMN


def test_a_pool_of_maximal_lines_has_an_exact_value() -> None:
    # 1,000 lines of 100,000,000 units at 1,000,000 GBP over 120 months with 20% VAT:
    # 1e3 x 1e14 x 10 = 1e18 ex VAT; 2e17 VAT; 1.2e18 inc VAT (the default context failed here).
    lines = [(QUANTITY_MAX, PRICE_MAX)] * 1000
    assert estimated_value(lines, 120, Decimal("0.2")) == (
        Decimal("1000000000000000000.00"),
        Decimal("200000000000000000.00"),
        Decimal("1200000000000000000.00"),
    )
    finest = [(Decimal("99999999.999999999"), Decimal("999999.9999999999"))] * 3
    per_line = EXACT.multiply(Decimal("99999999.999999999"), Decimal("999999.9999999999"))
    ex_vat = EXACT.multiply(per_line, 3).quantize(PENNY, rounding=ROUND_HALF_UP, context=EXACT)
    assert estimated_value(finest, 12, Decimal(0))[0] == ex_vat


def test_rounding_and_percentages_of_large_figures_do_not_fail() -> None:
    assert to_pence(Decimal("1e30") + Decimal("0.005")) == Decimal("1e30") + Decimal("0.01")
    assert percentage(Decimal("-1e24"), Decimal("1e-10")) == Decimal("-1e36")
    assert percentage(Decimal(1), Decimal(0)) is None
