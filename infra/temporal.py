"""Temporal client factory and the data converter shared by client, worker, tests and replay."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter

from infra.settings import Settings


def data_converter() -> DataConverter:
    """Pydantic-aware converter; every process that reads histories must use the same one."""
    return pydantic_data_converter


async def connect(settings: Settings, *, lazy: bool = False) -> Client:
    """Connect to Temporal as configured; `lazy` defers the connection to the first call."""
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=data_converter(),
        lazy=lazy,
    )
