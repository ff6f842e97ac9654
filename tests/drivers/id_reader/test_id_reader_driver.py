"""The reader driver on a real pty, fed by the reader simulator: pseudonyms out, refusals counted."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from careedge_common.config import DeviceConfig, IdCodeFormat
from careedge_common.pseudonym import Pseudonymiser
from drivers.contract import DeviceDisconnected, DeviceUnavailable
from drivers.id_reader import Identification, IdReaderDriver
from firmware_sim.id_reader import IdReaderSimulator

ID_CARD = "11010519450101234X"
AUTHORITY = "SUNRISE_CARE"


async def _next(identifications: AsyncIterator[Identification]) -> Identification:
    return await asyncio.wait_for(anext(identifications), 5)


FRAMED = IdCodeFormat(prefix="]Q", suffix="#")


def _driver(
    port: Path, rejected: list[str], pseudonymiser: Pseudonymiser, code_format: IdCodeFormat = FRAMED
) -> IdReaderDriver:
    config = DeviceConfig(id="reader-1", kind="id_reader", port=str(port), id_code=code_format)
    return IdReaderDriver(
        config, pseudonymiser=pseudonymiser, authority=AUTHORITY, on_rejected=rejected.append
    )


async def test_codes_become_pseudonyms_and_bad_lines_are_counted(tmp_path: Path) -> None:
    pseudonymiser = Pseudonymiser(secrets.token_bytes(32))
    rejected: list[str] = []
    with IdReaderSimulator(link=tmp_path / "reader.tty", prefix="]Q", suffix="#") as reader:
        driver = _driver(reader.device_path, rejected, pseudonymiser)
        await driver.open()
        try:
            identifications = driver.identifications()
            reader.send_raw(b"garbage\r\n")
            reader.scan(ID_CARD.lower())
            first = await _next(identifications)
            reader.scan("CH000042")
            second = await _next(identifications)
        finally:
            await driver.close()

    assert first.device_id == "reader-1"
    assert first.subject == pseudonymiser.subject(ID_CARD, AUTHORITY)
    assert second.subject == pseudonymiser.subject("CH000042", AUTHORITY)
    assert first.scanned_at.utcoffset() is not None
    assert rejected == ["missing_prefix"]
    assert ID_CARD not in repr(first)


async def test_unplug_ends_the_stream_and_the_vanished_port_cannot_reopen(tmp_path: Path) -> None:
    rejected: list[str] = []
    with IdReaderSimulator(link=tmp_path / "reader.tty") as reader:
        driver = _driver(reader.device_path, rejected, Pseudonymiser(secrets.token_bytes(32)), IdCodeFormat())
        await driver.open()
        identifications = driver.identifications()
        reader.scan("CH000001")
        await _next(identifications)
        pending = asyncio.ensure_future(_next(identifications))
        reader.unplug()
        with pytest.raises(DeviceDisconnected):
            await asyncio.wait_for(pending, 5)
        await driver.close()
        with pytest.raises(DeviceUnavailable):
            await driver.open()
        reader.replug()
        await driver.open()
        try:
            reader.scan("CH000002")
            assert (await _next(driver.identifications())).device_id == "reader-1"
        finally:
            await driver.close()
    assert rejected == []


async def test_line_cut_off_by_an_unplug_is_counted(tmp_path: Path) -> None:
    """One write carries a whole line and the start of the next: once the first identification is
    out, the driver holds the unfinished rest, which the unplug cuts off."""
    rejected: list[str] = []
    with IdReaderSimulator(link=tmp_path / "reader.tty") as reader:
        driver = _driver(reader.device_path, rejected, Pseudonymiser(secrets.token_bytes(32)), IdCodeFormat())
        await driver.open()
        try:
            identifications = driver.identifications()
            reader.send_raw(b"CH000001\r\nCH0000")
            await _next(identifications)
            pending = asyncio.ensure_future(_next(identifications))
            reader.unplug()
            with pytest.raises(DeviceDisconnected):
                await asyncio.wait_for(pending, 5)
        finally:
            await driver.close()
    assert rejected == ["line_partial"]
