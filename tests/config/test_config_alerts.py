"""``alerts.rules`` in site files: what a technician gets wrong is named by its key path."""

from __future__ import annotations

from pathlib import Path

import pytest

from careedge_common.config_loader import ConfigError, load_config

BRIDGE = """\
site: {id: home-a}
broker: {insecure: true}
bridge: {sink: {kind: sqlite, path: /tmp/p.db}, store_path: /tmp/b.db}
alerts:
  rules:
"""
ROUTE = "{id: nurses, role: nurse_station, url: 'https://n.example/h', secret_file: /etc/k"


def _problems(tmp_path: Path, rules: str) -> list[str]:
    path = tmp_path / "site.yaml"
    path.write_text(BRIDGE + rules, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return [line.removeprefix(f"{path}: ") for line in info.value.problems]


def test_defaults_need_no_rules_section(tmp_path: Path) -> None:
    path = tmp_path / "site.yaml"
    path.write_text(BRIDGE.replace("  rules:\n", "  thresholds: []\n"), encoding="utf-8")
    rules = load_config(path).alerts.rules
    assert (rules.glucose.hypo_below, rules.glucose.severe_hypo_below, rules.glucose.hyper_above) == (
        3.9,
        3.0,
        None,
    )
    assert (rules.trends.weight_gain.kg, rules.trends.weight_gain.days) == (2.0, 3.0)
    assert rules.margin("8480-6") == 5.0
    assert rules.margin("2093-3") == 0.0


@pytest.mark.parametrize(
    ("rules", "problem"),
    [
        (
            "    expected: [{code: 8480-6, by: '9:00'}]\n",
            "alerts.rules.expected[0].by: a string matching",
        ),
        (
            "    expected: [{code: 1234-5, by: '09:00'}]\n",
            "alerts.rules.expected[0].code: a LOINC code",
        ),
        ("    residents: {res-1: {tags: [x]}}\n", "alerts.rules.residents.res-1.[key]: a string matching"),
        (
            "    glucose: {hypo_below: 2.5}\n",
            "alerts.rules.glucose: limits ordered severe_hypo_below < hypo_below",
        ),
        (
            f"    routes: [{ROUTE}, escalate_to: doctor}}]\n",
            "alerts.rules: route nurses: escalate_to names no route (doctor)",
        ),
        (f"    routes: [{ROUTE}, secret: abc}}]\n", "alerts.rules.routes[0].secret: no such key"),
        (f"    routes: [{ROUTE}, colours: [green]}}]\n", "alerts.rules.routes[0].colours[0]: "),
        ("    hysteresis: {8480-6: -1}\n", "alerts.rules.hysteresis: a margin of at least 0 for 8480-6"),
    ],
)
def test_rule_mistakes_are_named_by_path(tmp_path: Path, rules: str, problem: str) -> None:
    problems = _problems(tmp_path, rules)
    assert any(line.startswith(problem) for line in problems), problems
