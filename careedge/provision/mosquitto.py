"""Mosquitto's side of a site: a mutual-TLS listener and an ACL file built from the inventory.

With ``use_identity_as_username`` the certificate's CN is the MQTT username, so the ACL names
gateways and bridges by the IDs provisioning put in their certificates. Mosquitto denies whatever
the ACL file does not grant. For a shared subscription (``$share/group/filter``) Mosquitto checks
the filter without the share prefix, so the bridge needs read access only to the real topics.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from careedge_common import topics

RESERVED_IDS = frozenset({"alerts", "bridge"})
"""Topic levels the site itself uses under ``careedge/v1/{site}/``: a gateway named like one of
them would be granted the site's alerts or bridge state by the ``{gateway}/#`` rule."""


@dataclass(frozen=True, slots=True)
class ListenerFiles:
    """Where the broker will find its files once installed (``--install-dir``)."""

    ca: Path
    cert: Path
    key: Path
    crl: Path
    acl: Path


def listener_options(files: ListenerFiles) -> str:
    """The lines that follow a ``listener`` line: mutual TLS 1.2+, CRL check, identities from CN."""
    return (
        f"cafile {files.ca}\n"
        f"certfile {files.cert}\n"
        f"keyfile {files.key}\n"
        f"crlfile {files.crl}\n"
        "require_certificate true\n"
        "use_identity_as_username true\n"
        "tls_version tlsv1.2\n"
        f"acl_file {files.acl}\n"
    )


def listener_config(files: ListenerFiles, port: int, bind: str) -> str:
    return (
        "# CareEdge site listener, written by `careedge provision broker`; include it from\n"
        "# mosquitto.conf. Clients must present a certificate signed by the site CA.\n"
        f"listener {port} {bind}\n"
        f"{listener_options(files)}"
        "allow_anonymous false\n"
    )


def acl_file(site: str, gateways: list[str], bridges: list[str]) -> str:
    """Each gateway writes only below its own root and reads its own commands, its watermark and
    the bridge's state; bridges read the whole site and write alerts, commands, watermarks, the
    site's bridge state and their own member state (so the bridge's ``client_id`` is its
    provisioned ID). Revoked identities are simply absent.

    A bridge may connect with a peer bridge's client ID to take over its session when the peer
    died (``cloud_bridge.takeover``): Mosquitto ties sessions to client IDs, not to certificates,
    and checks what the session delivers against the connecting identity, which reads the site."""
    lines = [f"# CareEdge ACL of site {site}, written by `careedge provision`. Not listed: no access.", ""]
    for gateway in gateways:
        root = topics.gateway_root(site, gateway)
        lines += [
            f"user {gateway}",
            f"topic write {root}/#",
            f"topic read {root}/cmd/#",
            f"topic read {root}/watermark",
            f"topic read {topics.bridge_state(site)}",
            "",
        ]
    everyone = topics.gateway_root(site, "+")
    for bridge in bridges:
        lines += [
            f"user {bridge}",
            f"topic read {topics.ROOT}/{site}/#",
            f"topic write {topics.alerts(site)}",
            f"topic write {everyone}/cmd/#",
            f"topic write {everyone}/watermark",
            f"topic write {topics.bridge_state(site)}",
            f"topic write {topics.bridge_member_state(site, bridge)}",
            "",
        ]
    return "\n".join(lines)
