"""Assembles the savings service process."""

from pathlib import Path

from fastapi import FastAPI

from services.savings.api import router
from services.savings.intake import HANDLERS
from shared.events import Topics
from shared.service import Runtime, Subscription, create_app, create_broker, subscribe
from shared.settings import ServiceSettings

NAME = "savings"


def build(settings: ServiceSettings) -> FastAPI:
    runtime = Runtime(NAME, settings, create_broker(settings, NAME))
    subscribe(runtime, Subscription([Topics.REGISTRY, Topics.TENDERS], HANDLERS))
    return create_app(
        runtime,
        migrations=Path(__file__).with_name("migrations"),
        routers=[router],
        title="Collective Procurement: savings",
        description="The per-school savings ledger and its reports.",
    )
