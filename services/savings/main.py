"""Assembles the savings service process."""

from pathlib import Path

from fastapi import FastAPI

from services.savings import api, dashboard
from services.savings.intake import HANDLERS
from services.savings.settings import SavingsSettings
from shared.asyncapi import Channel
from shared.events import Topics
from shared.service import Runtime, Subscription, create_app, create_broker, subscribe
from shared.settings import ServiceSettings

NAME = "savings"
MIGRATIONS = Path(__file__).with_name("migrations")
# What the ledger is built from; `procure savings rebuild` replays the same topics.
SUBSCRIPTION = Subscription([Topics.REGISTRY, Topics.TENDERS, Topics.SPEND], HANDLERS)


def build(settings: ServiceSettings) -> FastAPI:
    runtime = Runtime(NAME, settings, create_broker(settings, NAME))
    subscribe(runtime, SUBSCRIPTION)
    app = create_app(
        runtime,
        migrations=MIGRATIONS,
        routers=[api.router, api.schools_router, dashboard.router],
        title="Collective Procurement: savings",
        description="The per-school savings ledger, its reports, and the managers' dashboard.",
        writes=[Channel(Topics.SAVINGS)],
    )
    app.state.savings_settings = SavingsSettings()
    return app
