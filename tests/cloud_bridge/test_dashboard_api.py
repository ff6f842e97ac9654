"""What the dashboard reads besides the alert API: residents' places, their bands, and the live
feed's events (alert transitions and stored readings), its bound per browser and its end."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alerts_kit import ANNA, BORIS, T0, make_alerts, reading
from api_kit import api_over

from careedge_testkit.tokens import role_headers
from cloud_bridge.live_feed import MAX_QUEUED, LiveFeed, sse
from cloud_bridge.stream_tickets import StreamTickets

PLACED = {
    "residents": {
        ANNA: {"floor": "2F", "room": "201"},
        BORIS: {"thresholds": [{"code": "8480-6", "yellow_above": 150, "red_above": 190}]},
    }
}


def test_places_codes_and_bands(tmp_path: Path) -> None:
    with api_over(tmp_path, rules=PLACED) as (api, _alerts):
        places = api.get("/dashboard/residents").json()
        assert places["residents"] == [
            {"subject": ANNA, "floor": "2F", "room": "201"},
            {"subject": BORIS, "floor": None, "room": None},
        ]
        assert {
            "code": "8480-6",
            "name": "Systolic blood pressure",
            "name_zh": "收缩压",
            "unit": "mm[Hg]",
        } in places["codes"]
        site = api.get(f"/dashboard/bands/{ANNA}").json()["bands"]["8480-6"]
        own = api.get(f"/dashboard/bands/{BORIS}").json()["bands"]["8480-6"]
        assert site == {"yellow_above": 140, "red_above": 180, "yellow_below": 100, "red_below": 90}
        assert own == {"yellow_above": 150, "red_above": 190, "yellow_below": None, "red_below": None}
        assert "<title>护士站看板" in api.get("/dashboard").text


async def test_stream_carries_transitions_and_readings_then_ends_on_close(tmp_path: Path) -> None:
    alerts = make_alerts(tmp_path)
    feed = LiveFeed()
    alerts.service.add_listener(feed.on_transition)
    alerts.service.add_readings_listener(feed.on_readings)
    try:
        stream = feed.stream()
        assert (await anext(stream)).startswith("retry:")
        red = reading(ANNA, T0, systolic=195)
        await asyncio.to_thread(alerts.feed, red, reading(None, T0, systolic=120))
        alert_event = await anext(stream)
        reading_event = await anext(stream)
        assert alert_event.startswith("event: alert\n")
        assert '"transition":"raised"' in alert_event
        assert reading_event == sse(
            "reading",
            {
                "id": red.id,
                "subject": ANNA,
                "measured_at": "2026-03-02T08:00:00.000Z",
                "obs": [{"code": "8480-6", "value": 195, "unit": "mm[Hg]"}],
            },
        )
        feed.close()
        assert [chunk async for chunk in stream] == []
        assert [chunk async for chunk in feed.stream()] == []
    finally:
        alerts.close()


async def test_a_browser_that_falls_behind_is_cut_off_to_reconnect() -> None:
    """All offers run on the loop before the stream resumes: one more than the bound ends it."""
    feed = LiveFeed()
    stream = feed.stream()
    await anext(stream)
    for number in range(MAX_QUEUED + 1):
        feed.publish(sse("reading", {"n": number}))
    assert [chunk async for chunk in stream] == []


def test_the_dashboards_data_needs_a_nurse_and_the_stream_a_fresh_ticket(tmp_path: Path) -> None:
    with api_over(tmp_path) as (api, _alerts):
        pharmacist = role_headers(tmp_path, "pharmacist")
        for path in ("/dashboard/residents", f"/dashboard/bands/{ANNA}"):
            assert api.get(path, headers=pharmacist).status_code == 403
            assert api.get(path, headers={"Authorization": ""}).status_code == 401
        assert api.get("/dashboard", headers={"Authorization": ""}).status_code == 200, (
            "the page holds no data"
        )
        assert api.post("/events/ticket", headers=pharmacist).status_code == 403
        assert api.get("/events", params={"ticket": "made-up"}).status_code == 401
        assert api.get("/events").status_code == 422
        assert api.post("/events/ticket").json()["ticket"]


def test_a_stream_ticket_works_once_and_not_after_its_time() -> None:
    tickets = StreamTickets()
    ticket = tickets.issue()
    assert tickets.redeem(ticket)
    assert not tickets.redeem(ticket)
    assert not tickets.redeem("never-issued")
    expired = StreamTickets(ttl_s=0)
    assert not expired.redeem(expired.issue())
