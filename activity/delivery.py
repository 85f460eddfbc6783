"""Delivery worker (placeholder until the delivery issue lands)."""

from __future__ import annotations

from aiohttp import web


class DeliveryWorker:
    @classmethod
    def from_app(cls, app: web.Application) -> DeliveryWorker:
        return cls()

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    def wake(self) -> None:
        return None
