"""Reading a demand CSV: its columns are the JSON submission's field names (DESIGN.md section 6),
plus an optional `submission_id` that makes re-sending a row safe. Every row stands or falls on
its own; only a file whose header cannot be read is refused as a whole."""

import csv
import io
import re
from dataclasses import dataclass, field

from pydantic import ValidationError

from services.demand.rules import CsvSubmission, error_reason

COLUMNS = tuple(CsvSubmission.model_fields)
REQUIRED_COLUMNS = tuple(n for n, f in CsvSubmission.model_fields.items() if f.is_required())
MAX_ROWS = 50_000


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
class CsvRow:
    line: int
    submission: CsvSubmission


@dataclass
class DemandCsv:
    rows: list[CsvRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    data_rows: int = 0  # rows that were not blank, valid or not


def _header(cells: list[str]) -> list[str]:
    header = [c.strip() for c in cells]
    problems: list[tuple[str, str]] = []
    unknown = [c for c in header if c not in COLUMNS]
    if unknown:
        problems.append(("header", f"unknown columns: {', '.join(unknown)}"))
    repeated = sorted({c for c in header if header.count(c) > 1})
    if repeated:
        problems.append(("header", f"repeated columns: {', '.join(repeated)}"))
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
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


def parse_demand_csv(text: str, max_rows: int = MAX_ROWS) -> DemandCsv:
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff")))
    result = DemandCsv()
    try:
        header = _header(next(reader, []))
        while True:
            line = reader.line_num + 1
            cells = next(reader, None)
            if cells is None:
                break
            if not any(c.strip() for c in cells):
                continue
            result.data_rows += 1
            if result.data_rows > max_rows:
                raise CsvFileError([("body", f"more than {max_rows} rows; split the file")])
            if len(cells) != len(header):
                reason = f"the row has {len(cells)} cells; the header has {len(header)}"
                result.errors.append(RowError(line, None, reason))
                continue
            try:
                submission = CsvSubmission.model_validate(_values(header, cells))
            except ValidationError as exc:
                result.errors.extend(
                    RowError(line, str(e["loc"][0]) if e["loc"] else None, error_reason(e["msg"]))
                    for e in exc.errors()
                )
                continue
            result.rows.append(CsvRow(line, submission))
    except csv.Error as exc:
        raise CsvFileError(
            [("body", f"line {reader.line_num}: not readable as CSV: {exc}")]
        ) from exc
    return result
