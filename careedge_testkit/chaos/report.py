"""The chaos report as Markdown: the same text is printed by a run and kept in docs/reliability.md."""

from __future__ import annotations

from datetime import UTC, datetime

from careedge_testkit.chaos.runner import ChaosResult
from careedge_testkit.chaos.schedule import FaultKind
from careedge_testkit.chaos.site import BRIDGES, KIOSK_INTERVAL_S, RESIDENTS_PER_KIOSK

SETUP = f"""\
Every part is real and on loopback: kiosk simulators (HL7 over MLLP on pseudo-terminals, one message
every {KIOSK_INTERVAL_S} s each, {RESIDENTS_PER_KIOSK} residents each, resending until acknowledged)
feed one `careedge edge` process; it reaches Mosquitto through a TCP relay the runner cuts; two
`careedge bridge` processes ({", ".join(BRIDGES)}) share the MQTT v5 shared subscription and one
relational store, and write to VictoriaMetrics. For a fixed seed the runner SIGKILLs and restarts
the edge, each bridge and the broker, SIGSTOPs/SIGCONTs VictoriaMetrics and cuts the gateway's link
at random moments, then stops the kiosks, waits for delivery to settle, and reconciles every reading
a kiosk got acknowledged against VictoriaMetrics (export API), the bridges' relational store
(processed envelopes, alerts) and the edge's outbox (which envelope carried which reading)."""


LISTED_PER_CHECK = 20
TALLY_ROWS = (
    ("careedge_bridge_duplicates_total", "re-deliveries the bridges dropped as already processed"),
    ("careedge_bridge_replays_requested_total", "replays the bridges asked for (seq gaps)"),
    ("careedge_edge_replayed_total", "envelopes the edge published again (asked, or above the watermark)"),
    ("careedge_bridge_seq_gaps_given_up_total", "seq gaps the bridges gave up on"),
)
"""Counters from the daemons' /metrics, summed over their lives."""


def render(result: ChaosResult, command: str) -> str:
    outcome = result.reconciliation
    kinds = result.by_kind
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Reliability under faults (chaos run)",
        "",
        f"Produced by `{command}` on {when}; the run took {result.duration_s:.0f} s.",
        "",
        SETUP,
        "",
        "## Result",
        "",
        "| seed | profile | replay | kills | edge kills | bridge kills | broker kills | TSDB pauses "
        "| link cuts |",
        "| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        f"| {result.seed} | {result.profile} | {'on' if result.replay else 'off'} | {result.kills} "
        f"| {kinds[FaultKind.EDGE_KILL]} "
        f"| {kinds[FaultKind.BRIDGE_KILL]} | {kinds[FaultKind.BROKER_KILL]} | {kinds[FaultKind.TSDB_PAUSE]} "
        f"| {kinds[FaultKind.LINK_CUT]} |",
        "",
        "| messages sent | readings sent and acknowledged | lost | duplicated | altered |",
        "| ---: | ---: | ---: | ---: | ---: |",
        f"| {result.messages_sent} | {outcome.acknowledged} | {len(outcome.lost)} "
        f"| {len(outcome.duplicated)} | {len(outcome.altered)} |",
        "",
        "| detail | count |",
        "| --- | ---: |",
        f"| kiosk transmissions (resends through outages included) | {result.transmissions} |",
        f"| lost: never in the edge's outbox | {outcome.not_in_outbox} |",
        f"| lost: no envelope carrying it processed by a bridge | {outcome.not_processed} |",
        f"| lost: no point in VictoriaMetrics | {outcome.not_in_tsdb} |",
        f"| lost: acknowledged by the broker before a broker kill (at most "
        f"{result.broker_kill_losses.longest_s:.1f} s before) | {result.broker_kill_losses.readings} |",
        f"| rows of the bridges' store beyond one per reading (alerts, readings) "
        f"| {outcome.duplicate_rows} |",
        f"| points stored whose acknowledgement the kiosk did not hear (at least once) "
        f"| {outcome.stored_unacknowledged} |",
        f"| points no envelope of the outbox explains | {outcome.unexplained} |",
        *(f"| {what} | {result.tallies.get(sample, 0)} |" for sample, what in TALLY_ROWS),
        f"| daemons that exited without being killed | {sum(result.unplanned_exits.values())} |",
        f"| delivery settled before the deadline | {'yes' if result.settled else 'no'} |",
        "",
        "## Faults",
        "",
        "| # | at (s) | kind | target | down (s) |",
        "| ---: | ---: | --- | --- | ---: |",
    ]
    lines += [
        f"| {number} | {record.fault.at_s:.1f} | {record.fault.kind} | {record.fault.target} "
        f"| {record.fault.down_s:.1f} |"
        for number, record in enumerate(result.faults, start=1)
    ]
    return "\n".join(lines + _unclean(result)) + "\n"


def _unclean(result: ChaosResult) -> list[str]:
    """The first few readings of each failed check, to start looking from (subjects are pseudonyms)."""
    outcome = result.reconciliation
    failed = [("lost", outcome.lost), ("duplicated", outcome.duplicated), ("altered", outcome.altered)]
    if not any(keys for _, keys in failed):
        return []
    lines = ["", "## Readings that failed a check", "", "| check | device | subject | code | measured at |"]
    lines.append("| --- | --- | --- | --- | --- |")
    for check, keys in failed:
        lines += [
            f"| {check} | {key.device} | {key.subject} | {key.code} | {_utc(key.time_ms)} |"
            for key in keys[:LISTED_PER_CHECK]
        ]
        if len(keys) > LISTED_PER_CHECK:
            lines.append(f"| {check} | … {len(keys) - LISTED_PER_CHECK} more | | | |")
    return lines


def _utc(time_ms: int) -> str:
    return datetime.fromtimestamp(time_ms / 1000, UTC).isoformat(timespec="milliseconds")
