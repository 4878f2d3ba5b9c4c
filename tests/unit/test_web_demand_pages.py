"""The demand and spend pages as pure renderings of what demand's API answers: an import report
read row by row, the API's field errors at the form's fields, filters, prices and paging."""

from typing import Any

from services.web.demand_pages import (
    LINE_FIELDS,
    Filters,
    Outcome,
    Page,
    demand_page,
    field_errors,
    file_refused,
    import_report,
    line_page,
    unit_price,
)
from services.web.pages import FieldError, Link, Person

MANAGER = Person(
    "Kim Walsh", "kim@trust.example", "manager", "7391", [Link("Demand", "/demand", "")]
)
SCHOOL = Person("Jo", "jo@school.example", "school", "739101", [Link("Your demand", "/demand", "")])


def a_line(**changes: Any) -> dict[str, Any]:
    line = {
        "demand_id": "0d1c4f2e-5b9a-4c1e-8f00-1a2b3c4d5e6f",
        "trust_id": "7391",
        "school_urn": "739101",
        "category": "electricity",
        "unit": "kWh",
        "quantity": "145000.000",
        "current_unit_price": "0.2870",
        "current_supplier": None,
        "contract_end": "2027-09-28",
        "term_months": 24,
        "notes": None,
        "status": "open",
        "status_reason": None,
        "tender_id": None,
    }
    return line | changes


def test_each_refused_row_is_named_by_its_row_column_and_reason() -> None:
    report = import_report(
        {
            "rows": 4,
            "accepted": 2,
            "refused": 2,
            "accepted_rows": [],
            "refused_rows": [
                {"line": 3, "column": "quantity", "reason": "Input should be greater than 0"},
                {"line": 5, "column": None, "reason": "school 1 is not in the registry"},
            ],
        }
    )
    assert report.refused == [
        FieldError("file", "Row 3: quantity: Input should be greater than 0"),
        FieldError("file", "Row 5: school 1 is not in the registry"),
    ]
    assert report.text() == "Upload finished: 2 of 4 rows accepted, 2 rows refused."
    whole = file_refused("Invalid CSV", [{"field": "header", "reason": "missing columns: unit"}])
    assert whole == [FieldError("file", "The file cannot be used: missing columns: unit")]


def test_the_apis_field_errors_go_to_the_forms_fields() -> None:
    errors = [
        {"field": "body.quantity", "reason": "Input should be greater than 0"},
        {"field": "body.school_urn", "reason": "school 739101 is closed"},
    ]
    assert field_errors(errors, "Invalid request", LINE_FIELDS) == [
        FieldError("quantity", "Quantity a year: Input should be greater than 0"),
        FieldError("category", "school 739101 is closed"),
    ]
    assert field_errors([], "no such category", LINE_FIELDS) == [
        FieldError("category", "no such category")
    ]


def test_a_urn_filter_is_checked_and_empty_filters_are_left_out() -> None:
    assert Filters(school_urn="12").problems()[0].field == "school_urn"
    assert Filters(school_urn="\uff17\uff13\uff19\uff11\uff10\uff11").problems()  # not ASCII digits
    assert Filters(school_urn="739101", category="gas").params() == {
        "school_urn": "739101",
        "category": "gas",
    }


def test_unit_prices_keep_their_fractions_of_a_penny() -> None:
    assert unit_price("0.2870") == "£0.287"
    assert unit_price("2.1") == "£2.10"
    assert unit_price("1250") == "£1,250.00"


def test_what_the_api_holds_is_escaped_and_pages_link_on() -> None:
    hostile = a_line(current_supplier="<script>x</script>", school_urn="739101")
    page = demand_page(MANAGER, "t", Filters(category="electricity"), Page([hostile], "abc", "z"))
    assert "<script>" not in page
    assert 'href="/demand?category=electricity&amp;cursor=abc" rel="next">Next page' in page
    assert '<a href="/demand?category=electricity">First page</a>' in page
    assert '<label class="label" for="school_urn">School URN</label>' in page
    mine = demand_page(SCHOOL, "t", Filters(), Page(), Outcome(notice="Demand line added."))
    assert "School URN</label>" not in mine and "There are no demand lines yet." in mine
    assert "Demand line added." in mine and "<title>Your demand" in mine


def test_a_line_that_cannot_change_has_no_forms() -> None:
    open_line = line_page(SCHOOL, "t", a_line())
    assert "Save changes" in open_line and "Withdraw line" in open_line
    assert 'value="145000"' in open_line and 'value="0.287"' in open_line
    in_tender = line_page(SCHOOL, "t", a_line(status="in_tender"))
    assert "Save changes" not in in_tender and "Withdraw line" not in in_tender
    assert "so it can change only if that tender is cancelled" in in_tender
