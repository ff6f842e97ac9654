"""Which dead peers this bridge takes over, decided alike by every bridge from the same states.

The online bridge with the lowest client ID takes over every offline peer; the others leave them
alone, so two survivors do not fight over one session. Views can differ for a moment (a bridge that
has just started has not yet heard of every peer): two bridges may then both take over, one after
the other, which costs a few redeliveries that the envelope-ID dedupe drops, never a loss. A peer
is taken over once per time it went offline; seeing its state again after this bridge's presence
connection reconnects counts as new, since a change may have been missed meanwhile.
"""

from __future__ import annotations

import threading


class PeerTable:
    """Thread-safe: paho's thread reports states, the takeover thread asks and records."""

    def __init__(self, own_id: str) -> None:
        self._own_id = own_id
        self._online: dict[str, bool] = {}
        self._settled: set[str] = set()
        self._deferred: dict[str, float] = {}
        self._lock = threading.Lock()

    def update(self, peer: str, online: bool) -> None:
        with self._lock:
            if self._online.get(peer) != online:
                self._settled.discard(peer)
                self._deferred.pop(peer, None)
            self._online[peer] = online

    def forget_settled(self) -> None:
        """After this bridge's presence reconnected: every offline peer is worth one more look."""
        with self._lock:
            self._settled.clear()

    def settle(self, peer: str) -> None:
        """The peer's session needs nothing more until the peer is seen online and offline again."""
        with self._lock:
            if not self._online.get(peer, True):
                self._settled.add(peer)

    def defer(self, peer: str, until: float) -> None:
        """A takeover failed or was cut short: not again before ``until`` (``time.monotonic``)."""
        with self._lock:
            self._deferred[peer] = until

    def to_take_over(self, now: float) -> list[str]:
        """Offline peers neither settled nor deferred past ``now``, in client-ID order, if this
        bridge is the lowest online one."""
        with self._lock:
            online = {peer for peer, up in self._online.items() if up} | {self._own_id}
            if min(online) != self._own_id:
                return []
            return sorted(
                peer
                for peer, up in self._online.items()
                if not up
                and peer != self._own_id
                and peer not in self._settled
                and self._deferred.get(peer, now) <= now
            )
