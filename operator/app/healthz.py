"""``/healthz`` for a replica with leader election on: it must answer while standing by too,
when kopf (whose liveness endpoint serves the single-replica mode) is not running."""

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from aiohttp import web
from flowkeeper.operator.kube.health import API


@asynccontextmanager
async def serving(port: int, *, leading: Callable[[], bool]) -> AsyncIterator[None]:
    """Answer ``GET /healthz`` on ``port`` (0: not at all) until the block ends."""
    if not port:
        yield
        return

    async def healthz(_: web.Request) -> web.Response:
        # The leader also says whether the API server answers (a standby makes no requests
        # but its Lease's, so it has nothing to report).
        body: dict[str, object] = {"role": "leader", "api": API.report()}
        if not leading():
            body = {"role": "standby"}
        return web.Response(text=json.dumps(body), content_type="application/json")

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    try:
        await web.TCPSite(runner, "0.0.0.0", port).start()  # noqa: S104  (probed by the kubelet)
        yield
    finally:
        await runner.cleanup()
