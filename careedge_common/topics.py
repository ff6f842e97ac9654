"""MQTT topic names (DESIGN §3), built in one place so edge and bridge cannot drift apart."""

from __future__ import annotations

ROOT = "careedge/v1"
SHARED_GROUP = "careedge-bridge"


def gateway_root(site: str, gateway: str) -> str:
    return f"{ROOT}/{site}/{gateway}"


def state(site: str, gateway: str) -> str:
    return f"{gateway_root(site, gateway)}/state"


def vitals(site: str, gateway: str, device: str) -> str:
    return f"{gateway_root(site, gateway)}/vitals/{device}"


def call(site: str, gateway: str) -> str:
    """A resident pressed "call nurse" at the gateway's kiosk page."""
    return f"{gateway_root(site, gateway)}/call"


def cabinet_event(site: str, gateway: str, cabinet: str) -> str:
    return f"{gateway_root(site, gateway)}/cabinet/{cabinet}/event"


def alerts(site: str) -> str:
    return f"{ROOT}/{site}/alerts"


def bridge_state(site: str) -> str:
    return f"{ROOT}/{site}/bridge/state"


def bridge_member_state(site: str, client_id: str) -> str:
    """Retained: one bridge process's birth document, or ``offline`` by its Last Will. Apart from
    the site-wide ``bridge/state`` the gateways read: the other bridges need to know which member of
    the shared subscription died, to take over the session it left behind. The ``_`` cannot begin
    a gateway ID, so no gateway's ``{gateway}/#`` grant covers it."""
    return f"{ROOT}/{site}/_bridges/{client_id}/state"


def all_bridge_member_states(site: str) -> str:
    return f"{ROOT}/{site}/_bridges/+/state"


def bridge_ingest_filters(site: str, *, share: bool) -> list[str]:
    """What a bridge session subscribes: the streams (shared among bridges with MQTT 5), every
    gateway's state unshared (a shared subscription receives no retained messages), and the
    gateways' command answers unshared (any bridge may take the answer to another's replay
    request; the store makes taking it twice harmless)."""
    streams = [all_vitals(site), all_calls(site), all_cabinet_events(site)]
    return [
        *(shared(stream) if share else stream for stream in streams),
        all_states(site),
        all_cmd_acks(site),
    ]


def all_vitals(site: str) -> str:
    """Subscription filter for every gateway's vitals of one site."""
    return f"{ROOT}/{site}/+/vitals/+"


def all_calls(site: str) -> str:
    return f"{ROOT}/{site}/+/call"


def all_cabinet_events(site: str) -> str:
    return f"{ROOT}/{site}/+/cabinet/+/event"


def all_states(site: str) -> str:
    """Every gateway's retained state (birth document or Last Will) of one site."""
    return f"{ROOT}/{site}/+/state"


def all_cmd_acks(site: str) -> str:
    return f"{ROOT}/{site}/+/cmd-ack/+"


def shared(topic_filter: str, group: str = SHARED_GROUP) -> str:
    """MQTT v5 shared subscription, so several bridges split one stream (DESIGN §6)."""
    return f"$share/{group}/{topic_filter}"


def cmd(site: str, gateway: str, target: str) -> str:
    """A command to the gateway (``config``, ``replay``, a cabinet)."""
    return f"{gateway_root(site, gateway)}/cmd/{target}"


def cmd_ack(site: str, gateway: str, command_id: str) -> str:
    return f"{gateway_root(site, gateway)}/cmd-ack/{command_id}"


def watermark(site: str, gateway: str) -> str:
    """Retained: the highest ``seq`` up to which the bridges have stored every message (DESIGN §4)."""
    return f"{gateway_root(site, gateway)}/watermark"
