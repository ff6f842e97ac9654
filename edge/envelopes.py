"""Turn a driver's ``Reading`` into the wire envelope (DESIGN §3) once the outbox assigns ``seq``.

Also the gateway's own envelopes: a nurse call from the kiosk page, and the correction that
publishes an unbound reading again once staff have assigned it to a resident.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from careedge_common import topics
from careedge_common.envelope import Envelope, EnvelopeType, new_event_id, utc_now
from drivers.contract import Reading
from edge.outbox import Message


class EnvelopeFactory:
    def __init__(self, site: str, gateway: str) -> None:
        self._site = site
        self._gateway = gateway

    def observation(self, reading: Reading, seq: int, boot: int) -> Message:
        envelope = Envelope(
            id=new_event_id(),
            seq=seq,
            boot=boot,
            site=self._site,
            gateway=self._gateway,
            device=reading.device_id,
            type="observation",
            measured_at=reading.measured_at,
            received_at=utc_now(),
            subject=reading.subject,
            obs=list(reading.observations),
        )
        return Message(
            id=envelope.id,
            topic=topics.vitals(self._site, self._gateway, reading.device_id),
            payload=envelope.model_dump_json().encode(),
        )

    def call(self, station: str, subject: str | None, at: datetime, seq: int, boot: int) -> Message:
        """``type: call`` on ``.../call``: a resident at ``station`` asked for a nurse at ``at`` (aware).

        ``subject`` is the open session's resident, or None when nobody was logged in.
        """
        topic = topics.call(self._site, self._gateway)
        return self._event(station, "call", topic, at, at, subject, {"station": station}, seq, boot)

    def cabinet_event(
        self, cabinet: str, subject: str | None, at: datetime, data: dict[str, Any], seq: int, boot: int
    ) -> Message:
        """``type: cabinet_event`` on ``.../cabinet/{cabinet}/event``; ``data["event"]`` says which
        (``dispensed``, ``refused``, ``missed``, ``fault``, ``refill``, ``door``,
        ``temperature_excursion``). ``at`` (aware) is when it happened; ``subject`` the resident's
        pseudonym, if one is concerned."""
        topic = topics.cabinet_event(self._site, self._gateway, cabinet)
        return self._event(cabinet, "cabinet_event", topic, at, utc_now(), subject, data, seq, boot)

    def _event(
        self,
        device: str,
        kind: EnvelopeType,
        topic: str,
        at: datetime,
        received_at: datetime,
        subject: str | None,
        data: dict[str, Any],
        seq: int,
        boot: int,
    ) -> Message:
        envelope = Envelope(
            id=new_event_id(),
            seq=seq,
            boot=boot,
            site=self._site,
            gateway=self._gateway,
            device=device,
            type=kind,
            measured_at=at,
            received_at=received_at,
            subject=subject,
            data=data,
        )
        return Message(id=envelope.id, topic=topic, payload=envelope.model_dump_json().encode())

    def correction(self, original: Envelope, subject: str, supersedes: str, seq: int, boot: int) -> Message:
        """The reading of ``original`` again under ``subject``: a new ID and ``seq``, ``historical``,
        and ``supersedes`` naming the envelope it replaces (the original or an earlier correction).
        Measurement and receipt times and observations stay as they were."""
        envelope = original.model_copy(
            update={
                "id": new_event_id(),
                "seq": seq,
                "boot": boot,
                "subject": subject,
                "historical": True,
                "supersedes": supersedes,
            }
        )
        return Message(
            id=envelope.id,
            topic=topics.vitals(self._site, self._gateway, original.device),
            payload=envelope.model_dump_json().encode(),
        )
