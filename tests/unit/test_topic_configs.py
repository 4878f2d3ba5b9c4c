"""What topics are created with: history kept forever, dead letters 30 days, replication from the
settings (issue 15, point 4)."""

import pytest
from pydantic import ValidationError

from shared.events import Topics
from shared.settings import KafkaSettings
from shared.topics import HISTORY, topic_configs


def test_history_topics_are_kept_forever() -> None:
    assert {Topics.REGISTRY, Topics.DEMAND, Topics.TENDERS, Topics.SAVINGS} <= HISTORY
    for topic in HISTORY:
        configs = topic_configs(topic)
        assert configs["retention.ms"] == "-1"
        assert configs["retention.bytes"] == "-1"


def test_dead_letters_are_kept_thirty_days() -> None:
    for topic in Topics.all():
        if topic.endswith(".dlq"):
            assert topic_configs(topic)["retention.ms"] == str(30 * 24 * 3600 * 1000)


def test_submissions_keep_the_broker_default() -> None:
    assert "retention.ms" not in topic_configs(Topics.SUBMISSIONS)


def test_replication_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_REPLICATION_FACTOR", "3")
    monkeypatch.setenv("KAFKA_MIN_INSYNC_REPLICAS", "2")
    kafka = KafkaSettings()
    assert (kafka.replication_factor, kafka.min_insync_replicas) == (3, 2)
    assert topic_configs(Topics.DEMAND, kafka.min_insync_replicas)["min.insync.replicas"] == "2"


def test_insync_replicas_cannot_exceed_the_replicas(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_MIN_INSYNC_REPLICAS", "2")
    with pytest.raises(ValidationError):
        KafkaSettings()
