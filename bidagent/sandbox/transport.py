"""The in-process transport: httpx requests answered by the fake API, no sockets.

Owns only the I/O adaptation (sync and async) around :meth:`FakeAdsApi.dispatch`: a slow reply
sleeps, and a "timeout after apply" raises ``httpx.ReadTimeout`` after the change was committed,
exactly what a client sees when Amazon applied a write but the answer never arrived. It serves
every host the client calls (LwA, the regional Ads hosts, the report download host).
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

import httpx

from bidagent.sandbox.api import FakeAdsApi
from bidagent.sandbox.faults import FaultConfig

if TYPE_CHECKING:
    from bidagent.sandbox.sandbox import Sandbox

__all__ = ["SandboxTransport"]


class SandboxTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Serve a :class:`~bidagent.sandbox.Sandbox` to ``httpx.Client`` or ``httpx.AsyncClient``."""

    def __init__(self, sandbox: Sandbox, faults: FaultConfig | None = None) -> None:
        self.api = FakeAdsApi(sandbox, faults)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        reply = self.api.dispatch(request)
        if reply.delay_s:
            time.sleep(reply.delay_s)
        if reply.timeout:
            raise httpx.ReadTimeout("sandbox: the reply was lost after the change", request=request)
        return reply.response

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        # The fake API is synchronous (SQLite); requests are short, so run them inline.
        reply = self.api.dispatch(request)
        if reply.delay_s:
            await asyncio.sleep(reply.delay_s)
        if reply.timeout:
            raise httpx.ReadTimeout("sandbox: the reply was lost after the change", request=request)
        return reply.response
