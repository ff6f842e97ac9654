"""The whole demo with residents whose names and ID numbers the test knows: after it ran, none of
them appears in the demo's output, the daemons' logs, any MQTT payload the broker carried, the
edge database, the bridge's store or the stored points. Their pseudonyms do appear, which shows
their readings went all the way through."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

from careedge_common.pseudonym import Pseudonymiser
from firmware_sim.kiosk.simulator import DEFAULT_FACILITY

RESIDENTS = [
    {"resident_id": "110105193706031172", "family_name": "欧阳", "given_name": "静雯", "sex": "F"},
    {"resident_id": "320106194905238264", "family_name": "司马", "given_name": "建国", "sex": "M"},
    {"resident_id": "51010719281125497X", "family_name": "诸葛", "given_name": "秀英", "sex": "F"},
]


def _secrets() -> list[bytes]:
    """Every way a name or number could have been written: UTF-8, GB18030 (kiosks that declare it),
    the HL7 name as sent (family^given), and the number as written."""
    found: list[bytes] = []
    for resident in RESIDENTS:
        name = resident["family_name"] + resident["given_name"]
        for text in (name, resident["given_name"], f"{resident['family_name']}^{resident['given_name']}"):
            found += [text.encode("utf-8"), text.encode("gb18030")]
        found += [resident["resident_id"].encode(), resident["resident_id"][:17].encode()]
        found.append(json.dumps(resident["given_name"]).encode())
    return found


def test_no_name_or_id_number_leaves_the_driver(tmp_path: Path) -> None:
    roster = tmp_path / "roster.yaml"
    roster.write_text(yaml.safe_dump({"residents": RESIDENTS}, allow_unicode=True), encoding="utf-8")
    kept = tmp_path / "demo"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "careedge",
            "demo",
            "--seconds",
            "8",
            "--kiosks",
            "2",
            "--residents-file",
            str(roster),
            "--keep",
            str(kept),
        ],
        capture_output=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    places = {"demo output": result.stdout + result.stderr} | {
        str(path.relative_to(kept)): path.read_bytes()
        for path in kept.rglob("*")
        if path.is_file() and not path.is_symlink()
    }
    assert {
        "edge.log",
        "bridge.log",
        "mqtt.jsonl",
        "edge/edge.db",
        "bridge/bridge.db",
        "bridge/vitals.db",
    } <= set(places)
    leaks = [(where, secret) for where, data in places.items() for secret in _secrets() if secret in data]
    assert leaks == []

    pseudonymiser = Pseudonymiser((kept / "site-pseudonym.key").read_bytes())
    pseudonyms = {pseudonymiser.subject(r["resident_id"], DEFAULT_FACILITY) for r in RESIDENTS}
    traffic = [json.loads(line) for line in (kept / "mqtt.jsonl").read_text(encoding="utf-8").splitlines()]
    subjects = {
        json.loads(message["payload"]).get("subject") for message in traffic if "/vitals/" in message["topic"]
    }
    assert pseudonyms <= subjects
