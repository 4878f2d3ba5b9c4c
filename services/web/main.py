"""Assembles the web workspace process: a service like the others (its own database, health,
readiness, metrics, the revoked tokens from the access topic), with people's pages besides its
operators' API. It publishes no events yet."""

from pathlib import Path

from fastapi import APIRouter, FastAPI

from services.web import api, bids, dashboard, demand, operator, tenders, workspace
from services.web.calls import Services
from services.web.forms import csrf_key
from services.web.settings import WebSettings
from services.web.sign_on import SignOn
from shared.service import Runtime, Subscription, create_app, create_broker, subscribe
from shared.settings import ServiceSettings

NAME = "web"


def build(settings: ServiceSettings) -> FastAPI:
    runtime = Runtime(NAME, settings, create_broker(settings, NAME))
    # Only the access topic (revoked tokens), which every service reads.
    subscribe(runtime, Subscription([], {}))
    web = WebSettings()
    secret = settings.procure_token_secret.get_secret_value()
    services = Services(
        {"demand": web.demand_url, "tendering": web.tendering_url, "savings": web.savings_url},
        secret,
    )
    app = create_app(
        runtime,
        migrations=Path(__file__).with_name("migrations"),
        routers=[
            api.router,
            workspace.router,
            bids.router,
            demand.router,
            dashboard.router,
            operator.router,
            tenders.router,
            APIRouter(lifespan=services.lifespan),
        ],
        title="Collective Procurement: web workspace",
        description="People's accounts, sign-in and pages; the operators' API for accounts.",
    )
    app.state.web_settings = web
    app.state.services = services
    app.state.csrf_key = csrf_key(secret)
    app.state.sign_on = (
        SignOn(
            web.web_oidc_issuer,
            web.web_oidc_client_id,
            web.web_oidc_client_secret.get_secret_value(),
            secret,
        )
        if web.sign_on_configured()
        else None
    )
    return app
