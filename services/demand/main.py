"""Assembles the demand service process."""

from pathlib import Path

from fastapi import FastAPI

from services.demand.api import demands, router
from services.demand.asyncapi import READS, WRITES
from services.demand.ingress import SPEND, subscribe_ingress
from services.demand.intake import HANDLERS
from services.demand.spend_api import spend, trusts
from services.demand.spending import SpendSubmissions, record_http
from services.demand.submitting import Submissions, submit_demands
from shared import revocations
from shared.events import Topics
from shared.service import Runtime, Subscription, create_app, create_broker, subscribe
from shared.settings import ServiceSettings

NAME = "demand"


def build(settings: ServiceSettings) -> FastAPI:
    runtime = Runtime(NAME, settings, create_broker(settings, NAME))
    subscribe(runtime, Subscription([Topics.TENDERS], HANDLERS))
    subscribe_ingress(runtime)
    subscribe_ingress(runtime, SPEND)
    app = create_app(
        runtime,
        migrations=Path(__file__).with_name("migrations"),
        # The operators' front door for revoking tokens (shared/revocations.py).
        routers=[router, demands, spend, trusts, revocations.router],
        title="Collective Procurement: demand",
        description="Schools' demand lines and spend lines, and the trusts' schools registry."
        " AsyncAPI for the topics it reads and writes: /asyncapi.json.",
        reads=READS,
        writes=WRITES,
    )
    app.state.submissions = Submissions(lambda: runtime.pool, submit_demands)
    app.state.spend = SpendSubmissions(lambda: runtime.pool, record_http)
    return app
