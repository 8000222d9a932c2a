"""A database that looks remote: 127.0.0.2 (not one of the target's local addresses) forwarding to the test
server, which has no TLS. Connecting to it without TLS is what the target must refuse by default."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


@contextmanager
def remote_looking_address(upstream_host: str, upstream_port: int) -> Iterator[tuple[str, int]]:
    """(host, port) on 127.0.0.2 forwarding every connection to the upstream server."""
    loop = asyncio.new_event_loop()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(upstream_host, upstream_port)
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))

    server = loop.run_until_complete(asyncio.start_server(handle, "127.0.0.2", 0))
    port = int(server.sockets[0].getsockname()[1])
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield "127.0.0.2", port
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
