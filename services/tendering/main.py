"""Assembles the tendering service process."""

from pathlib import Path

from fastapi import APIRouter, FastAPI

from services.tendering.api import router
from services.tendering.intake import HANDLERS
from services.tendering.scheduler import Scheduler
from services.tendering.settings import PolicySettings
from shared.asyncapi import Channel
from shared.events import Topics
from shared.service import Runtime, Subscription, create_app, create_broker, subscribe
from shared.settings import ServiceSettings

NAME = "tendering"


def build(settings: ServiceSettings, policy: PolicySettings | None = None) -> FastAPI:
    runtime = Runtime(NAME, settings, create_broker(settings, NAME))
    subscribe(runtime, Subscription([Topics.REGISTRY, Topics.DEMAND], HANDLERS))
    policy = policy or PolicySettings()
    scheduler = Scheduler(lambda: runtime.pool, policy, settings.pooling_window_months)
    app = create_app(
        runtime,
        migrations=Path(__file__).with_name("migrations"),
        # A router's lifespan runs inside the app's, once the database pool is open.
        routers=[router, APIRouter(lifespan=scheduler.lifespan)],
        title="Collective Procurement: tendering",
        description="Demand pools, joint tenders, suppliers' bids and awards.",
        writes=[Channel(Topics.TENDERS)],
    )
    app.state.tender_policy = policy
    return app
