"""CLI: run the simulator until SIGTERM/SIGINT; prints ``READY <url>`` once listening."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

from .config import REALISTIC_INDEXING, SimulatorConfig
from .server import Simulator


def parse_args(argv: list[str] | None = None) -> SimulatorConfig:
    p = argparse.ArgumentParser(prog="python -m tests.hubspot_simulator", description=__doc__)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    p.add_argument("--public-url", default=None, help="base URL used in paging links")
    p.add_argument("--contacts", type=int, default=29_000)
    p.add_argument("--deals", type=int, default=1_000)
    p.add_argument("--calls", type=int, default=8_100)
    p.add_argument("--companies", type=int, default=20)
    p.add_argument("--tickets", type=int, default=20)
    p.add_argument("--meetings", type=int, default=20)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--anchor-ms", type=int, default=None)
    p.add_argument("--extra-properties", type=int, default=0)
    p.add_argument("--archived-fraction", type=float, default=0.01)
    p.add_argument("--id-layout", choices=("dense", "sparse"), default="dense")
    p.add_argument("--list-cursor", choices=("id", "opaque"), default="id")
    p.add_argument("--token", action="append", default=None, help="valid bearer token (repeatable)")
    p.add_argument("--expired-token", action="append", default=[])
    p.add_argument("--client-id", default="test-client-id")
    p.add_argument("--client-secret", default="test-client-secret")
    p.add_argument("--refresh-token", default="test-refresh-token")
    p.add_argument("--latency-ms", type=float, default=0.0)
    p.add_argument("--latency-jitter-ms", type=float, default=0.0)
    p.add_argument("--error-rate", type=float, default=0.0)
    p.add_argument("--drop-rate", type=float, default=0.0)
    p.add_argument("--slow-rate", type=float, default=0.0)
    p.add_argument("--slow-ms", type=float, default=0.0)
    p.add_argument("--fault-seed", type=int, default=None)
    p.add_argument("--burst-limit", type=int, default=100)
    p.add_argument("--burst-window-ms", type=int, default=10_000)
    p.add_argument("--search-limit", type=int, default=5)
    p.add_argument("--search-window-ms", type=int, default=1_000)
    p.add_argument("--associations-limit", type=int, default=100, help="v4 associations per burst window")
    p.add_argument("--daily-limit", type=int, default=250_000)
    p.add_argument("--no-rate-limits", action="store_true")
    p.add_argument("--indexing-delay-ms", type=int, default=0, help="most changes reach search within this")
    p.add_argument("--late-indexing-fraction", type=float, default=0.0, help="... these much later")
    p.add_argument("--late-indexing-max-ms", type=int, default=1_800_000)
    p.add_argument(
        "--realistic-indexing",
        action="store_true",
        help=f"search lag as on real portals: {REALISTIC_INDEXING} (overrides the three above)",
    )
    p.add_argument("--max-request-target", type=int, default=16_000)
    p.add_argument("--association-page-size", type=int, default=500)
    a = p.parse_args(argv)
    indexing = {
        "indexing_delay_ms": a.indexing_delay_ms,
        "late_indexing_fraction": a.late_indexing_fraction,
        "late_indexing_max_ms": a.late_indexing_max_ms,
        **(REALISTIC_INDEXING if a.realistic_indexing else {}),
    }
    return SimulatorConfig(
        host=a.host,
        port=a.port,
        public_url=a.public_url,
        contacts=a.contacts,
        deals=a.deals,
        calls=a.calls,
        companies=a.companies,
        tickets=a.tickets,
        meetings=a.meetings,
        seed=a.seed,
        anchor_ms=a.anchor_ms,
        extra_properties=a.extra_properties,
        archived_fraction=a.archived_fraction,
        id_layout=a.id_layout,
        list_cursor=a.list_cursor,
        access_tokens=tuple(a.token or ["test-token"]),
        expired_tokens=tuple(a.expired_token),
        client_id=a.client_id,
        client_secret=a.client_secret,
        refresh_token=a.refresh_token,
        latency_ms=a.latency_ms,
        latency_jitter_ms=a.latency_jitter_ms,
        error_rate=a.error_rate,
        drop_rate=a.drop_rate,
        slow_rate=a.slow_rate,
        slow_ms=a.slow_ms,
        burst_limit=a.burst_limit,
        burst_window_ms=a.burst_window_ms,
        search_limit=a.search_limit,
        search_window_ms=a.search_window_ms,
        associations_limit=a.associations_limit,
        daily_limit=a.daily_limit,
        rate_limits_enabled=not a.no_rate_limits,
        **indexing,
        max_request_target=a.max_request_target,
        association_page_size=a.association_page_size,
    )


async def serve(config: SimulatorConfig) -> None:
    sim = Simulator(config)
    await sim.start_async()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    sys.stdout.write(f"READY {sim.url}\n")
    sys.stdout.flush()
    await stop.wait()
    await sim.stop_async()


def main(argv: list[str] | None = None) -> None:
    asyncio.run(serve(parse_args(argv)))


if __name__ == "__main__":
    main()
