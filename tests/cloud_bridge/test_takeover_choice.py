"""Which bridge takes over a dead peer's session: the lowest online client ID, once per death."""

from __future__ import annotations

from cloud_bridge.bridge_presence import birth_document, is_online
from cloud_bridge.takeover_choice import PeerTable

NOW = 100.0


def table(own: str, states: dict[str, bool]) -> PeerTable:
    peers = PeerTable(own)
    for peer, online in states.items():
        peers.update(peer, online)
    return peers


def test_the_lowest_online_bridge_takes_every_offline_peer() -> None:
    states = {"bridge-a": False, "bridge-b": True, "bridge-c": True, "bridge-d": False}
    assert table("bridge-b", states).to_take_over(NOW) == ["bridge-a", "bridge-d"]
    assert table("bridge-c", states).to_take_over(NOW) == []


def test_a_dead_bridge_with_a_lower_id_does_not_hold_the_choice() -> None:
    assert table("bridge-z", {"bridge-a": False}).to_take_over(NOW) == ["bridge-a"]


def test_a_bridge_that_has_heard_of_no_peer_takes_nothing() -> None:
    assert table("bridge-b", {}).to_take_over(NOW) == []


def test_a_peer_drained_once_is_left_alone_until_it_dies_again() -> None:
    peers = table("bridge-b", {"bridge-a": False})
    peers.settle("bridge-a")
    assert peers.to_take_over(NOW) == []
    peers.update("bridge-a", False)
    assert peers.to_take_over(NOW) == [], "the same offline state again is no new death"
    peers.update("bridge-a", True)
    peers.update("bridge-a", False)
    assert peers.to_take_over(NOW) == ["bridge-a"]


def test_settling_a_peer_that_came_back_meanwhile_keeps_its_next_death() -> None:
    peers = table("bridge-b", {"bridge-a": False})
    peers.update("bridge-a", True)
    peers.settle("bridge-a")
    peers.update("bridge-a", False)
    assert peers.to_take_over(NOW) == ["bridge-a"]


def test_after_a_presence_reconnect_every_offline_peer_is_looked_at_again() -> None:
    peers = table("bridge-b", {"bridge-a": False})
    peers.settle("bridge-a")
    peers.forget_settled()
    assert peers.to_take_over(NOW) == ["bridge-a"]


def test_a_cut_short_takeover_is_retried_after_its_delay_unless_the_peer_returned() -> None:
    peers = table("bridge-b", {"bridge-a": False, "bridge-c": False})
    peers.defer("bridge-a", NOW + 5)
    peers.defer("bridge-c", NOW + 5)
    assert peers.to_take_over(NOW) == []
    assert peers.to_take_over(NOW + 5) == ["bridge-a", "bridge-c"]
    peers.update("bridge-c", True)
    peers.update("bridge-c", False)
    assert peers.to_take_over(NOW) == ["bridge-c"]


def test_birth_documents_and_wills_are_told_apart_from_anything_else() -> None:
    assert is_online(birth_document("bridge-a")) is True
    assert is_online(b"offline") is False
    assert is_online(b"online") is None
    assert is_online(b'{"state": "asleep"}') is None
    assert is_online(b"[1]") is None
