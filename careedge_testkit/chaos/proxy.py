"""A TCP relay on loopback between a gateway and its broker, which a test can cut and restore.

``tc netem`` and network namespaces are not available on the test machines, so a link failure is
made here: ``cut`` aborts every relayed connection at once (both ends see the connection drop, as
when a router reboots) and, until ``restore``, accepts new connections only to abort them, so the
gateway's reconnect attempts fail the way they do against a dead uplink. The listening socket stays
bound throughout: giving the port back mid-test would let another test's server take it.

The relay runs an asyncio loop in its own thread; every public method is called from other
threads and returns once the loop has done what was asked.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Coroutine
from types import TracebackType
from typing import Any, Self, TypeVar

from careedge_testkit.servers import LOOPBACK

CHUNK = 65536
T = TypeVar("T")
CALL_TIMEOUT_S = 10.0
"""Longest a public method waits for the relay's loop; the loop only closes sockets meanwhile."""


class LinkProxy:
    """Relays ``LOOPBACK:port`` to ``LOOPBACK:upstream_port``. ``port`` is bound on construction, so
    configs can name it before the relay starts; connections wait in the backlog until then."""

    def __init__(self, upstream_port: int) -> None:
        self._upstream_port = upstream_port
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="link-proxy", daemon=True)
        self._server: asyncio.Server | None = None
        self._links: set[asyncio.Task[None]] = set()
        self._cut = False
        self._listener = socket.create_server((LOOPBACK, 0))
        self.port = int(self._listener.getsockname()[1])
        self.cuts = 0
        self.refused = 0
        """Connections accepted only to be aborted while the link was cut."""

    def start(self) -> Self:
        self._thread.start()
        self._server = self._call(asyncio.start_server(self._relay, sock=self._listener))
        return self

    def cut(self) -> None:
        """Drop every relayed connection now and refuse new ones until ``restore``."""
        self._call(self._cut_all())

    def restore(self) -> None:
        self._call(self._set_cut(False))

    @property
    def is_cut(self) -> bool:
        return self._cut

    @property
    def open_links(self) -> int:
        return len(self._links)

    def stop(self) -> None:
        """Close the listener and every connection, then end the loop thread. Idempotent."""
        if not self._thread.is_alive():
            self._listener.close()
            self._loop.close()
            return
        self._call(self._shutdown())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(CALL_TIMEOUT_S)
        self._loop.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()

    def _call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(CALL_TIMEOUT_S)

    async def _set_cut(self, cut: bool) -> None:
        self._cut = cut

    async def _cut_all(self) -> None:
        self._cut = True
        self.cuts += 1
        await self._cancel_links()

    async def _shutdown(self) -> None:
        assert self._server is not None
        self._server.close()
        await self._cancel_links()
        await self._server.wait_closed()

    async def _cancel_links(self) -> None:
        links = list(self._links)
        for link in links:
            link.cancel()
        await asyncio.gather(*links, return_exceptions=True)

    async def _relay(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        if self._cut:
            self.refused += 1
            client_writer.transport.abort()
            return
        task = asyncio.current_task()
        assert task is not None
        self._links.add(task)
        upstream_writer: asyncio.StreamWriter | None = None
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(LOOPBACK, self._upstream_port)
            await asyncio.gather(_pump(client_reader, upstream_writer), _pump(upstream_reader, client_writer))
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            self._links.discard(task)
            client_writer.transport.abort()
            if upstream_writer is not None:
                upstream_writer.transport.abort()


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy until end of stream, then close the other side, so a goodbye from either end passes."""
    while data := await reader.read(CHUNK):
        writer.write(data)
        await writer.drain()
    writer.transport.abort()
