"""Configuration of one service process, read from the environment (never from the repo)."""

from typing import Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class KafkaSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KAFKA_", extra="ignore")

    bootstrap_servers: str = "127.0.0.1:9092"
    # Apache Kafka: on. Tansu (the embedded broker) rejects idempotent producers.
    enable_idempotence: bool = True
    partitions: int = Field(default=6, ge=1)
    # Tansu joins a group in about session_timeout/2, so local runs lower these.
    session_timeout_ms: int = 10_000
    heartbeat_interval_ms: int = 3_000
    # What topics are created with (shared/topics.py); three brokers: 3 and 2.
    replication_factor: int = Field(default=1, ge=1)
    min_insync_replicas: int = Field(default=1, ge=1)

    @model_validator(mode="after")
    def _insync_within_replicas(self) -> Self:
        if self.min_insync_replicas > self.replication_factor:
            raise ValueError("KAFKA_MIN_INSYNC_REPLICAS exceeds KAFKA_REPLICATION_FACTOR")
        return self


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore")

    database_url: str = "postgresql://postgres@127.0.0.1:5432/postgres"
    procure_token_secret: SecretStr = SecretStr("")
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    log_level: str = "INFO"
    # How many times a consumer retries an event before dead-lettering it.
    consumer_max_attempts: int = Field(default=5, ge=1)
    consumer_retry_backoff_ms: int = Field(default=200, ge=0)
    # On SIGTERM: seconds /ready reports false before the server stops, then at most this long
    # for in-flight requests.
    shutdown_drain_seconds: float = Field(default=1.0, ge=0)
    shutdown_timeout_seconds: int = Field(default=10, ge=1)
    pooling_window_months: int = Field(default=6, ge=1, le=24)
    # Request bodies (shared/limits.py): JSON and forms are small; CSV uploads (demand imports,
    # the GIAS registry, whose full extract is tens of megabytes) may be larger.
    http_max_json_bytes: int = Field(default=256 * 1024, ge=1024)
    http_max_csv_bytes: int = Field(default=100 * 1024 * 1024, ge=1024)
    http_max_json_depth: int = Field(default=32, ge=2, le=1000)
    # How often each process reloads the revoked token ids from its database.
    revocation_refresh_seconds: float = Field(default=1.0, gt=0, le=60)
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
