"""What the dashboard reads besides the alert API: residents' places, their bands, and the live
feed's events (alert transitions and stored readings), its bound per browser and its end."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alerts_kit import ANNA, BORIS, T0, make_alerts, reading
from api_kit import api_over

from cloud_bridge.live_feed import MAX_QUEUED, LiveFeed, sse

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
