"""Reading a demand CSV: the header as a whole, then every row on its own, by line number."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from services.demand.domain.demand_csv import CsvFileError, RowError, parse_demand_csv

END = (date.today() + timedelta(days=100)).isoformat()
HEADER = "school_urn,category,quantity,unit,current_unit_price,contract_end,term_months"


def test_good_rows_become_submissions() -> None:
    text = (
        f"{HEADER},notes,submission_id\n"
        f"100001,electricity,145000,kWh,0.2870,{END},24,,po-1\n"
        f'100002,gas,12.5,MWh,61.5,{END},36,"two meters, one site",\n'
    )
    parsed = parse_demand_csv(text)
    assert parsed.errors == []
    assert parsed.data_rows == 2
    first, second = parsed.rows
    assert (first.line, first.submission.submission_id, first.submission.notes) == (2, "po-1", None)
    assert first.submission.term_months == 24
    assert (second.line, second.submission.quantity) == (3, Decimal("12.5"))
    assert second.submission.notes == "two meters, one site"
    assert second.submission.submission_id is None


def test_each_bad_row_is_reported_by_line_column_and_reason() -> None:
    text = (
        f"{HEADER}\n"
        f"100001,electricity,145000,kWh,0.2870,{END},24\n"  # line 2: good
        f"100001,electricity,-5,kWh,0.2870,{END},24\n"  # line 3: quantity
        f"100001,electricity,5,kWh,0.12345,2027-02-30,24\n"  # line 4: price and date
        f"12345,electricity,5,kWh,0.1,{END},twelve\n"  # line 5: urn and term
        "\n"  # line 6: blank, skipped
        f"100001,electricity,5,kWh,0.1,{END}\n"  # line 7: a cell short
        f"100001,,5,kWh,0.1,{END},24\n"  # line 8: empty required cell
        f"100001,electricity,5,kWh,0.1,{END},24\n"  # line 9: good
    )
    parsed = parse_demand_csv(text)
    assert [row.line for row in parsed.rows] == [2, 9]
    assert parsed.data_rows == 7  # lines 2-5 and 7-9; the blank line 6 is no row
    assert [(e.line, e.column) for e in parsed.errors] == [
        (3, "quantity"),
        (4, "current_unit_price"),
        (4, "contract_end"),
        (5, "school_urn"),
        (5, "term_months"),
        (7, None),
        (8, "category"),
    ]
    by_place = {(e.line, e.column): e.reason for e in parsed.errors}
    assert by_place[(3, "quantity")] == "Input should be greater than 0"
    assert by_place[(4, "current_unit_price")] == "at most 4 decimal places"
    assert by_place[(5, "school_urn")] == "a URN is 6 digits"
    assert by_place[(7, None)] == "the row has 6 cells; the header has 7"
    assert by_place[(8, "category")] == "Field required"


def test_line_numbers_count_lines_inside_quoted_cells() -> None:
    text = (
        f"{HEADER},notes\n"
        f'100001,electricity,5,kWh,0.1,{END},24,"line one\nline two"\n'  # lines 2-3
        f"100001,electricity,0,kWh,0.1,{END},24,\n"  # line 4
    )
    parsed = parse_demand_csv(text)
    assert parsed.rows[0].submission.notes == "line one\nline two"
    assert parsed.errors == [RowError(4, "quantity", "Input should be greater than 0")]


def test_a_byte_order_mark_and_spaces_in_the_header_are_fine() -> None:
    text = "\ufeff" + HEADER.replace(",", ", ") + f"\n100001,gas,5,kWh,0.1,{END},24\n"
    assert len(parse_demand_csv(text).rows) == 1


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        ("", "missing columns: school_urn, category, quantity"),
        (HEADER.replace("quantity", "qty"), "unknown columns: qty"),
        (f"{HEADER},colour", "unknown columns: colour"),
        (f"{HEADER},unit", "repeated columns: unit"),
    ],
)
def test_a_header_that_cannot_be_read_refuses_the_file(header: str, reason: str) -> None:
    with pytest.raises(CsvFileError) as exc:
        parse_demand_csv(f"{header}\n")
    assert exc.value.errors[0][0] == "header"
    assert exc.value.errors[0][1].startswith(reason)


def test_too_many_rows_refuse_the_file() -> None:
    row = f"100001,gas,5,kWh,0.1,{END},24\n"
    assert len(parse_demand_csv(HEADER + "\n" + row * 3, max_rows=3).rows) == 3
    with pytest.raises(CsvFileError, match="more than 3 rows"):
        parse_demand_csv(HEADER + "\n" + row * 4, max_rows=3)
