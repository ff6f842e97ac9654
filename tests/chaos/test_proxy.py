"""The uplink relay against a real TCP echo server on loopback: relays both ways, and a cut drops
every connection and refuses new ones until restored."""

from __future__ import annotations

import socket
import socketserver
import threading
from collections.abc import Iterator

import pytest

from careedge_testkit.chaos.proxy import LinkProxy
from careedge_testkit.servers import LOOPBACK, wait_until

TIMEOUT_S = 5.0


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        while data := self.request.recv(4096):
            self.request.sendall(data)


@pytest.fixture
def echo_port() -> Iterator[int]:
    server = socketserver.ThreadingTCPServer((LOOPBACK, 0), _Echo)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
        thread.join(TIMEOUT_S)


@pytest.fixture
def proxy(echo_port: int) -> Iterator[LinkProxy]:
    with LinkProxy(echo_port) as relay:
        yield relay


def _connect(port: int) -> socket.socket:
    return socket.create_connection((LOOPBACK, port), timeout=TIMEOUT_S)


def _round_trip(sock: socket.socket, data: bytes) -> bytes:
    sock.sendall(data)
    received = b""
    while len(received) < len(data):
        chunk = sock.recv(65536)
        if not chunk:
            break
        received += chunk
    return received


def _closed_by_peer(sock: socket.socket) -> bool:
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


def test_relays_both_ways_including_large_writes(proxy: LinkProxy) -> None:
    payload = bytes(range(256)) * 1000
    with _connect(proxy.port) as sock:
        assert _round_trip(sock, b"CONNECT") == b"CONNECT"
        assert _round_trip(sock, payload) == payload


def test_a_cut_drops_open_connections_and_refuses_new_ones_until_restored(proxy: LinkProxy) -> None:
    with _connect(proxy.port) as first, _connect(proxy.port) as second:
        assert _round_trip(first, b"a") == b"a"
        assert _round_trip(second, b"b") == b"b"
        proxy.cut()
        assert proxy.is_cut
        assert _closed_by_peer(first)
        assert _closed_by_peer(second)
    assert proxy.open_links == 0
    with _connect(proxy.port) as refused:
        assert _closed_by_peer(refused)
    assert proxy.refused == 1
    proxy.restore()
    with _connect(proxy.port) as again:
        assert _round_trip(again, b"back") == b"back"
    assert proxy.cuts == 1


def test_a_client_goodbye_closes_the_upstream_side(proxy: LinkProxy) -> None:
    with _connect(proxy.port) as sock:
        assert _round_trip(sock, b"x") == b"x"
        assert proxy.open_links == 1
    wait_until(lambda: proxy.open_links == 0, TIMEOUT_S, "the relay to end with its client")


def test_stop_closes_connections_and_is_idempotent(echo_port: int) -> None:
    relay = LinkProxy(echo_port).start()
    with _connect(relay.port) as sock:
        assert _round_trip(sock, b"x") == b"x"
        relay.stop()
        assert _closed_by_peer(sock)
    relay.stop()
    with pytest.raises(ConnectionRefusedError):
        _connect(relay.port).close()


def test_a_relay_never_started_releases_its_port_on_stop(echo_port: int) -> None:
    relay = LinkProxy(echo_port)
    relay.stop()
    with pytest.raises(ConnectionRefusedError):
        _connect(relay.port).close()
