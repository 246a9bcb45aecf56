"""The web console: server-rendered pages in the API's own app, calling the API's own service functions."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles


def mount_console(app: FastAPI) -> None:
    """Add the console's pages, its public survey page and its static files to the app."""
    from api.console import (  # they import the API's routers: once the app is being built
        admin,
        audit_desk,
        messages,
        pages,
        provisioning,
        resource_checks,
    )

    app.include_router(pages.router)
    app.include_router(audit_desk.router)
    app.include_router(admin.router)
    app.include_router(resource_checks.router)
    app.include_router(provisioning.router)
    app.include_router(messages.router)
    app.include_router(pages.public)
    app.mount("/console/static", StaticFiles(directory=Path(__file__).parent / "static"), name="console-static")
