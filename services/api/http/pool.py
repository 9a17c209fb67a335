"""The one way the API hands blocking work (a step, a key's row) to a thread: the event
loop's own executor."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


async def in_pool(call: Callable[..., T], *args: Any) -> T:
    """`call` in the event loop's thread pool, as `run_in_threadpool` would run it (in a
    copy of the caller's context) for a quarter of its CPU: anyio's hop, with its capacity
    limiter and cancel scope, cost 68 µs a call, the loop's executor 16 µs."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, contextvars.copy_context().run, call, *args)
