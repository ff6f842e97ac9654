"""uvicorn inside a daemon's own event loop, without uvicorn taking over the process's signals.

The daemon owns SIGTERM/SIGINT so it can stop devices, flush and say goodbye on MQTT in order;
uvicorn's default handlers would stop only the HTTP server.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import uvicorn
from fastapi import FastAPI


class ApiServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def make_api_server(app: FastAPI, host: str, port: int) -> ApiServer:
    return ApiServer(uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off"))
