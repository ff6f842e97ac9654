"""Device profiles are checked like site files: one ``FILE: key.path: expected, found`` line each."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from careedge.cli import app
from careedge_common.config_loader import ConfigError
from drivers.modbus.profile import load_profile

PROFILES = Path(__file__).resolve().parents[3] / "config" / "profiles"
SIM = PROFILES / "sim-cabinet.yaml"


def _problems(tmp_path: Path, edit: dict[str, object]) -> list[str]:
    document = yaml.safe_load(SIM.read_text(encoding="utf-8"))
    for dotted, value in edit.items():
        *parents, key = dotted.split(".")
        node = document
        for parent in parents:
            node = node[parent]
        node[key] = value
    path = tmp_path / "profile.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_profile(path)
    return [line.removeprefix(f"{path}: ") for line in info.value.problems]


def test_shipped_profiles_are_valid_and_different_models() -> None:
    sim, other = load_profile(SIM), load_profile(PROFILES / "medtower-12.yaml")
    assert (sim.word_order, other.word_order) == ("big", "little")
    assert sim.input_registers.temperature.type != other.input_registers.temperature.type
    assert sim.unit_id != other.unit_id
    assert sim.coils.drawer_unlock.address != other.coils.drawer_unlock.address


def test_overlapping_addresses_name_both_points(tmp_path: Path) -> None:
    problems = _problems(tmp_path, {"holding_registers.mailbox.opcode": {"address": 7}})
    assert problems == [
        "holding_registers.mailbox.opcode: an address no other point uses, "
        "found 7 also used by holding_registers.slot_count"
    ]


def test_per_slot_points_overlap_when_their_range_runs_into_another(tmp_path: Path) -> None:
    problems = _problems(tmp_path, {"discrete_inputs.slot_occupied": {"address": 5}})
    assert problems == [
        "discrete_inputs.slot_occupied: an address no other point uses, "
        "found 5 also used by discrete_inputs.drawer_open"
    ]


def test_per_slot_points_must_stay_in_the_address_space(tmp_path: Path) -> None:
    problems = _problems(tmp_path, {"holding_registers.slot_count": {"address": 65530}})
    assert problems == [
        "holding_registers.slot_count: addresses within 0-65535 for every slot and compartment, found 65536"
    ]


def test_a_stride_narrower_than_the_value_is_refused(tmp_path: Path) -> None:
    problems = _problems(
        tmp_path, {"input_registers.temperature": {"address": 0, "type": "float32", "stride": 1}}
    )
    assert problems == ["input_registers.temperature: a stride of at least 2 for a float32, found 1"]


def test_unknown_keys_missing_opcodes_and_bad_values_are_each_reported(tmp_path: Path) -> None:
    problems = _problems(
        tmp_path,
        {
            "unit_id": 0,
            "coils.drawer_lock": {"address": 40},
            "holding_registers.mailbox.opcodes": {"unlock_slot": 1, "buzz": 2},
        },
    )
    assert problems == [
        "unit_id: a value that is greater than or equal to 1, found 0",
        "coils.drawer_lock: no such key (unknown keys are errors), found {'address': 40}",
        "holding_registers.mailbox.opcodes: opcodes for unlock_slot, buzz, clear_fault, missing clear_fault, "
        "found {'buzz': 2, 'unlock_slot': 1}",
    ]


def test_config_profile_command_prints_problems_and_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: x\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["config", "profile", str(SIM), str(bad)])
    assert result.exit_code == 2
    assert f"{SIM}: ok" in result.output
    assert f"{bad}: unit_id: a value (required key), found nothing" in result.stderr
