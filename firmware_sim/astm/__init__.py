"""Simulated point-of-care analyzer: ASTM E1394 records over E1381 on a pseudo-terminal (see README.md)."""

from firmware_sim.astm.analyzers import AnalyzerKind, SentResult, Transmission, UnitSystem
from firmware_sim.astm.faults import FaultRates
from firmware_sim.astm.simulator import AstmAnalyzerSimulator, AstmCounters, DeliveryOutcome

__all__ = [
    "AnalyzerKind",
    "AstmAnalyzerSimulator",
    "AstmCounters",
    "DeliveryOutcome",
    "FaultRates",
    "SentResult",
    "Transmission",
    "UnitSystem",
]
