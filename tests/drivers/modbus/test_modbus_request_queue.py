"""One queue per bus: commands go ahead of queued polls; results and errors reach the caller."""

from __future__ import annotations

import asyncio

import pytest

from drivers.modbus.request_queue import Priority, RequestQueue


async def test_a_command_queued_behind_polls_runs_before_them() -> None:
    queue = RequestQueue("bus")
    queue.start()
    order: list[str] = []
    release = asyncio.Event()

    async def first_poll() -> None:
        order.append("poll-0")
        await release.wait()

    def job(name: str):  # type: ignore[no-untyped-def]
        async def run() -> str:
            order.append(name)
            return name

        return run

    try:
        in_flight = asyncio.create_task(queue.submit(Priority.POLL, first_poll))
        polls = [asyncio.create_task(queue.submit(Priority.POLL, job(f"poll-{i}"))) for i in (1, 2, 3)]
        while order != ["poll-0"] or queue.pending != 3:
            await asyncio.sleep(0)
        command = asyncio.create_task(queue.submit(Priority.COMMAND, job("command")))
        while queue.pending != 4:
            await asyncio.sleep(0)
        release.set()
        assert await command == "command"
        await asyncio.gather(in_flight, *polls)
        assert order == ["poll-0", "command", "poll-1", "poll-2", "poll-3"]
        assert queue.served[-5:] == [
            Priority.POLL,
            Priority.COMMAND,
            Priority.POLL,
            Priority.POLL,
            Priority.POLL,
        ]
    finally:
        await queue.stop()


async def test_a_failing_job_raises_to_its_caller_and_the_queue_goes_on() -> None:
    queue = RequestQueue("bus")
    queue.start()

    async def fails() -> None:
        raise LookupError("no such slot")

    async def works() -> int:
        return 7

    try:
        with pytest.raises(LookupError, match="no such slot"):
            await queue.submit(Priority.COMMAND, fails)
        assert await queue.submit(Priority.POLL, works) == 7
    finally:
        await queue.stop()


async def test_submitting_to_a_stopped_queue_is_an_error() -> None:
    queue = RequestQueue("bus")

    async def works() -> int:
        return 1

    with pytest.raises(RuntimeError, match="not running"):
        await queue.submit(Priority.POLL, works)
