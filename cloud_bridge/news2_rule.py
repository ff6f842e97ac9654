"""NEWS2 as an alert rule: each resident's latest readings within a window, scored by ``news2``.

Air or oxygen comes from the resident's config when it is known; consciousness has no source on
a kiosk, so it is reported missing and the score is partial. A partial score is still a lower
bound: it alerts when the measured parameters alone reach a band, and says what was not measured.
"""

from __future__ import annotations

from datetime import timedelta

from careedge_common.config_alerts import AlertRules
from careedge_common.envelope import Envelope
from careedge_common.epoch import span_us
from cloud_bridge import news2
from cloud_bridge.alert import Finding, Severity, finding_of
from cloud_bridge.history import History


class News2Rule:
    def __init__(self, rules: AlertRules) -> None:
        self._rules = rules
        self._window_us = span_us(timedelta(minutes=rules.news2.window_minutes))

    def score(self, envelope: Envelope, history: History) -> tuple[news2.News2Score, tuple[str, ...]]:
        """The score at the envelope's measurement time, and the reading IDs it was computed from."""
        assert envelope.subject is not None
        resident = self._rules.resident(envelope.subject)
        since_ms, until_ms = (envelope.measured_at_us - self._window_us) // 1000, envelope.measured_at_ms
        by_code = history.latest(envelope.subject, news2.CODE_OF.values(), since_ms, until_ms)
        latest = {parameter: by_code[code] for parameter, code in news2.CODE_OF.items() if code in by_code}

        def value(parameter: news2.Parameter) -> float | None:
            sample = latest.get(parameter)
            return None if sample is None else sample.value

        result = news2.score(
            news2.News2Input(
                respiration_rate=value("respiration_rate"),
                spo2=value("spo2"),
                on_oxygen=resident.supplemental_oxygen,
                systolic_bp=value("systolic_bp"),
                pulse=value("pulse"),
                alert=None,
                temperature=value("temperature"),
                spo2_scale=2 if resident.hypercapnic_respiratory_failure else 1,
            )
        )
        return result, tuple(sorted({sample.reading_id for sample in latest.values()}))

    def finding(
        self, envelope: Envelope, result: news2.News2Score, reading_ids: tuple[str, ...]
    ) -> Finding | None:
        assert envelope.subject is not None
        severity: Severity | None
        if result.colour != "green":
            severity = result.colour
        elif result.total <= self._rules.news2.clear_at_or_below and 3 not in result.points.values():
            severity = None
        else:
            return None
        partial = " (partial: " + ", ".join(result.missing) + " not measured)" if result.partial else ""
        title = f"NEWS2 {result.total}, {result.band.replace('_', '-')}{partial}"
        return finding_of(
            envelope,
            envelope.subject,
            "news2",
            "news2",
            severity,
            title,
            reading_ids,
            detail=describe(result),
        )


def describe(result: news2.News2Score) -> dict[str, object]:
    """The score as the API and the alert document show it."""
    return {
        "score": result.total,
        "band": result.band,
        "colour": result.colour,
        "partial": result.partial,
        "missing": list(result.missing),
        "points": dict(result.points),
        "spo2_scale": result.spo2_scale,
    }
