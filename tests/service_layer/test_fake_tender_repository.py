"""The in-memory tender repository the handler tests use, held to the contract PostgreSQL keeps
(tests/integration/test_postgres_tender_repository.py)."""

import pytest

from tests.service_layer.fakes import FakeTenderRepository
from tests.service_layer.tender_repository_contract import TenderRepositoryContract


class TestFakeTenderRepository(TenderRepositoryContract):
    @pytest.fixture
    def tenders(self) -> FakeTenderRepository:
        return FakeTenderRepository()

    @pytest.fixture
    def given(self, tenders: FakeTenderRepository) -> FakeTenderRepository:
        return tenders
