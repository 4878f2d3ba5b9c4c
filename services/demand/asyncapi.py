"""AsyncAPI 3.0 description of the topics the demand service reads and writes.

Served at GET /asyncapi.json; with `faststream[cli]` installed, `faststream docs gen
services.demand.asyncapi:app` writes the same document. The broker here is never started: it
only declares the channels and their messages, from the same models the service validates and
publishes with."""

import json
from functools import cache
from typing import Any, Literal, Union

from faststream import FastStream
from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI
from pydantic import BaseModel, create_model

from services.demand.ingress import GROUP
from services.demand.rules import MAX_SUBMISSION_BYTES, KafkaSubmission
from shared.events import (
    DemandAmended,
    DemandRegistered,
    DemandWithdrawn,
    Envelope,
    EventData,
    SchoolJoined,
    SchoolLeft,
    TenderAwarded,
    TenderCancelled,
    TenderOpened,
    Topics,
)

DLQ = Topics.dead_letters(Topics.SUBMISSIONS)


def _event(data: type[EventData]) -> type[BaseModel]:
    """The envelope of one event type, with its `data` spelled out."""
    return create_model(
        f"{data.__name__}Event",
        __base__=Envelope,
        event_type=(Literal[data.event_type], ...),  # type: ignore[arg-type]
        data=(data, ...),
    )


def _events(*types: type[EventData]) -> Any:
    return Union[tuple(_event(t) for t in types)]  # noqa: UP007


broker = KafkaBroker(
    "localhost:9092",
    description="the deployment's KAFKA_BOOTSTRAP_SERVERS; every event is keyed by trust_id",
)


@broker.subscriber(
    Topics.SUBMISSIONS,
    group_id=GROUP,
    title=Topics.SUBMISSIONS,
    description=(
        "Demand from school finance systems: one plain JSON submission per record (not an"
        " envelope). Idempotent by `submission_id` within `trust_id`: a re-sent record is"
        " registered once. A record that is not valid JSON, has a field of the wrong type or an"
        f" unknown field, is over {MAX_SUBMISSION_BYTES} bytes, names an unknown category or"
        f" unit, a school outside `trust_id`, or reuses a `submission_id` goes to {DLQ}."
    ),
)
async def submissions(submission: KafkaSubmission) -> None:
    """Documentation only; services/demand/ingress.py consumes this topic."""


@broker.subscriber(
    Topics.TENDERS,
    group_id="demand",
    title=Topics.TENDERS,
    description=(
        "From tendering: a line named by tender.opened can no longer be amended or withdrawn;"
        " tender.cancelled opens it again; tender.awarded marks it awarded."
    ),
)
async def tenders(event: _events(TenderOpened, TenderCancelled, TenderAwarded)) -> None:  # type: ignore[valid-type]
    """Documentation only; services/demand/intake.py applies these events."""


broker.publisher(
    Topics.REGISTRY,
    title=Topics.REGISTRY,
    schema=_events(SchoolJoined, SchoolLeft),
    description=(
        "Registry changes from a GIAS load, only for real changes. A school moving trust: left"
        " (keyed by the old trust), then joined (keyed by the new one)."
    ),
)
broker.publisher(
    Topics.DEMAND,
    title=Topics.DEMAND,
    schema=_events(DemandRegistered, DemandAmended, DemandWithdrawn),
    description=(
        "Demand lines: registered and amended carry the line's full state, quantity and unit"
        " price in the category's canonical unit; withdrawn carries the reason."
    ),
)
broker.publisher(
    DLQ,
    title=DLQ,
    schema=bytes,
    description=(
        f"Records of {Topics.SUBMISSIONS} that were refused: the original bytes and key, the"
        " original headers, plus headers `reason` (why), `consumer` (demand-ingress),"
        " `source_partition` and `source_offset`."
    ),
)

app = FastStream(
    broker,
    specification=AsyncAPI(
        title="Collective Procurement: demand",
        version="1.0.0",
        description="Topics the demand service reads and writes. Money and quantities are"
        " decimal strings, never JSON numbers with a fraction.",
    ),
)


@cache
def document() -> dict[str, Any]:
    spec: dict[str, Any] = json.loads(app.schema.to_specification().to_json())
    return spec
