"""Reading a demand CSV: its columns are the JSON submission's field names (docs/http-api.md,
the demand import), plus an optional `submission_id` that makes re-sending a row safe. Every row
stands or falls on its own; only a file whose header cannot be read is refused as a whole.
Edge parsing (pydantic): the rows become submissions of the shape the domain reads."""

import csv
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from pydantic import BaseModel, ValidationError

from services.demand.rules import CsvSubmission, error_reason

COLUMNS = tuple(CsvSubmission.model_fields)
REQUIRED_COLUMNS = tuple(n for n, f in CsvSubmission.model_fields.items() if f.is_required())
MAX_ROWS = 50_000
# What a row is read as: a demand submission, or another model with the same rules for a CSV
# (a spend line: services/demand/spend_rules.py).
M = TypeVar("M", bound=BaseModel)


class CsvFileError(ValueError):
    """The file as a whole cannot be read: (field, reason) pairs."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{f}: {r}" for f, r in errors))
        self.errors = errors


@dataclass(frozen=True)
class RowError:
    line: int
    column: str | None  # None: the row as a whole
    reason: str


@dataclass(frozen=True)
class Row(Generic[M]):
    line: int
    submission: M


@dataclass
class CsvChunk(Generic[M]):
    rows: list[Row[M]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    data_rows: int = 0  # rows that were not blank, valid or not

    def add(self, row: Row[M] | list[RowError]) -> None:
        """One data row: its submission, or why it is refused."""
        self.data_rows += 1
        if isinstance(row, Row):
            self.rows.append(row)
        else:
            self.errors.extend(row)


CsvRow = Row[CsvSubmission]
DemandCsv = CsvChunk[CsvSubmission]


def _header(cells: list[str], model: type[BaseModel]) -> list[str]:
    header = [c.strip() for c in cells]
    problems: list[tuple[str, str]] = []
    unknown = [c for c in header if c not in model.model_fields]
    if unknown:
        problems.append(("header", f"unknown columns: {', '.join(unknown)}"))
    repeated = sorted({c for c in header if header.count(c) > 1})
    if repeated:
        problems.append(("header", f"repeated columns: {', '.join(repeated)}"))
    required = (n for n, f in model.model_fields.items() if f.is_required())
    missing = [c for c in required if c not in header]
    if missing:
        problems.append(("header", f"missing columns: {', '.join(missing)}"))
    if problems:
        raise CsvFileError(problems)
    return header


def _values(header: list[str], cells: list[str]) -> dict[str, object]:
    values: dict[str, object] = {}
    for name, cell in zip(header, cells, strict=True):
        text = cell.strip()
        if not text:
            continue  # an empty cell is a field left out
        # CSV has only text; a whole number of months is still a whole number.
        values[name] = (
            int(text) if name == "term_months" and re.fullmatch(r"[0-9]+", text) else text
        )
    return values


def _row(header: list[str], line: int, cells: list[str], model: type[M]) -> Row[M] | list[RowError]:
    if len(cells) != len(header):
        reason = f"the row has {len(cells)} cells; the header has {len(header)}"
        return [RowError(line, None, reason)]
    try:
        submission = model.model_validate(_values(header, cells))
    except ValidationError as exc:
        return [
            RowError(line, str(e["loc"][0]) if e["loc"] else None, error_reason(e["msg"]))
            for e in exc.errors()
        ]
    return Row(line, submission)


def read_rows(
    lines: Iterable[str], model: type[M], max_rows: int = MAX_ROWS
) -> Iterator[Row[M] | list[RowError]]:
    """Each data row in turn, blank rows passed over: its `model`, or why it is refused. The
    header is read when the first row is asked for; a file that cannot be read raises
    CsvFileError (at the point where it is found)."""
    reader = csv.reader(lines)
    try:
        header = _header(next(reader, []), model)
        data_rows = 0
        while True:
            line = reader.line_num + 1
            cells = next(reader, None)
            if cells is None:
                return
            if not any(c.strip() for c in cells):
                continue
            data_rows += 1
            if data_rows > max_rows:
                raise CsvFileError([("body", f"more than {max_rows} rows; split the file")])
            yield _row(header, line, cells, model)
    except csv.Error as exc:
        raise CsvFileError(
            [("body", f"line {reader.line_num}: not readable as CSV: {exc}")]
        ) from exc


def parse_demand_csv(text: str, max_rows: int = MAX_ROWS) -> DemandCsv:
    result = DemandCsv()
    for row in read_rows(io.StringIO(text.removeprefix("\ufeff")), CsvSubmission, max_rows):
        result.add(row)
    return result
