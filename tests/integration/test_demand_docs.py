"""The demand service documents its contract: OpenAPI for HTTP, AsyncAPI for its topics."""

import httpx
import pytest

from procure.launcher import RunningSystem
from services.demand.spend_rules import KafkaSpend

pytestmark = pytest.mark.integration


def test_asyncapi_describes_every_topic_the_service_reads_and_writes(
    system: RunningSystem,
) -> None:
    response = httpx.get(f"{system.urls['demand']}/asyncapi.json", timeout=10)
    assert response.status_code == 200
    doc = response.json()
    assert doc["asyncapi"] == "3.0.0"
    actions = {
        (doc["channels"][op["channel"]["$ref"].split("/")[-1]]["address"], op["action"])
        for op in doc["operations"].values()
    }
    # Every service reads the revoked tokens; demand writes them too. Each topic read has its
    # dead-letter topic.
    assert actions == {
        ("demand.submissions", "receive"),
        ("spend.submissions", "receive"),
        ("procurement.tenders", "receive"),
        ("procurement.access", "receive"),
        ("procurement.registry", "send"),
        ("procurement.demand", "send"),
        ("procurement.spend", "send"),
        ("procurement.access", "send"),
        ("demand.submissions.dlq", "send"),
        ("spend.submissions.dlq", "send"),
        ("procurement.tenders.dlq", "send"),
        ("procurement.access.dlq", "send"),
    }
    schemas = doc["components"]["schemas"]
    submission = schemas["KafkaSubmission"]
    assert submission["additionalProperties"] is False
    assert set(submission["required"]) == {
        "submission_id",
        "trust_id",
        "school_urn",
        "category",
        "quantity",
        "unit",
        "current_unit_price",
        "contract_end",
        "term_months",
    }
    # Money is documented as a decimal string (or a whole JSON number), never a float.
    assert {"type": "integer"} in submission["properties"]["quantity"]["anyOf"]
    assert "number" not in str(submission["properties"]["current_unit_price"])
    spend = schemas["KafkaSpend"]
    assert spend["additionalProperties"] is False
    # Every field but `unit` (default: the category's own) is required; trust_id is there.
    assert set(spend["required"]) == set(KafkaSpend.model_fields) - {"unit"}
    assert "trust_id" in spend["required"]
    assert "number" not in str(spend["properties"]["amount"])
    for event in (
        "SpendRecorded",
        "DemandRegistered",
        "DemandAmended",
        "DemandWithdrawn",
        "SchoolJoined",
        "TenderOpened",
    ):
        envelope = schemas[f"{event}Event"]
        assert envelope["properties"]["data"] == {"$ref": f"#/components/schemas/{event}"}
    assert "reason" in schemas["DemandWithdrawn"]["properties"]
    dlq = doc["channels"]["demand.submissions.dlq"]["description"]
    assert "original bytes" in dlq and "`reason`" in dlq


def test_openapi_lists_the_demand_endpoints(system: RunningSystem) -> None:
    doc = httpx.get(f"{system.urls['demand']}/openapi.json", timeout=10).json()
    paths = {path: set(ops) for path, ops in doc["paths"].items()}
    assert paths["/v1/demands"] == {"get", "post"}
    assert paths["/v1/demands/import"] == {"post"}
    assert paths["/v1/demands/{demand_id}"] == {"get", "patch"}
    assert paths["/v1/demands/{demand_id}/withdraw"] == {"post"}
    assert paths["/v1/registry"] == {"post"}
    post = doc["paths"]["/v1/demands"]["post"]
    assert {p["name"] for p in post["parameters"]} == {"idempotency-key"}
    assert "application/problem+json" in post["responses"]["409"]["content"]
    assert "text/csv" in doc["paths"]["/v1/demands/import"]["post"]["requestBody"]["content"]
