"""Turn a driver's ``Reading`` into the wire envelope (DESIGN §3) once the outbox assigns ``seq``."""

from __future__ import annotations

from careedge_common import topics
from careedge_common.envelope import Envelope, new_event_id, utc_now
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
