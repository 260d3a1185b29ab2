#!/usr/bin/env python3
"""Interop check: the official MCP Python SDK client (mcp.client.sse.sse_client, the
2024-11-05 HTTP+SSE transport) against an mcp-sse server.

Usage: python sse_client.py [URL]      (URL defaults to $MCP_URL, e.g. http://127.0.0.1:8080/sse)
Env:   MCP_TIMEOUT_S  global deadline for the whole run in seconds (default 20)

Prints `ok - <check>` / `not ok - <check>: <why>` per check and ends with
`py-sse: N passed, M failed`. Exits 0 only when every check passed.
"""

from __future__ import annotations

import os
import sys
import threading

import anyio
from mcp.client.session import ClientSession
from mcp.client.sse import sse_client

URL = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("MCP_URL", "")
GLOBAL_TIMEOUT_S = float(os.environ.get("MCP_TIMEOUT_S", "20"))
CHECK_TIMEOUT_S = min(10.0, GLOBAL_TIMEOUT_S / 2)

_lock = threading.Lock()
_counts = {"passed": 0, "failed": 0}
_finished = False


def ok(what: str) -> None:
    with _lock:
        _counts["passed"] += 1
    print(f"ok - {what}", flush=True)


def not_ok(what: str, why: object) -> None:
    with _lock:
        _counts["failed"] += 1
    text = " ".join(_describe(why).split())
    print(f"not ok - {what}: {text}", flush=True)


def _describe(e: object) -> str:
    """Flatten (nested) exception groups into one readable message."""
    if isinstance(e, BaseExceptionGroup):
        return "; ".join(_describe(x) for x in e.exceptions)
    if isinstance(e, BaseException):
        msg = str(e)
        return f"{type(e).__name__}: {msg}" if msg else type(e).__name__
    return str(e)


def finish() -> None:
    global _finished
    with _lock:
        if _finished:
            return
        _finished = True
        p, f = _counts["passed"], _counts["failed"]
    print(f"py-sse: {p} passed, {f} failed", flush=True)
    sys.stdout.flush()
    os._exit(0 if f == 0 and p > 0 else 1)


def _field(obj: object, *names: str) -> object:
    """Read a field under its 2.x (snake_case) or 1.x (camelCase) name."""
    for n in names:
        if hasattr(obj, n):
            return getattr(obj, n)
    return None


def assert_echo(result: object, text: str) -> None:
    if _field(result, "is_error", "isError"):
        raise AssertionError(f"isError is true: {result!r}")
    content = _field(result, "content")
    if not isinstance(content, list):
        raise AssertionError(f"no content list: {result!r}")
    if len(content) != 1:
        raise AssertionError(f"content length: expected 1, got {len(content)}: {content!r}")
    item = content[0]
    if getattr(item, "type", None) != "text":
        raise AssertionError(f"content[0].type: expected 'text', got {getattr(item, 'type', None)!r}")
    if getattr(item, "text", None) != text:
        raise AssertionError(f"content[0].text: expected {text!r}, got {getattr(item, 'text', None)!r}")


async def run() -> None:
    connected = False
    init_reported = False
    names = [
        "ping",
        "tools/list contains echo",
        "tools/call echo ascii",
        "tools/call echo unicode+newlines",
        "concurrent tools/call x5",
    ]
    done: set[str] = set()

    async def check(session: ClientSession, name: str) -> None:
        done.add(name)
        try:
            with anyio.fail_after(CHECK_TIMEOUT_S):
                if name == "ping":
                    await session.send_ping()
                elif name == "tools/list contains echo":
                    r = await session.list_tools()
                    tool_names = [t.name for t in r.tools]
                    if "echo" not in tool_names:
                        raise AssertionError(f"tools were {tool_names!r}")
                elif name == "tools/call echo ascii":
                    text = "hello from py"
                    assert_echo(await session.call_tool("echo", {"text": text}), text)
                elif name == "tools/call echo unicode+newlines":
                    text = "line1\nline2 ✓"
                    assert_echo(await session.call_tool("echo", {"text": text}), text)
                elif name == "concurrent tools/call x5":
                    texts = [f"concurrent #{i} ünï" for i in range(5)]
                    results: dict[int, object] = {}

                    async def one(i: int) -> None:
                        results[i] = await session.call_tool("echo", {"text": texts[i]})

                    async with anyio.create_task_group() as tg:
                        for i in range(5):
                            tg.start_soon(one, i)
                    for i, t in enumerate(texts):
                        assert_echo(results[i], t)
            ok(name)
        except Exception as e:  # noqa: BLE001 - report every failure as a check result
            not_ok(name, e)

    try:
        with anyio.fail_after(GLOBAL_TIMEOUT_S):
            async with sse_client(URL, timeout=CHECK_TIMEOUT_S) as (read, write):
                async with ClientSession(read, write) as session:
                    try:
                        with anyio.fail_after(CHECK_TIMEOUT_S):
                            init = await session.initialize()
                        info = _field(init, "server_info", "serverInfo")
                        caps = _field(init, "capabilities")
                        if info is None or not isinstance(getattr(info, "name", None), str):
                            raise AssertionError(f"no serverInfo: {init!r}")
                        if caps is None or getattr(caps, "tools", None) is None:
                            raise AssertionError(f"server capabilities lack tools: {caps!r}")
                        pv = _field(init, "protocol_version", "protocolVersion")
                        ok(f"initialize (server {info.name} {getattr(info, 'version', '')}, protocol {pv})")
                        connected = True
                    except Exception as e:  # noqa: BLE001
                        not_ok("initialize", e)
                    init_reported = True
                    if connected:
                        for name in names:
                            await check(session, name)
        if connected:
            ok("close")
    except BaseException as e:  # noqa: BLE001 - includes ExceptionGroup and TimeoutError
        if isinstance(e, (KeyboardInterrupt, SystemExit)):
            raise
        if isinstance(e, TimeoutError):
            e = f"TimeoutError: run exceeded {GLOBAL_TIMEOUT_S:g} s (no endpoint event / reply?)"
        if not init_reported:
            not_ok("initialize", e)
        else:
            not_ok("close", e)
    for name in names:
        if name not in done:
            not_ok(name, "not connected")


def main() -> None:
    if not URL:
        not_ok("arguments", "no URL given (pass it as $1 or set MCP_URL)")
        finish()
    # Hard watchdog: even if cancellation gets stuck, never hang past the deadline.
    def _watchdog() -> None:
        not_ok("global timeout", f"run did not finish within {GLOBAL_TIMEOUT_S + 5:g} s (watchdog)")
        finish()

    t = threading.Timer(GLOBAL_TIMEOUT_S + 5, _watchdog)
    t.daemon = True
    t.start()
    try:
        anyio.run(run)
    except BaseException as e:  # noqa: BLE001
        not_ok("unexpected error", e)
    t.cancel()
    finish()


if __name__ == "__main__":
    main()
