"""Assembles the tendering service process."""

from pathlib import Path

from fastapi import FastAPI

from services.tendering.api import router
from services.tendering.intake import HANDLERS
from shared.events import Topics
from shared.service import Runtime, Subscription, create_app, create_broker, subscribe
from shared.settings import ServiceSettings

NAME = "tendering"


def build(settings: ServiceSettings) -> FastAPI:
    runtime = Runtime(NAME, settings, create_broker(settings, NAME))
    subscribe(runtime, Subscription([Topics.REGISTRY, Topics.DEMAND], HANDLERS))
    return create_app(
        runtime,
        migrations=Path(__file__).with_name("migrations"),
        routers=[router],
        title="Collective Procurement: tendering",
        description="Demand pools, joint tenders, suppliers' bids and awards.",
    )
