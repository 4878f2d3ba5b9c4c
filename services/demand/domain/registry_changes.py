"""What a registry (re)load changes: the events it must emit and the demand it must withdraw.

Only real changes count. A school moving between trusts leaves the old one and joins the new one;
a row without a trust for a school we hold in a trust means it left (GIAS blanks the trust code);
a school that leaves or closes takes its open demand lines with it: they are withdrawn, so no trust
tenders for a school that is no longer its own or no longer open."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from services.demand.domain.schools import CLOSED, School


@dataclass(frozen=True)
class Departure:
    urn: str
    trust_id: str  # the trust it left
    reason: str


class Registry(Protocol):
    """What a registry file says: the schools in a trust, and the URNs of those in none."""

    @property
    def schools(self) -> Sequence[School]: ...
    @property
    def without_trust(self) -> Sequence[str]: ...


@dataclass
class RegistryChanges:
    joined: list[School] = field(default_factory=list)  # new, moved, rejoined or changed
    left: list[Departure] = field(default_factory=list)
    unchanged: int = 0
    # (urn, reason): schools whose open demand lines are withdrawn
    withdraw: list[tuple[str, str]] = field(default_factory=list)


def registry_changes(file: Registry, in_trusts: Mapping[str, School]) -> RegistryChanges:
    """`in_trusts`: the schools the registry holds now in a trust, by URN."""
    changes = RegistryChanges()
    for school in file.schools:
        before = in_trusts.get(school.urn)
        if before == school:
            changes.unchanged += 1
            continue
        changes.joined.append(school)
        if before is None:
            continue
        if before.trust_id != school.trust_id:
            changes.left.append(
                Departure(school.urn, before.trust_id, f"moved to trust {school.trust_id}")
            )
            changes.withdraw.append((school.urn, f"school moved to trust {school.trust_id}"))
        elif school.status == CLOSED and before.status != CLOSED:
            changes.withdraw.append((school.urn, "school closed"))
    for urn in file.without_trust:
        before = in_trusts.get(urn)
        if before is not None:
            changes.left.append(Departure(urn, before.trust_id, "no longer in a trust"))
            changes.withdraw.append((urn, f"school left trust {before.trust_id}"))
    return changes
