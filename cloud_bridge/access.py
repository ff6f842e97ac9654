"""The bridge API's access guard, from its config: tokens file and limits, counted in its registry."""

from __future__ import annotations

from careedge_common.access.app import token_book
from careedge_common.access.guard import AccessGuard
from careedge_common.config_access import AccessSettings
from cloud_bridge.metrics import BridgeMetrics


def bridge_guard(settings: AccessSettings, metrics: BridgeMetrics) -> AccessGuard:
    return AccessGuard(token_book(settings), settings, metrics.registry)
