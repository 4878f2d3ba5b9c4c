"""Loading the schools registry (a GIAS extract, services/demand/registry.py): an upsert that
emits events only for real changes, and withdraws the open demand of schools that leave their
trust or close (docs/domain-rules.md, "Identity"; docs/events.md, `registry.school_joined`,
`registry.school_left`)."""

from pydantic import BaseModel, ConfigDict

from services.demand import store
from services.demand.amending import withdrawn
from services.demand.domain.registry_changes import registry_changes
from services.demand.domain.schools import School
from services.demand.registry import RegistryFile
from shared.events import SchoolJoined, SchoolLeft, Topics, outgoing
from shared.unit_of_work import UnitOfWork


class RegistryReport(BaseModel):
    # What a load did; the API answers with it as it is (services/demand/api.py).
    model_config = ConfigDict(frozen=True)

    schools: int
    joined: int
    left: int
    unchanged: int
    skipped_without_trust: int
    demand_withdrawn: int


def _joined(school: School) -> SchoolJoined:
    # The event carries the school's registry fields by their names; its trust is the
    # envelope's key, not a field.
    return SchoolJoined.model_validate(school, from_attributes=True)


async def load_registry(
    work: UnitOfWork, registry: RegistryFile, correlation_id: str
) -> RegistryReport:
    """Upsert the schools; emit events only for real changes (new, moved, changed, left)."""
    conn = work.conn
    rows = await store.schools_by_urn(
        conn, [s.urn for s in registry.schools] + registry.without_trust
    )
    in_trusts = {
        urn: School(**{name: row[name] for name in School.__annotations__})
        for urn, row in rows.items()
        if row["trust_id"] is not None
    }
    changes = registry_changes(registry, in_trusts)
    withdrawn_lines = await store.withdraw_open_lines_of_schools(conn, changes.withdraw)
    await store.upsert_schools(conn, changes.joined)
    rejoined = {s.urn for s in changes.joined}
    await store.leave_trusts(conn, [d.urn for d in changes.left if d.urn not in rejoined])
    work.emit(
        Topics.DEMAND,
        [
            outgoing(withdrawn(r), trust_id=r["trust_id"], correlation_id=correlation_id)
            for r in withdrawn_lines
        ],
    )
    left = [
        outgoing(
            SchoolLeft(urn=d.urn, reason=d.reason),
            trust_id=d.trust_id,
            correlation_id=correlation_id,
        )
        for d in changes.left
    ]
    joined = [
        outgoing(_joined(s), trust_id=s.trust_id, correlation_id=correlation_id)
        for s in changes.joined
    ]
    work.emit(Topics.REGISTRY, left + joined)
    return RegistryReport(
        schools=len(registry.schools),
        joined=len(changes.joined),
        left=len(changes.left),
        unchanged=changes.unchanged,
        skipped_without_trust=registry.skipped_without_trust,
        demand_withdrawn=len(withdrawn_lines),
    )
