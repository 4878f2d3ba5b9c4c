"""Registry reloads against the running demand service: events only for real changes, a school
moving between trusts, a school leaving its trust, a school closing. Trust codes 1100-1199,
URNs 1100xx-1199xx."""

from typing import Any
from uuid import uuid4

import pytest

from procure.launcher import RunningSystem
from shared.events import Topics
from tests.helpers import publish_events, until
from tests.integration.test_demand_api import (
    as_manager,
    as_school,
    client,
    line,
    load_registry,
    opened,
    post_line,
    published_events,
    registry_rows,
    status_of,
)

pytestmark = pytest.mark.integration


def kinds(events: list[Any]) -> list[tuple[str, str]]:
    return [(e.event_type, e.data.get("urn") or e.data.get("school_urn")) for e in events]


async def test_a_reload_emits_events_only_for_real_changes(system: RunningSystem) -> None:
    rows = registry_rows("1101", ["110101", "110102", "110103"])
    async with client(system) as http:
        first = await load_registry(http, system, rows)
        again = await load_registry(http, system, rows)
        renamed = await load_registry(
            http, system, [rows[0], rows[1].replace("School 110102", "Brookside Academy"), rows[2]]
        )
    assert (first["joined"], first["left"], first["unchanged"]) == (3, 0, 0)
    assert (again["joined"], again["left"], again["unchanged"]) == (0, 0, 3)
    assert (renamed["joined"], renamed["left"], renamed["unchanged"]) == (1, 0, 2)
    events = await published_events(system, "1101", Topics.REGISTRY)
    assert kinds(events) == [
        ("registry.school_joined", "110101"),
        ("registry.school_joined", "110102"),
        ("registry.school_joined", "110103"),
        ("registry.school_joined", "110102"),  # the new name, nothing for the other two
    ]
    assert events[-1].data["name"] == "Brookside Academy"


async def test_a_school_moving_trust(system: RunningSystem) -> None:
    async with client(system) as http:
        await load_registry(http, system, registry_rows("1102", ["110201", "110202"]))
        old = as_manager(system, "1102")
        open_line = (await post_line(http, old, line("110201"))).json()["demand_id"]
        tendered = (await post_line(http, old, line("110201", category="gas"))).json()["demand_id"]
        await publish_events(system, Topics.TENDERS, "1102", [opened(uuid4(), [tendered])])
        await until(lambda: status_of(http, old, tendered), lambda s: s == "in_tender")

        report = await load_registry(http, system, registry_rows("1103", ["110201"]))
        assert (report["joined"], report["left"], report["demand_withdrawn"]) == (1, 1, 1)

        # The open line went with the move; the one already in a tender stays in it.
        moved = await http.get(f"/v1/demands/{open_line}", headers=old)
        assert (moved.json()["status"], moved.json()["status_reason"]) == (
            "withdrawn",
            "school moved to trust 1103",
        )
        assert await status_of(http, old, tendered) == "in_tender"

        refused = await post_line(http, old, line("110201"))
        assert refused.status_code == 403
        assert refused.json()["detail"] == "school 110201 is not in trust 1102"
        new = await post_line(http, as_manager(system, "1103"), line("110201"))
        assert new.status_code == 201
        assert new.json()["trust_id"] == "1103"
        # The school itself now posts into its new trust.
        own = await post_line(
            http, as_school(system, "110201"), line("110201", category="water", unit="m3")
        )
        assert own.json()["trust_id"] == "1103"

    old_events = await published_events(system, "1102", Topics.REGISTRY)
    assert kinds(old_events)[-1] == ("registry.school_left", "110201")
    assert old_events[-1].data["reason"] == "moved to trust 1103"
    assert kinds(await published_events(system, "1103", Topics.REGISTRY)) == [
        ("registry.school_joined", "110201")
    ]
    withdrawn = [
        e
        for e in await published_events(system, "1102", Topics.DEMAND)
        if e.event_type == "demand.withdrawn"
    ]
    assert [(e.data["demand_id"], e.data["reason"]) for e in withdrawn] == [
        (open_line, "school moved to trust 1103")
    ]


async def test_a_school_leaving_its_trust_or_closing(system: RunningSystem) -> None:
    async with client(system) as http:
        await load_registry(http, system, registry_rows("1104", ["110401", "110402", "110403"]))
        manager = as_manager(system, "1104")
        leaving = (await post_line(http, manager, line("110401"))).json()["demand_id"]
        closing = (await post_line(http, manager, line("110402"))).json()["demand_id"]

        # GIAS blanks the trust code of a school that left; the other row closes its school.
        report = await load_registry(
            http,
            system,
            registry_rows(None, ["110401"])
            + registry_rows("1104", ["110402"], status="Closed")
            + registry_rows("1104", ["110403"]),
        )
        assert report == {
            "schools": 2,
            "joined": 1,
            "left": 1,
            "unchanged": 1,
            "skipped_without_trust": 1,
            "demand_withdrawn": 2,
        }
        for demand_id, reason in ((leaving, "school left trust 1104"), (closing, "school closed")):
            body = (await http.get(f"/v1/demands/{demand_id}", headers=manager)).json()
            assert (body["status"], body["status_reason"]) == ("withdrawn", reason)

        alone = await post_line(http, as_school(system, "110401"), line("110401"))
        assert alone.status_code == 422
        assert alone.json()["detail"] == "school 110401 is not in a trust"
        shut = await post_line(http, manager, line("110402"))
        assert shut.status_code == 422
        assert shut.json()["detail"] == "school 110402 is closed"

        # Loading the same file again changes nothing: the school already left.
        again = await load_registry(http, system, registry_rows(None, ["110401"]))
        assert (again["left"], again["demand_withdrawn"]) == (0, 0)

    events = await published_events(system, "1104", Topics.REGISTRY)
    assert kinds(events)[-2:] == [
        ("registry.school_left", "110401"),
        ("registry.school_joined", "110402"),  # the same school, now with status Closed
    ]
    assert events[-1].data["status"] == "Closed"
