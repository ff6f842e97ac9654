"""ID-card and barcode/QR readers that send one code per line on a serial port (see README.md)."""

from drivers.id_reader.codec import IdCodeError, LineDecoder, Reason, ScannedCode, parse_line
from drivers.id_reader.driver import IdReaderDriver
from drivers.id_reader.source import Identification, IdentificationSource

__all__ = [
    "IdCodeError",
    "IdReaderDriver",
    "Identification",
    "IdentificationSource",
    "LineDecoder",
    "Reason",
    "ScannedCode",
    "parse_line",
]
