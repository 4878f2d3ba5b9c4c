"""Reading a demand CSV: the header as a whole, then every row on its own, by line number."""

import asyncio
from collections.abc import AsyncIterator
from datetime import date, timedelta
from decimal import Decimal
from uuid import uuid4

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.demand import csv_import
from services.demand.api import AcceptedRowOut, ImportReportOut, RefusedRowOut
from services.demand.demand_csv import (
    MAX_ROWS,
    CsvFileError,
    DemandCsv,
    RowError,
    parse_demand_csv,
)

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


# --- the streamed reading of an import ----------------------------------------------------------
# services/demand/csv_import.py reads the body as it arrives, in chunks; it must answer exactly
# as parse_demand_csv does for the whole body decoded at once.

Answer = tuple[list[tuple[int, object]], list[RowError], int] | tuple[str, object]


def _whole(data: bytes, max_rows: int = MAX_ROWS) -> Answer:
    """What the body read whole gives: rows, errors and data rows, or why the file is refused."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return "not utf-8", f"not UTF-8 text (byte {exc.start})"
    try:
        parsed = parse_demand_csv(text, max_rows=max_rows)
    except CsvFileError as exc:
        return "file", exc.errors
    return [(r.line, r.submission) for r in parsed.rows], parsed.errors, parsed.data_rows


async def _chunks(data: bytes, sizes: list[int]) -> AsyncIterator[bytes]:
    start, n = 0, 0
    while start < len(data):
        size = sizes[n % len(sizes)]
        yield data[start : start + size]
        start, n = start + size, n + 1


def _read_streamed(
    data: bytes, sizes: list[int], read_bytes: int, chunk_rows: int, max_rows: int = MAX_ROWS
) -> DemandCsv:
    """The body read as the import streams it: received and read back in small pieces."""
    file = asyncio.run(csv_import.spool(_chunks(data, sizes), max_bytes=10**9))
    whole = DemandCsv()
    with file:
        lines = csv_import.text_lines(file, read_bytes)
        for chunk in csv_import.demand_rows(lines, chunk_rows, max_rows):
            assert 0 < chunk.data_rows <= chunk_rows
            whole.rows += chunk.rows
            whole.errors += chunk.errors
            whole.data_rows += chunk.data_rows
    return whole


def _streamed(
    data: bytes, sizes: list[int], read_bytes: int, chunk_rows: int, max_rows: int = MAX_ROWS
) -> Answer:
    """As `_whole`, from the streamed reading."""
    try:
        parsed = _read_streamed(data, sizes, read_bytes, chunk_rows, max_rows)
    except csv_import.NotUtf8 as exc:
        return "not utf-8", str(exc)
    except CsvFileError as exc:
        return "file", exc.errors
    return [(r.line, r.submission) for r in parsed.rows], parsed.errors, parsed.data_rows


GOOD_ROW = f"100001,gas,5,kWh,0.1,{END},24\n"
NOTES_HEADER = f"{HEADER},notes,submission_id"
TRICKY = {
    "BOM, CRLF, quoted line breaks, a refused row among good ones": (
        f"\ufeff{NOTES_HEADER}\r\n"
        f'100001,electricity,5,kWh,0.1,{END},24,"meter 1,\r\nmain site",s-1\r\n'
        f"100001,electricity,0,kWh,0.1,{END},24,,s-2\r\n"
        "\r\n"
        f'100002,gas,5,MWh,61.5,{END},36,"café, m³\nand ""quotes""",\r\n'
        f"100002,gas,5,kWh,0.12345,2027-02-30,36,,\r\n"
        f"100002,gas,5,kWh,0.1,{END},36\r\n"
        f"100002,gas,5,kWh,0.1,{END},36,,s-9"
    ).encode(),
    "two byte order marks": f"\ufeff\ufeff{HEADER}\n100001,gas,5,kWh,0.1,{END},24\n".encode(),
    "a BOM alone": b"\xef\xbb\xbf",
    "empty": b"",
    "header only, no line end": HEADER.encode(),
    "a header that cannot be read": f"\ufeff{HEADER},colour\r\n".encode(),
    "a row that is not UTF-8": (
        f"{HEADER}\n{GOOD_ROW}".encode() + b"100001,gas,5,kWh,0.1," + b"\xe9t\xe9,24\n"
    ),
    "not UTF-8 after a BOM": b"\xef\xbb\xbf" + HEADER.encode() + b"\n\xff\n",
    "cut inside a character": HEADER.encode() + b"\n100001,caf\xc3",
    "a cut BOM": b"\xef\xbb",
    "a line break inside an unquoted cell": (
        f"{HEADER}\n100001,gas,5,kWh,0.1,{END},24\n100001,gas\r5,kWh,0.1,{END},24\n".encode()
    ),
    "a quote left open": f'{NOTES_HEADER}\n100001,gas,5,kWh,0.1,{END},24,"open,\n'.encode(),
}


