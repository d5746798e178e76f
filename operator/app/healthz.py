"""``/healthz`` for a replica with leader election on: it must answer while standing by too,
when kopf (whose liveness endpoint serves the single-replica mode) is not running."""

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from aiohttp import web


@asynccontextmanager
async def serving(port: int, *, leading: Callable[[], bool]) -> AsyncIterator[None]:
    """Answer ``GET /healthz`` on ``port`` (0: not at all) until the block ends."""
    if not port:
        yield
        return

    async def healthz(_: web.Request) -> web.Response:
        role = "leader" if leading() else "standby"
        return web.Response(text=json.dumps({"role": role}), content_type="application/json")

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    try:
        await web.TCPSite(runner, "0.0.0.0", port).start()  # noqa: S104  (probed by the kubelet)
        yield
    finally:
        await runner.cleanup()
