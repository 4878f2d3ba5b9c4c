"""The supplier's bid form as typed (services/web/domain/bids.py): rows added and removed,
blank fields named, the tendering API's refusals mapped to the row's field."""

from services.web.domain.bids import (
    MAX_TIERS,
    BidForm,
    Problem,
    Tier,
    bid_body,
    blanks,
    refusals,
    typed,
    with_tier_added,
    with_tier_removed,
)


def test_a_new_form_has_one_tier_from_zero() -> None:
    assert BidForm().tiers == (Tier("0", ""),)


def test_rows_are_added_up_to_the_apis_limit_and_removed_by_number() -> None:
    form = typed(" Volt Ltd ", "", ["0", "1000"], ["0.25", "0.24 "])
    assert form == BidForm("Volt Ltd", "", (Tier("0", "0.25"), Tier("1000", "0.24")))
    added = with_tier_added(form)
    assert added.tiers == (*form.tiers, Tier())
    assert with_tier_removed(added, 1).tiers == (Tier("1000", "0.24"), Tier())
    assert with_tier_removed(BidForm(tiers=(Tier("5", "1"),)), 1).tiers == (Tier(),)
    full = BidForm(tiers=(Tier(),) * MAX_TIERS)
    assert with_tier_added(full) == full


def test_a_row_missing_a_field_gets_it_blank() -> None:
    assert typed("", "", ["0", "10"], ["0.2"]).tiers == (Tier("0", "0.2"), Tier("10", ""))


def test_blank_fields_and_a_missing_lot_are_named() -> None:
    form = BidForm(tiers=(Tier("0", ""), Tier("", "0.2")))
    assert blanks(form, lots=3) == [
        Problem("lot", "Select the lot you are bidding for"),
        Problem("tier-1-unit_price", "Enter the unit price for price tier 1"),
        Problem("tier-2-min_quantity", "Enter the minimum quantity for price tier 2"),
    ]
    assert blanks(form, lots=1)[0].field == "tier-1-unit_price"


def test_the_body_sends_what_was_typed_and_leaves_out_what_was_not() -> None:
    form = BidForm("", "", (Tier("0", "0.2450"),))
    assert bid_body(form) == {"price_tiers": [{"min_quantity": "0", "unit_price": "0.2450"}]}
    assert bid_body(BidForm("Volt", "2"))["lot"] == "2"


def test_the_apis_refusals_are_shown_at_the_rows_fields() -> None:
    errors = [
        {"field": "body.price_tiers.1.unit_price", "reason": "Input should be greater than 0"},
        {"field": "price_tiers[0].min_quantity", "reason": "the first tier must start at 0"},
        {"field": "lot", "reason": "this tender has lots 1 to 3"},
        {"field": "body.supplier_name", "reason": "String should have at most 200 characters"},
        {"field": "body.price_tiers", "reason": "List should have at most 50 items"},
    ]
    assert refusals(errors, "Invalid request") == [
        Problem("tier-2-unit_price", "Unit price for price tier 2 must be greater than 0"),
        Problem(
            "tier-1-min_quantity",
            "Minimum quantity for price tier 1: the first tier must start at 0",
        ),
        Problem("lot", "Lot: this tender has lots 1 to 3"),
        Problem("supplier_name", "Trading name must have at most 200 characters"),
        Problem("tier-1-min_quantity", "Price tiers: List should have at most 50 items"),
    ]
    assert refusals([], "tender closed") == [Problem("tier-1-min_quantity", "tender closed")]
