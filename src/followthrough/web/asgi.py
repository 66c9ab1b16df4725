"""ASGI entry point for uvicorn workers: settings come from the environment at start-up."""

from followthrough.config import load_settings
from followthrough.web.app import create_app

app = create_app(load_settings())
