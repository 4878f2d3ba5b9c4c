"""Tendering's PostgreSQL repository under the contract its in-memory fake keeps too
(tests/service_layer/tender_repository_contract.py). Each test runs in a transaction of its own,
rolled back at the end; demand lines and schools arrive through the service's intake handlers."""

from collections.abc import AsyncIterator

import asyncpg
import pytest

from services.tendering import intake
from services.tendering.domain.pooling import PoolLine
from services.tendering.store import PostgresTenderRepository
from shared.db import Connection
from shared.domain.categories import categories
from shared.events import DemandRegistered, DemandWithdrawn, SchoolJoined
from shared.unit_of_work import UnitOfWork
from tests.helpers import new_event
from tests.service_layer.tender_repository_contract import TRUST, TenderRepositoryContract

pytestmark = pytest.mark.integration


class Intake:
    """Demand lines and schools reach the database the way they do in the service."""

    def __init__(self, conn: Connection) -> None:
        self._work = UnitOfWork(conn)

    async def demand(self, trust_id: str, category: str, line: PoolLine) -> None:
        registered = DemandRegistered(
            demand_id=line.demand_id,
            school_urn=line.school_urn,
            category=category,
            unit=categories()[category].unit,
            quantity=line.quantity,
            current_unit_price=line.baseline_unit_price,
            contract_end=line.contract_end,
            term_months=line.term_months,
        )
        event = new_event(registered, trust_id=trust_id, correlation_id="contract")
        await intake.demand_registered(self._work, event)

    async def withdrawal(self, trust_id: str, category: str, line: PoolLine) -> None:
        withdrawn = DemandWithdrawn(
            demand_id=line.demand_id, school_urn=line.school_urn, category=category
        )
        event = new_event(withdrawn, trust_id=trust_id, correlation_id="contract")
        await intake.demand_withdrawn(self._work, event)

    async def school(self, urn: str, local_authority: str | None, phase: str | None) -> None:
        joined = SchoolJoined(
            urn=urn,
            name=f"School {urn}",
            trust_name=f"Trust {TRUST}",
            local_authority=local_authority,
            phase=phase,
            status="Open",
        )
        event = new_event(joined, trust_id=TRUST, correlation_id="contract")
        await intake.school_joined(self._work, event)


class TestPostgresTenderRepository(TenderRepositoryContract):
    @pytest.fixture
    async def conn(self, tendering_db: asyncpg.Pool) -> AsyncIterator[Connection]:
        async with tendering_db.acquire() as conn:
            transaction = conn.transaction()
            await transaction.start()
            yield conn
            await transaction.rollback()

    @pytest.fixture
    def tenders(self, conn: Connection) -> PostgresTenderRepository:
        return PostgresTenderRepository(conn)

    @pytest.fixture
    def given(self, conn: Connection) -> Intake:
        return Intake(conn)
