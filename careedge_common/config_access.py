"""Access-control settings of an HTTP API (edge or bridge): where the hashed tokens live and the
limits that keep a flood of requests or token guesses from reaching the handlers."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from careedge_common.config_base import StrictModel


class AccessSettings(StrictModel):
    tokens_file: Path | None = None
    """JSON file of hashed API tokens (``careedge token create``). Without it every protected
    route answers 401: the API serves only ``/health`` and ``/metrics``."""
    max_body_bytes: int = Field(default=64 * 1024, ge=1024, le=16 * 1024 * 1024)
    """Larger request bodies are refused with 413 before any handler reads them."""
    max_failures: int = Field(default=10, ge=1, le=1000)
    """Missing or unknown tokens a client may send within ``failure_window_s`` before it gets 429."""
    failure_window_s: float = Field(default=60.0, gt=0, le=86_400)
