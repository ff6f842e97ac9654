"""Simulated ID-card / barcode reader on a pseudo-terminal (see README.md)."""

from firmware_sim.id_reader.simulator import IdReaderSimulator

__all__ = ["IdReaderSimulator"]
