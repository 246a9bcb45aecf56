"""A local simulator of the group dispatch system: records the completion reports it receives (dev stack, tests).

Mounted by the API at /sim/group-dispatch outside production; `GET /completions` lists what it received.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Header

from core.provisioning import CompletionReport


def create_dispatch_simulator() -> FastAPI:
    """A fresh simulator; `app.state.reports` maps each report key to its receipt and body."""
    app = FastAPI(title="group dispatch system (simulator)", openapi_url=None, docs_url=None, redoc_url=None)
    app.state.reports = {}

    @app.post("/completions")
    async def receive(report: CompletionReport, idempotency_key: str | None = Header(default=None)) -> dict[str, str]:
        """Record a completion report once per key and answer its receipt."""
        key = idempotency_key or report.key
        if key not in app.state.reports:
            app.state.reports[key] = {
                "receipt": f"GD-{len(app.state.reports) + 1:06d}",
                "report": report.model_dump(mode="json"),
            }
        return {"receipt": app.state.reports[key]["receipt"]}

    @app.get("/completions")
    async def received() -> list[dict[str, Any]]:
        """Every report received, oldest first."""
        return list(app.state.reports.values())

    return app
