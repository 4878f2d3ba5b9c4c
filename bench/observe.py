"""What the system did with a run's submissions, read back for the checks: the demand lines
registered (from the demand database) and the `demand.registered` events published."""

import json
from collections.abc import Iterable
from uuid import UUID

from bench.system import Bench
from shared.service import KafkaRecord


async def kafka_lines(bench: Bench, run_id: str, trusts: Iterable[str]) -> dict[str, UUID]:
    """submission_id -> demand_id of the run's submissions that were registered.

    Ingress lines are keyed (kafka:<trust>, submission_id): services/demand/submitting.py."""
    async with bench.db("demand") as conn:
        rows = await conn.fetch(
            "SELECT idempotency_key AS key, demand_id FROM demand_lines"
            " WHERE key_owner = ANY($1) AND idempotency_key LIKE $2",
            [f"kafka:{t}" for t in set(trusts)],
            f"{run_id}-%",
        )
    return {r["key"]: r["demand_id"] for r in rows}


def registered(records: Iterable[KafkaRecord]) -> list[tuple[UUID, float]]:
    """(demand_id, publish time in epoch seconds) of each demand.registered record."""
    events = ((json.loads(r.value), r.timestamp / 1000) for r in records)
    return [
        (UUID(e["data"]["demand_id"]), at)
        for e, at in events
        if e["event_type"] == "demand.registered"
    ]
