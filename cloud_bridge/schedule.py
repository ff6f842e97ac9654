"""Expected daily measurements: a resident's reading of a code not taken by a time of day.

The day is the site's local day. The condition names the day (``missed_measurement:8480-6:2026-
03-01``), so each day misses at most once: resolved by hand, it does not come back at the next
check; a reading of that code later the same day resolves it by itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from careedge_common.codes import BY_CODE
from careedge_common.config_alerts import AlertRules, ExpectedMeasurement
from careedge_common.envelope import Envelope
from cloud_bridge.alert import Finding


class ExpectedRule:
    def __init__(self, rules: AlertRules, zone: ZoneInfo) -> None:
        self._rules = rules
        self._zone = zone
        self.configured = bool(rules.expected) or any(r.expected for r in rules.residents.values())
        """False when no resident has any expected measurement: nothing to check or clear."""

    def expected(self, subject: str) -> list[ExpectedMeasurement]:
        own = self._rules.resident(subject).expected
        return self._rules.expected if own is None else own

    def start_of_day(self, now: datetime) -> datetime:
        """Local midnight of ``now``'s site day, in UTC."""
        local = now.astimezone(self._zone)
        return datetime.combine(local.date(), time(0), self._zone).astimezone(UTC)

    def taken(self, envelope: Envelope) -> list[Finding]:
        """Clears for the expected codes this reading measured."""
        if envelope.subject is None or not self.configured:
            return []
        wanted = {item.code for item in self.expected(envelope.subject)}
        day = envelope.measured_at.astimezone(self._zone).date().isoformat()
        return [
            Finding(
                scope=envelope.subject,
                condition=f"missed_measurement:{observation.code}:{day}",
                category="missed_measurement",
                severity=None,
                title=f"{BY_CODE[observation.code].name} measured",
                subject=envelope.subject,
                reading_ids=(envelope.id,),
            )
            for observation in envelope.obs
            if observation.code in wanted
        ]

    def missed(
        self, now: datetime, subjects: Iterable[str], measured_today: Mapping[tuple[str, str], datetime]
    ) -> list[Finding]:
        """Raises for each resident and expected code past its time with no reading today.

        ``measured_today``: newest measurement per (subject, code) since ``start_of_day(now)``.
        """
        local = now.astimezone(self._zone)
        day = local.date().isoformat()
        findings: list[Finding] = []
        for subject in sorted(set(subjects) | set(self._rules.residents)):
            for item in self.expected(subject):
                if local.strftime("%H:%M") < item.by or (subject, item.code) in measured_today:
                    continue
                findings.append(
                    Finding(
                        scope=subject,
                        condition=f"missed_measurement:{item.code}:{day}",
                        category="missed_measurement",
                        severity=item.severity,
                        title=f"{BY_CODE[item.code].name} not measured by {item.by} on {day}",
                        subject=subject,
                        detail={"code": item.code, "by": item.by, "day": day},
                        once=True,
                    )
                )
        return findings
