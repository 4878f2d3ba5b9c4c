"""Reading a GIAS establishments extract (or a file with its column headers) into school records
(docs/domain-rules.md, "Identity").

Extra columns are ignored; rows without a trust are skipped and counted, so a national extract
loads as it is (their URNs are kept: a school we hold in a trust that now has none has left it).
"""

import csv
import io
import re
from dataclasses import dataclass, field

from services.demand.domain.schools import TRUST_CODE_PATTERN, URN_PATTERN, School
from shared.domain.ranges import pupils_refusal
from shared.http import field_error

URN, NAME, TRUST_CODE, TRUST_NAME = "URN", "EstablishmentName", "Trusts (code)", "Trusts (name)"
PHASE, POSTCODE, LA = "PhaseOfEducation (name)", "Postcode", "LA (name)"
PUPILS, STATUS = "NumberOfPupils", "EstablishmentStatus (name)"
REQUIRED = (URN, NAME, TRUST_CODE, TRUST_NAME, STATUS)


@dataclass
class RegistryFile:
    schools: list[School] = field(default_factory=list)
    skipped_without_trust: int = 0
    without_trust: list[str] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)


def _optional(row: dict[str, str], column: str) -> str | None:
    value = (row.get(column) or "").strip()
    return value or None


_URN = re.compile(URN_PATTERN)
_TRUST_CODE = re.compile(TRUST_CODE_PATTERN)
# PostgreSQL cannot store NUL; no registry value has a control character.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_TEXT_COLUMNS = (NAME, TRUST_NAME, PHASE, POSTCODE, LA, STATUS)


def read_registry(data: bytes) -> RegistryFile:
    """A registry upload as it arrives: UTF-8 (with or without a byte order mark), else an
    error naming the first bad byte instead of a failure."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        result = RegistryFile()
        result.errors.append(field_error("body", f"not UTF-8 text (byte {exc.start})"))
        return result
    return parse_registry(text)


def _row_error(row: dict[str, str], urn: str, trust_id: str, pupils: str | None) -> tuple[str, str]:
    """(column, reason) of the first thing wrong with a row that has a trust, or ("", "")."""
    if not _URN.fullmatch(urn):
        return URN, "a URN is 6 digits"
    if not _TRUST_CODE.fullmatch(trust_id):
        return TRUST_CODE, "a trust code is digits"
    if pupils is not None and (reason := pupils_refusal(pupils)) is not None:
        return PUPILS, reason
    for column in _TEXT_COLUMNS:
        if _CONTROL.search(row.get(column) or ""):
            return column, "must not contain control characters"
    return "", ""


def parse_registry(text: str) -> RegistryFile:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    result = RegistryFile()
    first_line: dict[str, int] = {}
    try:
        missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
        if missing:
            result.errors.append(field_error("header", f"missing columns: {', '.join(missing)}"))
            return result
        _read_rows(reader, result, first_line)
    except csv.Error as exc:  # e.g. a field over the csv module's size limit
        line = reader.line_num + 1
        result.errors.append(field_error(f"line {line}", f"not readable CSV: {exc}"))
    return result


def _read_rows(
    reader: "csv.DictReader[str]", result: RegistryFile, first_line: dict[str, int]
) -> None:
    for line, row in enumerate(reader, start=2):
        trust_id = (row.get(TRUST_CODE) or "").strip()
        urn = (row.get(URN) or "").strip()
        pupils = _optional(row, PUPILS)
        if urn and urn in first_line:
            reason = f"URN {urn} is also on line {first_line[urn]}"
            result.errors.append(field_error(f"line {line}.{URN}", reason))
            continue
        first_line[urn] = line
        if not trust_id:
            result.skipped_without_trust += 1
            if _URN.fullmatch(urn):
                result.without_trust.append(urn)
            continue
        column, reason = _row_error(row, urn, trust_id, pupils)
        if column:
            result.errors.append(field_error(f"line {line}.{column}", reason))
        else:
            result.schools.append(
                School(
                    urn=urn,
                    trust_id=trust_id,
                    trust_name=(row.get(TRUST_NAME) or "").strip(),
                    name=(row.get(NAME) or "").strip(),
                    phase=_optional(row, PHASE),
                    postcode=_optional(row, POSTCODE),
                    local_authority=_optional(row, LA),
                    pupils=int(pupils) if pupils is not None else None,
                    status=(row.get(STATUS) or "").strip(),
                )
            )
