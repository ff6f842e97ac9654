"""Residents' readings and gateways' last-seen from the bridge's relational store, over HTTP."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from alerts_kit import ANNA, BORIS, T0, reading
from api_kit import api_over

from careedge_common.envelope import rfc3339


def test_readings_of_one_resident_by_code_and_period(tmp_path: Path) -> None:
    with api_over(tmp_path) as (api, alerts):
        first = reading(ANNA, T0, systolic=120, pulse=70)
        second = reading(ANNA, T0 + timedelta(hours=1), systolic=130)
        alerts.feed(
            first,
            second,
            reading(BORIS, T0, systolic=150),
            reading(ANNA, T0 + timedelta(days=1), systolic=125),
        )

        body = api.get(
            f"/residents/{ANNA}/readings",
            params={"code": "8480-6", "since": rfc3339(T0), "until": rfc3339(T0 + timedelta(hours=1))},
        ).json()

        assert body["subject"] == ANNA
        assert body["readings"] == [
            {
                "id": first.id,
                "code": "8480-6",
                "name": "Systolic blood pressure",
                "value": 120.0,
                "unit": "mm[Hg]",
                "measured_at": rfc3339(T0),
            },
            {
                "id": second.id,
                "code": "8480-6",
                "name": "Systolic blood pressure",
                "value": 130.0,
                "unit": "mm[Hg]",
                "measured_at": rfc3339(T0 + timedelta(hours=1)),
            },
        ]
        both = api.get(
            f"/residents/{ANNA}/readings", params={"code": ["8480-6", "8867-4"], "limit": 2}
        ).json()
        assert [(row["code"], row["value"]) for row in both["readings"]] == [
            ("8480-6", 130.0),
            ("8480-6", 125.0),
        ]


def test_naive_times_and_bad_subjects_are_refused(tmp_path: Path) -> None:
    with api_over(tmp_path) as (api, _alerts):
        naive = api.get(f"/residents/{ANNA}/readings", params={"since": "2026-03-02T08:00:00"})
        assert naive.status_code == 422
        assert "offset" in naive.text
        assert api.get("/residents/anna smith/readings").status_code == 422


def test_readings_past_the_retention_window_are_pruned(tmp_path: Path) -> None:
    with api_over(tmp_path, rules={"readings_retention_days": 90}) as (api, alerts):
        old = reading(ANNA, T0 - timedelta(days=90, milliseconds=1), systolic=120)
        edge = reading(ANNA, T0 - timedelta(days=90), systolic=121)
        alerts.feed(old, edge, reading(ANNA, T0, systolic=122))

        assert alerts.service.prune() == 1

        kept = api.get(f"/residents/{ANNA}/readings").json()["readings"]
        assert [row["value"] for row in kept] == [121.0, 122.0]


def test_gateways_with_their_devices_last_seen(tmp_path: Path) -> None:
    with api_over(tmp_path) as (api, alerts):
        alerts.state("gw-1", online=True, offline_devices=("cuff-2",))
        alerts.feed(reading(ANNA, T0 + timedelta(minutes=5), systolic=120))
        newest = reading(ANNA, T0 + timedelta(minutes=9), systolic=121)
        alerts.feed(newest, reading(ANNA, T0 + timedelta(minutes=7), historical=True, systolic=119))
        alerts.clock.advance(minutes=10)
        alerts.state("gw-2", online=False)

        gateways = api.get("/gateways").json()["gateways"]

        assert gateways == [
            {
                "gateway": "gw-1",
                "online": True,
                "state_since": rfc3339(T0),
                "last_seen": rfc3339(T0 + timedelta(minutes=9)),
                "devices": [
                    {
                        "device": "cuff-2",
                        "last_seen": None,
                        "last_envelope_id": None,
                        "listed_status": "offline",
                    },
                    {
                        "device": "kiosk-1",
                        "last_seen": rfc3339(T0 + timedelta(minutes=9)),
                        "last_envelope_id": newest.id,
                        "listed_status": None,
                    },
                ],
            },
            {
                "gateway": "gw-2",
                "online": False,
                "state_since": rfc3339(T0 + timedelta(minutes=10)),
                "last_seen": None,
                "devices": [],
            },
        ]


def test_of_a_devices_envelopes_received_at_one_instant_the_first_stays_last_seen(tmp_path: Path) -> None:
    with api_over(tmp_path) as (api, alerts):
        at = T0 + timedelta(minutes=3)
        first, second = reading(ANNA, at, pulse=70), reading(BORIS, at, pulse=71)
        alerts.feed(reading(ANNA, T0, pulse=69), first, second)
        alerts.feed(reading(BORIS, at, pulse=72))

        (kiosk,) = api.get("/gateways").json()["gateways"][0]["devices"]

        assert (kiosk["last_seen"], kiosk["last_envelope_id"]) == (rfc3339(at), first.id)


def test_openapi_lists_the_new_paths(tmp_path: Path) -> None:
    with api_over(tmp_path) as (api, _alerts):
        paths = api.get("/openapi.json").json()["paths"]
        assert {"/residents/{subject}/readings", "/gateways", "/residents/status"} <= set(paths)
