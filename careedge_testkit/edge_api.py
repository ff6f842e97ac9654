"""A client of the edge's local HTTP API for tests: JSON in, JSON out, errors as documents."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from careedge_testkit.servers import LOOPBACK


class EdgeApi:
    def __init__(self, port: int, token: str | None = None) -> None:
        """``token``: sent as ``Authorization: Bearer`` (the pharmacist's routes)."""
        self.port = port
        self.token = token

    def get(self, path: str) -> Any:
        return json.loads(self.text(path))

    def text(self, path: str) -> str:
        with urllib.request.urlopen(self._request(path, None, "GET"), timeout=5) as response:  # noqa: S310
            return str(response.read().decode())

    def post(self, path: str, document: dict[str, Any] | None = None) -> Any:
        with urllib.request.urlopen(self._request(path, document or {}, "POST"), timeout=5) as response:  # noqa: S310
            return json.loads(response.read())

    def post_status(self, path: str, document: dict[str, Any] | None = None) -> tuple[int, Any]:
        """(HTTP status, body) also for error answers."""
        try:
            with urllib.request.urlopen(self._request(path, document or {}, "POST"), timeout=5) as response:  # noqa: S310
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    def up(self) -> bool:
        try:
            self.text("/metrics")
        except OSError:
            return False
        return True

    def _request(self, path: str, document: dict[str, Any] | None, method: str) -> urllib.request.Request:
        headers = {"Content-Type": "application/json"}
        if self.token is not None:
            headers["Authorization"] = f"Bearer {self.token}"
        data = None if document is None else json.dumps(document).encode()
        return urllib.request.Request(
            f"http://{LOOPBACK}:{self.port}{path}", data=data, headers=headers, method=method
        )
