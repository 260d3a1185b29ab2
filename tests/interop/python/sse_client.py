#!/usr/bin/env python3
"""Interop check: the official MCP Python SDK client (mcp.client.sse.sse_client, the
2024-11-05 HTTP+SSE transport) against an mcp-sse server.

Usage: python sse_client.py [URL]      (URL defaults to $MCP_URL, e.g. http://127.0.0.1:8080/sse)
Env:   MCP_TIMEOUT_S  global deadline for the whole run in seconds (default 20)
       MCP_ELICIT_TOOL a tool that asks the client by elicitation (see harness.py); unset: skipped

Prints `ok - <check>` / `not ok - <check>: <why>` per check and ends with
`py-sse: N passed, M failed`. Exits 0 only when every check passed.
"""

from __future__ import annotations

import anyio
from mcp import types
from mcp.client.session import ClientSession
from mcp.client.sse import sse_client

import harness
from harness import ELICITED, GLOBAL_TIMEOUT_S, TOOLS, URL, assert_init_result, elicit_answer, field, not_ok, ok

harness.configure("py-sse", why_limit=None)
CHECK_TIMEOUT_S = min(10.0, GLOBAL_TIMEOUT_S / 2)


def assert_echo(result: object, text: str) -> None:
    if field(result, "is_error", "isError"):
        raise AssertionError(f"isError is true: {result!r}")
    content = field(result, "content")
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
    elicit = f"tools/call {TOOLS['elicit']} (elicitation/create on the session's stream, answered by POST)"
    if TOOLS["elicit"]:
        names.append(elicit)
    else:
        harness.skip("elicitation", "no MCP_ELICIT_TOOL")
    done: set[str] = set()
    elicited: list[object] = []

    async def on_elicit(context: object, params: types.ElicitRequestParams) -> types.ElicitResult:
        elicited.append(params)
        return types.ElicitResult(action="accept", content=elicit_answer(params.requested_schema))

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
                elif name == elicit:
                    result = await session.call_tool(TOOLS["elicit"], {"message": "What is your name?"})
                    if len(elicited) != 1:
                        raise AssertionError(f"elicitation requests handled: {len(elicited)}")
                    text = "\n".join(getattr(c, "text", "") for c in field(result, "content") or [])
                    if field(result, "is_error", "isError") or ELICITED not in text:
                        raise AssertionError(f"result: {result!r}")
            ok(name)
        except Exception as e:  # noqa: BLE001 - report every failure as a check result
            not_ok(name, e)

    try:
        with anyio.fail_after(GLOBAL_TIMEOUT_S):
            async with sse_client(URL, timeout=CHECK_TIMEOUT_S) as (read, write):
                callback = on_elicit if TOOLS["elicit"] else None
                async with ClientSession(read, write, elicitation_callback=callback) as session:
                    try:
                        with anyio.fail_after(CHECK_TIMEOUT_S):
                            init = await session.initialize()
                        info = assert_init_result(init)
                        pv = field(init, "protocol_version", "protocolVersion")
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
        why = harness.run_error(e, " (no endpoint event / reply?)")
        not_ok("initialize" if not init_reported else "close", why)
    for name in names:
        if name not in done:
            not_ok(name, "not connected")


if __name__ == "__main__":
    harness.main(run, sdk_log=False)
