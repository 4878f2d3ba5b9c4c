"""Reading a GIAS establishments extract (or a file with its column headers) into school records.

Extra columns are ignored; rows without a trust are skipped and counted, so a national extract
loads as it is (their URNs are kept: a school we hold in a trust that now has none has left it).
"""

import csv
import io
import re
from dataclasses import dataclass, field

from shared.http import field_error

URN, NAME, TRUST_CODE, TRUST_NAME = "URN", "EstablishmentName", "Trusts (code)", "Trusts (name)"
PHASE, POSTCODE, LA = "PhaseOfEducation (name)", "Postcode", "LA (name)"
PUPILS, STATUS = "NumberOfPupils", "EstablishmentStatus (name)"
REQUIRED = (URN, NAME, TRUST_CODE, TRUST_NAME, STATUS)
CLOSED = "Closed"


@dataclass(frozen=True)
class School:
    urn: str
    trust_id: str
    trust_name: str
    name: str
    phase: str | None
    postcode: str | None
    local_authority: str | None
    pupils: int | None
    status: str

    @property
    def open(self) -> bool:
        return self.status != CLOSED


@dataclass
class RegistryFile:
    schools: list[School] = field(default_factory=list)
    skipped_without_trust: int = 0
    without_trust: list[str] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)


def _optional(row: dict[str, str], column: str) -> str | None:
    value = (row.get(column) or "").strip()
    return value or None


def parse_registry(text: str) -> RegistryFile:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    result = RegistryFile()
    missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
    if missing:
        result.errors.append(field_error("header", f"missing columns: {', '.join(missing)}"))
        return result
    first_line: dict[str, int] = {}
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
            if re.fullmatch(r"\d{6}", urn):
                result.without_trust.append(urn)
            continue
        if not re.fullmatch(r"\d{6}", urn):
            result.errors.append(field_error(f"line {line}.{URN}", "a URN is 6 digits"))
        elif not trust_id.isdigit():
            result.errors.append(field_error(f"line {line}.{TRUST_CODE}", "a trust code is digits"))
        elif pupils is not None and not pupils.isdigit():
            result.errors.append(field_error(f"line {line}.{PUPILS}", "not a whole number"))
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
    return result
