"""A schedule for a cabinet or slot the gateway does not have stops the edge before it starts."""

from __future__ import annotations

from pathlib import Path

from careedge_testkit.processes import Daemon
from careedge_testkit.servers import free_port
from tests.cabinet.cabinet_kit import CABINET, SUBJECT, edge_config, simulated_cabinet


def test_schedule_for_a_missing_slot_is_a_config_error(tmp_path: Path) -> None:
    window = {"start": "08:00", "end": "09:00"}
    schedules = [
        {"id": "a", "subject": SUBJECT, "cabinet": CABINET, "slot": 12, "windows": [window]},
        {"id": "b", "subject": SUBJECT, "cabinet": "cab-x", "slot": 1, "windows": [window]},
    ]
    with simulated_cabinet() as cabinet:
        config = edge_config(tmp_path, free_port(), cabinet, free_port(), {"schedules": schedules})
        edge = Daemon("edge", config).start()
        assert edge.process is not None
        assert edge.process.wait(30) == 2
        served = len(cabinet.model.served)
    output = edge.log()
    assert "gateway.cabinet.schedules[0].slot: 1 to 8 on cabinet cab-1, found 12" in output
    assert "gateway.cabinet.schedules[1].cabinet: a modbus_cabinet device (cab-1), found 'cab-x'" in output
    assert served == 0, "no request reached the cabinet"
