"""The configuration topics are created with, read back from the real broker (describe_configs).

Tansu, the embedded broker, accepts and answers every topic config, and accepts any replication
factor (it keeps topics in memory on one node): the three-broker setting is tried on it; a
single-broker Apache Kafka would refuse a factor above 1."""

import secrets

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from procure.infra.provision import Infrastructure
from shared.events import Topics
from shared.topics import ensure_topics, topic_configs


async def _configs(bootstrap: str, topics: list[str]) -> dict[str, dict[str, str]]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        resources = [ConfigResource(ConfigResourceType.TOPIC, t) for t in topics]
        responses = await admin.describe_configs(resources)
    finally:
        await admin.close()
    found: dict[str, dict[str, str]] = {}
    for response in responses:
        for _, _, _, name, entries in response.resources:
            found[name] = {entry[0]: entry[1] for entry in entries}
    return found


async def test_every_topic_has_its_retention(infra: Infrastructure) -> None:
    topics = Topics.all()
    found = await _configs(infra.kafka_bootstrap_servers, topics)
    for topic in topics:
        for key, value in topic_configs(topic).items():
            assert found[topic].get(key) == value, (topic, key, found[topic])
    assert found[Topics.TENDERS]["retention.ms"] == "-1"
    assert found[Topics.dead_letters(Topics.TENDERS)]["retention.ms"] == "2592000000"


async def test_three_broker_setting(infra: Infrastructure) -> None:
    if not infra.local_broker:
        pytest.skip("a factor of 3 needs three Apache Kafka brokers")
    topic = f"test.replicated.{secrets.token_hex(4)}"
    await ensure_topics(
        infra.kafka_bootstrap_servers, 1, [topic], replication_factor=3, min_insync_replicas=2
    )
    found = await _configs(infra.kafka_bootstrap_servers, [topic])
    assert found[topic]["min.insync.replicas"] == "2"
