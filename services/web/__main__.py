from services.web.main import build
from shared.service import run_service

run_service(build, 8000)
