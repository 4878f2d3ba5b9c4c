"""Assembles the demand service process."""

from pathlib import Path

from fastapi import FastAPI

from services.demand.api import router
from shared.service import Runtime, create_app, create_broker
from shared.settings import ServiceSettings

NAME = "demand"


def build(settings: ServiceSettings) -> FastAPI:
    runtime = Runtime(NAME, settings, create_broker(settings, NAME))
    return create_app(
        runtime,
        migrations=Path(__file__).with_name("migrations"),
        routers=[router],
        title="Collective Procurement: demand",
        description="Schools' demand lines and the trusts' schools registry.",
    )
