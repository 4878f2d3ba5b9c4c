"""Lots: a tender's lines split by the schools' local authority or phase of education, each lot
evaluated and awarded on its own; and a tender's status from its lots' statuses."""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from services.tendering.domain.pooling import PoolLine


class LotsBy(StrEnum):
    LOCAL_AUTHORITY = "local_authority"
    PHASE = "phase"


class Status(StrEnum):
    """Of a lot; and of a tender, summarised from its lots by `tender_status`."""

    OPEN = "open"
    AWARDED = "awarded"
    NO_BIDS = "no_bids"  # closed at the deadline without a bid; its lines were released
    CANCELLED = "cancelled"


# The lot of schools whose local authority or phase the registry does not give.
NOT_RECORDED = "not recorded"


@dataclass(frozen=True)
class Lot:
    number: int
    name: str | None  # None: the tender is not split into lots
    lines: tuple[PoolLine, ...]

    @property
    def total_quantity(self) -> Decimal:
        return sum((line.quantity for line in self.lines), Decimal(0))


def form_lots(lines: Sequence[PoolLine], labels: Mapping[str, str | None] | None) -> list[Lot]:
    """One lot per label of the lines' schools (by URN), numbered from 1 in name order; without
    labels, a single lot of every line."""
    if labels is None:
        return [Lot(1, None, tuple(lines))]
    groups: dict[str, list[PoolLine]] = {}
    for line in lines:
        label = (labels.get(line.school_urn) or "").strip() or NOT_RECORDED
        groups.setdefault(label, []).append(line)
    return [
        Lot(number, name, tuple(group))
        for number, (name, group) in enumerate(sorted(groups.items()), start=1)
    ]


def tender_status(lots: Iterable[Status]) -> Status:
    """open while a lot is open; awarded when a lot was awarded; no_bids when every lot closed
    without a bid; otherwise cancelled."""
    statuses = set(lots)
    if not statuses:
        raise ValueError("lots: a tender has at least one lot")
    if Status.OPEN in statuses:
        return Status.OPEN
    if Status.AWARDED in statuses:
        return Status.AWARDED
    if statuses == {Status.NO_BIDS}:
        return Status.NO_BIDS
    return Status.CANCELLED
