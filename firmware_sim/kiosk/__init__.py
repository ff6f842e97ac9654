"""Simulated screening kiosk: HL7 v2.5 ORU^R01 over MLLP on a pseudo-terminal (see README.md)."""

from firmware_sim.kiosk.faults import FaultRates
from firmware_sim.kiosk.messages import MessageRecord, SentObservation
from firmware_sim.kiosk.residents import IdStyle, Resident, generate_residents, load_residents
from firmware_sim.kiosk.simulator import DeliveryOutcome, KioskCounters, KioskSimulator
from firmware_sim.kiosk.units import UnitsMode
from firmware_sim.kiosk.vitals import MeasurementKind

__all__ = [
    "DeliveryOutcome",
    "FaultRates",
    "IdStyle",
    "KioskCounters",
    "KioskSimulator",
    "MeasurementKind",
    "MessageRecord",
    "Resident",
    "SentObservation",
    "UnitsMode",
    "generate_residents",
    "load_residents",
]