@pytest.mark.parametrize("data", TRICKY.values(), ids=TRICKY.keys())
@pytest.mark.parametrize(
    ("sizes", "read_bytes", "chunk_rows"),
    [([1], 1, 1), ([3, 1, 7], 2, 2), ([64 * 1024], 64 * 1024, 2000)],
)
def test_streamed_reading_answers_as_reading_the_whole_body(
    data: bytes, sizes: list[int], read_bytes: int, chunk_rows: int
) -> None:
    assert _streamed(data, sizes, read_bytes, chunk_rows) == _whole(data)


def test_the_tricky_file_is_read_as_expected() -> None:
    """What the comparison above compares: the tricky file's rows and errors, spelled out."""
    parsed = _read_streamed(TRICKY[next(iter(TRICKY))], [5], 3, 2)
    assert parsed.data_rows == 6
    assert {r.line: r.submission.notes for r in parsed.rows} == {
        2: "meter 1,\r\nmain site",
        6: 'café, m³\nand "quotes"',
        10: None,
    }
    assert [(e.line, e.column) for e in parsed.errors] == [
        (4, "quantity"),
        (8, "current_unit_price"),
        (8, "contract_end"),
        (9, None),
    ]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (
            TRICKY["a row that is not UTF-8"],
            f"not UTF-8 text (byte {len(HEADER) + 1 + len(GOOD_ROW) + 21})",
        ),
        (TRICKY["not UTF-8 after a BOM"], f"not UTF-8 text (byte {len(HEADER) + 1})"),
        (TRICKY["cut inside a character"], f"not UTF-8 text (byte {len(HEADER) + 11})"),
    ],
)
def test_a_body_that_is_not_utf8_names_the_byte(data: bytes, reason: str) -> None:
    assert _streamed(data, [4], 4, 2) == ("not utf-8", reason)


def test_too_many_rows_refuse_the_streamed_file_too() -> None:
    data = (HEADER + "\n" + f"100001,gas,5,kWh,0.1,{END},24\n" * 4).encode()
    assert _read_streamed(data, [10], 10, 1, max_rows=4).data_rows == 4
    assert _streamed(data, [10], 10, 1, max_rows=3) == _whole(data, max_rows=3)
    assert _whole(data, max_rows=3)[0] == "file"


async def _never_ending() -> AsyncIterator[bytes]:
    while True:
        yield b"x" * 1000


def test_a_body_past_the_limit_is_refused_as_it_arrives() -> None:
    with pytest.raises(csv_import.BodyTooLarge, match="at most 5000 bytes"):
        asyncio.run(csv_import.spool(_never_ending(), max_bytes=5000))


_PIECES = [
    HEADER.split(",")[0],
    "100001",
    ",",
    ",",
    '"',
    '""',
    "\n",
    "\r\n",
    "\r",
    " ",
    "gas",
    "5",
    "kWh",
    "0.1",
    END,
    "24",
    "é",
    "m³",
    "\ufeff",
    "€",
    "\U0001f600",
]


@given(
    body=st.lists(st.sampled_from(_PIECES), max_size=60).map("".join),
    garbage=st.sampled_from([b"", b"\xff", b"\xc3", b"\xe2\x82"]),
    at=st.integers(min_value=0),
    sizes=st.lists(st.integers(min_value=1, max_value=9), min_size=1, max_size=5),
    read_bytes=st.integers(min_value=1, max_value=9),
    chunk_rows=st.integers(min_value=1, max_value=3),
)
@settings(max_examples=300)
def test_streamed_reading_answers_as_reading_the_whole_body_for_any_file(
    body: str, garbage: bytes, at: int, sizes: list[int], read_bytes: int, chunk_rows: int
) -> None:
    encoded = (f"{HEADER},notes\n" + body).encode()
    at %= len(encoded) + 1
    data = encoded[:at] + garbage + encoded[at:]
    assert _streamed(data, sizes, read_bytes, chunk_rows) == _whole(data)


def test_the_import_report_has_the_shape_of_the_api_model() -> None:
    report = csv_import.ImportReport()
    ids = [uuid4(), uuid4()]
    report.rows = 5
    report.accept(2, ids[0], False)
    report.refuse([RowError(3, "unit", 'water is measured in m³: "m3"'), RowError(3, None, "x")])
    report.accept(4, ids[1], True)
    report.refuse([RowError(6, "quantity", "Input should be greater than 0")])
    expected = ImportReportOut(
        rows=5,
        accepted=2,
        refused=2,
        accepted_rows=[
            AcceptedRowOut(line=2, demand_id=ids[0], replayed=False),
            AcceptedRowOut(line=4, demand_id=ids[1], replayed=True),
        ],
        refused_rows=[
            RefusedRowOut(line=3, column="unit", reason='water is measured in m³: "m3"'),
            RefusedRowOut(line=3, column=None, reason="x"),
            RefusedRowOut(line=6, column="quantity", reason="Input should be greater than 0"),
        ],
    )
    assert report.as_dict() == expected.model_dump(mode="json")
    empty = csv_import.ImportReport()
    assert empty.as_dict() == {
        "rows": 0,
        "accepted": 0,
        "refused": 0,
        "accepted_rows": [],
        "refused_rows": [],
    }
