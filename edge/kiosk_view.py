"""What the kiosk page shows, built from what this edge has just stored (never from the cloud).

Results are kept in memory for the open session only: readings bound to it, or carrying its
resident's subject while it is open. They disappear when it ends. The state never contains a
subject or an ID: only the session's display name, the values and their words.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from careedge_common.config import KioskConfig, Threshold
from careedge_common.envelope import Observation, rfc3339
from edge.binding import BoundReading
from edge.calls import NurseCaller
from edge.kiosk_sessions import SessionService
from edge.kiosk_texts import band_label, explanation, noun, unit_text
from edge.outbox import OutboxEntry

MAX_RESULTS = 24
"""A full screening is under ten values; more than this is a memory upload, shown newest first."""
NOTICE_SHOWN_S = 20.0
"""How long "card not recognised" or "session ended" stays on the scan screen."""
CALL_SHOWN_S = 60.0
"""How long "a nurse has been called" stays on screen when nobody is logged in."""


@dataclass(frozen=True, slots=True)
class _Result:
    reading_id: str
    measured_at: datetime
    observation: Observation


class KioskView:
    def __init__(
        self,
        sessions: SessionService,
        caller: NurseCaller,
        thresholds: Sequence[Threshold],
        kiosk: KioskConfig,
        clock: Callable[[], datetime],
    ) -> None:
        self._sessions = sessions
        self._caller = caller
        self._thresholds = {threshold.code: threshold for threshold in thresholds}
        self._kiosk = kiosk
        self._clock = clock
        self._results_session: str | None = None
        self._results: deque[_Result] = deque(maxlen=MAX_RESULTS)

    def reading_stored(self, bound: BoundReading, entry: OutboxEntry) -> None:
        """``ReadingBinder``'s listener: keep the reading if it belongs to the open session."""
        current = self._sessions.current()
        if current is None or bound.session_id != current.id:
            return
        if self._results_session != current.id:
            self._results_session = current.id
            self._results.clear()
        reading = bound.reading
        self._results.extend(_Result(entry.id, reading.measured_at, obs) for obs in reading.observations)

    def state(self) -> dict[str, Any]:
        """The document ``GET /kiosk/state`` returns (see ``edge/kiosk/index.html``)."""
        now = self._clock()
        session = self._sessions.current()
        notice = self._sessions.notice
        call = self._caller.last
        show_call = call is not None and (
            call.session_id == session.id
            if session is not None
            else now - call.at < timedelta(seconds=CALL_SHOWN_S)
        )
        return {
            "station": self._kiosk.station,
            "language": self._kiosk.language,
            "session": None
            if session is None
            else {
                "id": session.id,
                "display_name": self._sessions.display_name(session),
                "started_at": rfc3339(session.started_at),
                "expires_in_s": max(0, round((session.expires_at - now).total_seconds())),
            },
            "notice": None
            if notice is None or session is not None or now - notice.at > timedelta(seconds=NOTICE_SHOWN_S)
            else {"kind": notice.kind, "at": rfc3339(notice.at)},
            "results": [] if session is None or self._results_session != session.id else self._result_rows(),
            "call": {"id": call.envelope_id, "at": rfc3339(call.at)}
            if call is not None and show_call
            else None,
        }

    def _result_rows(self) -> list[dict[str, Any]]:
        rows = sorted(self._results, key=lambda result: result.measured_at, reverse=True)
        return [self._row(result) for result in rows]

    def _row(self, result: _Result) -> dict[str, Any]:
        obs = result.observation
        threshold = self._thresholds.get(obs.code)
        band, direction = threshold.band(float(obs.value)) if threshold is not None else (None, None)
        return {
            "reading_id": result.reading_id,
            "measured_at": rfc3339(result.measured_at),
            "code": obs.code,
            "value": obs.value,
            "unit": obs.unit,
            "name": asdict(noun(obs.code)),
            "unit_text": asdict(unit_text(obs.unit)),
            "band": band or "none",
            "band_text": asdict(band_label(band, direction)),
            "explanation": asdict(explanation(obs.code, band, direction)),
        }
