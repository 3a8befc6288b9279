"""`studentlink serve` turns Nagle's algorithm off on every connection, however the listening
socket was made (uvicorn's own socket for `--workers` does not name the TCP protocol, so
asyncio leaves it on, and keep-alive responses wait for the client's delayed ACK)."""

from __future__ import annotations

import asyncio
import socket

import uvicorn
from uvicorn.server import ServerState

from api.http_protocol import NoDelayH11Protocol


async def _app(scope: dict, receive: object, send: object) -> None:  # pragma: no cover
    raise AssertionError("no request is sent")


def _nodelay_of_accepted_connection(protocol: type) -> int:
    config = uvicorn.Config(_app, http=protocol, lifespan="off", log_level="warning")
    config.load()
    seen: list[int] = []

    class Recording(protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            super().connection_made(transport)
            sock = transport.get_extra_info("socket")
            seen.append(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            transport.close()

    async def run() -> None:
        # made like uvicorn's bind_socket: no protocol named, so asyncio does not set NODELAY
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        loop = asyncio.get_running_loop()
        state = ServerState()
        server = await loop.create_server(
            lambda: Recording(config=config, server_state=state, app_state={}), sock=listener)
        _, writer = await asyncio.open_connection(*listener.getsockname())
        for _ in range(200):
            if seen:
                break
            await asyncio.sleep(0.01)
        writer.close()
        server.close()
        await server.wait_closed()

    asyncio.run(run())
    assert seen, "the server never accepted the connection"
    return seen[0]


def test_served_connections_have_nagle_off() -> None:
    assert _nodelay_of_accepted_connection(NoDelayH11Protocol) != 0


def test_plain_h11_protocol_leaves_nagle_on_for_such_sockets() -> None:
    """The case the protocol exists for: without it, NODELAY stays off."""
    from uvicorn.protocols.http.h11_impl import H11Protocol

    assert _nodelay_of_accepted_connection(H11Protocol) == 0
