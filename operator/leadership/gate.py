"""Run kopf only while this replica holds the leader Lease.

Standing by, the replica serves ``/healthz`` and its metrics (``flowkeeper_operator_leader 0``)
and makes no write: kopf is not started, so no watch, handler, resync or Event runs. Once
elected it starts kopf. Losing the Lease (not renewed within the renew deadline) cancels kopf at
once and raises ``LeadershipLost``; the CLI then exits non-zero and Kubernetes restarts the
container as a fresh standby, as client-go controllers do. A clean stop (SIGTERM, the stop
flag) hands the Lease back, so the standby takes over at its next try.
"""

import asyncio
import signal
import threading
from collections.abc import Awaitable, Callable
from typing import Any

import kubernetes.client
from flowkeeper.operator.app import healthz as health
from flowkeeper.operator.kube import identity
from flowkeeper.operator.leadership import elector as leader

Flag = asyncio.Event | threading.Event
FLAG_POLL_SECONDS = 0.1


class LeadershipLostError(Exception):
    """The Lease was not renewed in time: another replica may be reconciling by now."""


async def serve(
    operate: Callable[[], Awaitable[None]],
    *,
    api: kubernetes.client.ApiClient,
    election: leader.Election,
    liveness_port: int,
    stop_flag: Flag | None = None,
) -> None:
    """Wait for the Lease, then ``operate()`` (kopf) until stopped or the Lease is lost.

    ``operate`` must stop by itself on ``stop_flag`` and on signals, as kopf does.
    """
    loop = asyncio.get_running_loop()
    elected, lost, stopping = asyncio.Event(), asyncio.Event(), asyncio.Event()
    elector = leader.Elector(
        api,
        election,
        identity=identity.NAME,
        on_started_leading=lambda: loop.call_soon_threadsafe(elected.set),
        on_stopped_leading=lambda: loop.call_soon_threadsafe(lost.set),
    )
    # Created before kopf starts: kopf leaves the tasks it finds running alone when it stops.
    waiters = [
        asyncio.create_task(elected.wait()),
        asyncio.create_task(lost.wait()),
        asyncio.create_task(_stopped(stop_flag, stopping)),
    ]
    async with health.serving(liveness_port, leading=elected.is_set):
        elector.start()
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            if lost.is_set():
                raise LeadershipLostError("leader election failed; see the log")
            if not stopping.is_set():
                await _lead(operate(), lost=waiters[1])
        finally:
            for waiter in waiters:
                waiter.cancel()
            await asyncio.to_thread(elector.stop, release=not lost.is_set())


async def _lead(operating: Awaitable[None], *, lost: "asyncio.Task[Any]") -> None:
    running = asyncio.ensure_future(operating)
    await asyncio.wait([running, lost], return_when=asyncio.FIRST_COMPLETED)
    if running.done():
        running.result()  # kopf stopped by itself (a signal, the stop flag): a clean stop
        return
    running.cancel()
    await asyncio.gather(running, return_exceptions=True)
    raise LeadershipLostError("lost the leader Lease; stopped reconciling")


async def _stopped(stop_flag: Flag | None, stopping: asyncio.Event) -> None:
    """Set ``stopping`` on SIGTERM/SIGINT or when ``stop_flag`` is set, whichever is first.

    Once kopf runs it installs its own signal handlers over these and stops by itself.
    """
    if threading.current_thread() is threading.main_thread():
        loop = asyncio.get_running_loop()
        for number in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(number, stopping.set)
    while not (stop_flag is not None and stop_flag.is_set()):
        if stopping.is_set():
            return
        await asyncio.sleep(FLAG_POLL_SECONDS)
    stopping.set()
