#!/usr/bin/env python3
"""Interop check: the official MCP Python SDK client (mcp.client.streamable_http.streamable_http_client,
Streamable HTTP with sessions, 2025-03-26 … 2025-11-25) against an mcp-sse server's MCP endpoint.

Usage: python streamable_client.py [URL]   (URL defaults to $MCP_URL, e.g. http://127.0.0.1:8080/mcp)
Env:   MCP_TIMEOUT_S  global deadline for the whole run in seconds (default 20)
       MCP_WIRE=1     print the HTTP flow of every check (by default only for the resumption checks
                      and for failed checks)

Needs `echo` {text} and the tools harness.py names by role (the conformance fixture's by default:
`test_tool_with_progress`, `test_reconnection`; MCP_ELICIT_TOOL adds an elicitation check).
Prints `ok - <check>` / `not ok - <check>: <why>` per check, `# …` diagnostic lines (the HTTP flow as
seen by the SDK's httpx2 client, through a wrapping transport), and ends with
`py-streamable: N passed, M failed`. Exits 0 only when every check passed.

What mcp 2.3.0 does on the wire (mcp/client/streamable_http.py):
  - Every request (POST, GET and DELETE alike) carries `accept: application/json, text/event-stream`,
    `content-type: application/json`, `mcp-session-id` once known, and `mcp-protocol-version` after
    initialize.
  - After notifications/initialized it opens the standalone GET stream; on an error status (405
    included) it retries once after 1 s, then gives up quietly.
  - A POST's SSE stream that ends or fails before the response, after an event with an `id`, is resumed
    with GET + `last-event-id: <last id seen>` after the server's `retry:` (else 1 s). A failed
    resumption GET (any error status, 404/405 included) is retried; after 2 failures the request is
    failed with a CONNECTION_CLOSED error.
  - The session ends with DELETE when the streamable_http_client context exits (terminate_on_close).
"""

from __future__ import annotations

import json
import re
from typing import Any

import anyio
import httpx2
from mcp import types
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client

import harness
from harness import (
    ELICITED,
    GLOBAL_TIMEOUT_S,
    TOOLS,
    URL,
    WIRE,
    assert_eq,
    assert_init_result,
    assert_text_result,
    elicit_answer,
    field,
    make_message_handler,
    ms,
    not_ok,
)

harness.configure("py-streamable")
# Per check; the resumption checks wait the server's `retry:` (the SDK honours it) plus the replay.
CHECK_TIMEOUT_S = min(8.0, GLOBAL_TIMEOUT_S * 0.3)


# ---------------------------------------------------------------------------------------------
# Wire log: the SDK's httpx2 client gets a transport that records each request's headers, the
# status, and every SSE event handed to the SDK; it can also cut one POST's SSE body after the
# first progress event (a simulated network failure: the connection is dropped and the body read
# fails with httpx2.ReadError).
# ---------------------------------------------------------------------------------------------


def rpc_summary(body: bytes) -> str:
    try:
        m = json.loads(body)
    except ValueError:
        return ""
    return harness.rpc_summary(m)


def event_record(ev: dict[str, str]) -> dict[str, Any]:
    rec: dict[str, Any] = {"t": ms(), "id": ev.get("id"), "retry": ev.get("retry"), "kind": "empty"}
    data = ev.get("data")
    if data:
        try:
            m = json.loads(data)
            if m.get("method") == "notifications/progress":
                rec.update(kind="progress", progress=(m.get("params") or {}).get("progress"),
                           total=(m.get("params") or {}).get("total"))
            elif "method" in m:
                rec.update(kind=m["method"])
            else:
                rec.update(kind="error" if "error" in m else "result", rid=m.get("id"))
        except ValueError:
            rec.update(kind="unparsable")
    elif data is None:
        rec["kind"] = "no-data"
    return rec


def event_text(rec: dict[str, Any]) -> str:
    parts = []
    if rec.get("id"):
        parts.append(f"id={rec['id']}")
    if rec.get("retry") is not None:
        parts.append(f"retry={rec['retry']}")
    k = rec["kind"]
    if k == "progress":
        parts.append(f"progress {rec.get('progress')}/{rec.get('total')}")
    elif k in ("result", "error"):
        parts.append(f"{k}#{rec.get('rid')}")
    elif k == "empty":
        parts.append('data=""')
    else:
        parts.append(k)
    return " ".join(parts)


class SseTap(harness.SseParser):
    """The SSE events handed to the SDK, as event records (for the log only)."""

    def __init__(self, entry: dict[str, Any]) -> None:
        super().__init__()
        self.entry = entry

    def on_event(self, ev: dict[str, str]) -> None:
        self.entry["events"].append(event_record(ev))


class Cut:
    def __init__(self, match_tool: str) -> None:
        self.armed = False
        self.match_tool = match_tool
        self.first_progress_seen = anyio.Event()
        self.progress_event_id: str | None = None


class TapStream(httpx2.AsyncByteStream):
    def __init__(self, inner: httpx2.AsyncByteStream, entry: dict[str, Any], cut: Cut | None) -> None:
        self.inner = inner
        self.entry = entry
        self.cut = cut
        self.tap = SseTap(entry)

    async def __aiter__(self):  # type: ignore[override]
        pending = b""
        cut_now = False
        try:
            async for chunk in self.inner:
                if self.cut is None:
                    self.tap.feed(chunk)
                    yield chunk
                    continue
                data = pending + chunk
                text = data.decode("latin-1")  # 1:1 bytes to chars: indexes are byte offsets
                at = text.find("notifications/progress")
                if at < 0:
                    last = max(text.rfind("\n\n"), text.rfind("\r\r"))
                    upto = last + 2 if last >= 0 else 0
                    if upto:
                        self.tap.feed(data[:upto])
                        yield data[:upto]
                    pending = data[upto:]
                    continue
                m = re.search(r"\r\n\r\n|\n\n|\r\r", text[at:])
                if m is None:
                    pending = data
                    continue
                end = at + m.end()
                start = text.rfind("\n\n", 0, at)
                idm = re.search(r"(?:^|\n)id: ?([^\r\n]*)", text[start + 1 if start >= 0 else 0:end])
                self.cut.progress_event_id = idm.group(1) if idm else None
                self.tap.feed(data[:end])
                yield data[:end]
                cut_now = True
                break
            else:
                self.entry["end"] = f"+{ms()}ms closed by server"
        except httpx2.HTTPError as e:
            self.entry["end"] = f"+{ms()}ms read failed: {type(e).__name__}: {e}"
            raise
        if cut_now:
            assert self.cut is not None
            await self.inner.aclose()  # drop the real connection
            with anyio.move_on_after(2):
                await self.cut.first_progress_seen.wait()
            self.entry["end"] = f"+{ms()}ms cut by the client after the first progress event"
            raise httpx2.ReadError("interop: simulated network cut")

    async def aclose(self) -> None:
        await self.inner.aclose()


class WireTransport(harness.WireTransportBase):
    def __init__(self, tag: str, cut: Cut | None = None) -> None:
        super().__init__()
        self.tag = tag
        self.cut = cut

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        h = request.headers
        body = request.content if request.method == "POST" else b""
        entry: dict[str, Any] = {
            "n": len(WIRE) + 1,
            "t": ms(),
            "tag": self.tag,
            "method": request.method,
            "rpc": rpc_summary(body) if body else "",
            "accept": h.get("accept"),
            "session": h.get("mcp-session-id"),
            "pv": h.get("mcp-protocol-version"),
            "last_event_id": h.get("last-event-id"),
            "status": None,
            "ctype": None,
            "events": [],
            "end": None,
        }
        WIRE.append(entry)
        try:
            resp = await self.inner.handle_async_request(request)
        except Exception as e:
            entry["end"] = f"request failed: {type(e).__name__}: {e}"
            raise
        entry["status"] = resp.status_code
        entry["ctype"] = resp.headers.get("content-type")
        entry["resp_session"] = resp.headers.get("mcp-session-id")
        if not (entry["ctype"] or "").startswith("text/event-stream"):
            return resp
        cut = None
        if (
            self.cut is not None
            and self.cut.armed
            and request.method == "POST"
            and re.fullmatch(r"tools/call#\S+ " + re.escape(self.cut.match_tool), entry["rpc"])
        ):
            self.cut.armed = False
            entry["cut"] = True
            cut = self.cut
        assert isinstance(resp.stream, httpx2.AsyncByteStream)
        return self.tapped(resp, request, TapStream(resp.stream, entry, cut))


def fmt_entry(e: dict[str, Any]) -> list[str]:
    h = []
    if e["accept"]:
        h.append(f'accept="{e["accept"]}"')
    if e["session"]:
        h.append(f"session={e['session'][:8]}…")
    if e["pv"]:
        h.append(f"mcp-protocol-version={e['pv']}")
    if e["last_event_id"]:
        h.append(f"last-event-id={e['last_event_id']}")
    status = "no response" if e["status"] is None else f"{e['status']} {e['ctype'] or ''}".strip()
    rpc = f" {e['rpc']}" if e["rpc"] else ""
    lines = [f"{e['tag']} +{e['t']}ms {e['method']}{rpc} [{' '.join(h)}] -> {status}"]
    for ev in e["events"]:
        lines.append(f"    +{ev['t']}ms event: {event_text(ev)}")
    if e["end"]:
        lines.append(f"    {e['end']}")
    return lines


def events_since(from_n: int, tag: str) -> list[dict[str, Any]]:
    return [ev for e in WIRE if e["n"] >= from_n and e["tag"] == tag for ev in e["events"]]


# ---------------------------------------------------------------------------------------------


def make_http_client(transport: WireTransport) -> httpx2.AsyncClient:
    # The SDK's defaults: 30 s connect/write/pool, 300 s read (long-lived SSE streams).
    return httpx2.AsyncClient(transport=transport, timeout=httpx2.Timeout(30.0, read=300.0))


C_INIT = "initialize"
C_LIST = "tools/list contains echo"
C_ECHO = "tools/call echo"
C_PROGRESS = f"tools/call {TOOLS['progress']} (3 progress notifications, then result)"
C_CUT = f"resumption after a network cut ({TOOLS['progress']} via GET + Last-Event-ID)"
C_RECONNECT = f"{TOOLS['reconnect']} (server closes the stream, client resumes)"
C_ELICIT = f"tools/call {TOOLS['elicit']} (elicitation/create on the call's stream, answered by POST)"
C_TERMINATE = "terminate session (DELETE on close), then old session id gets 404"
ALL = [C_INIT, C_LIST, C_ECHO, C_PROGRESS, C_CUT]
ALL += [C_RECONNECT] if TOOLS["reconnect"] else []
ALL += [C_ELICIT] if TOOLS["elicit"] else []
ALL += [C_TERMINATE]

# Elicitation requests the client answered.
ELICITED_PARAMS: list[object] = []


async def on_elicit(context: object, params: types.ElicitRequestParams) -> types.ElicitResult:
    ELICITED_PARAMS.append(params)
    return types.ElicitResult(action="accept", content=elicit_answer(params.requested_schema))


def check_progress(progress: list[tuple[float, float | None]]) -> None:
    assert_eq([p for p, _ in progress], [0, 50, 100], "progress values in order")
    for _, total in progress:
        assert_eq(total, 100, "progress total")


async def progress_call(session: ClientSession, events: list[Any], cut: Cut | None = None) -> object:
    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        events.append(("progress", progress, total))
        if cut is not None:
            cut.first_progress_seen.set()

    return await session.call_tool(TOOLS["progress"], {}, progress_callback=on_progress)


async def check_cut(checks: harness.Checks) -> None:
    """(5) Its own session (client B) whose transport cuts the tools/call POST after progress 0."""

    async def body() -> str:
        cut = Cut(TOOLS["progress"])
        from_n = len(WIRE) + 1
        async with make_http_client(WireTransport("B", cut)) as http_b:
            async with streamable_http_client(URL, http_client=http_b) as (read, write):
                async with ClientSession(
                    read, write, read_timeout_seconds=CHECK_TIMEOUT_S, message_handler=make_message_handler("B")
                ) as session:
                    await session.initialize()
                    events: list[Any] = []
                    cut.armed = True
                    result = await progress_call(session, events, cut)
                    events.append(("result",))
                    await anyio.sleep(0.3)  # a duplicated replay would show up here
        mine = [e for e in WIRE if e["n"] >= from_n]
        post = next((e for e in mine if e.get("cut")), None)
        if post is None:
            raise AssertionError("the tools/call POST was not cut (no SSE response with a progress event?)")
        if not (post["end"] or "").endswith("cut by the client after the first progress event"):
            raise AssertionError(f"POST stream: {post['end'] or 'still open'}")
        resumes = [e for e in mine if e["method"] == "GET" and e["last_event_id"]]
        if not resumes:
            raise AssertionError("no GET with Last-Event-ID was sent after the cut")
        if not any(e["status"] == 200 for e in resumes):
            raise AssertionError(f"resumption GET answered {[e['status'] for e in resumes]}")
        if cut.progress_event_id is not None:
            assert_eq(resumes[0]["last_event_id"], cut.progress_event_id,
                      "Last-Event-ID (id of the first progress event)")
        assert_text_result(result)
        check_progress([(p, t) for (_, p, t) in (e for e in events if e[0] == "progress")])
        assert_eq([e[0] for e in events], ["progress", "progress", "progress", "result"], "event order")
        # What reached the SDK on the wire, across the cut POST and the resumption GET(s).
        call_id = re.match(r"tools/call#(\S+)", post["rpc"]).group(1)  # type: ignore[union-attr]
        delivered = [ev for e in mine if e is post or (e["method"] == "GET" and e["last_event_id"])
                     for ev in e["events"]]
        assert_eq([ev.get("progress") for ev in delivered if ev["kind"] == "progress"], [0, 50, 100],
                  "progress events delivered (each exactly once)")
        assert_eq(len([ev for ev in delivered if ev["kind"] in ("result", "error") and str(ev.get("rid")) == call_id]),
                  1, "responses delivered for the call (exactly once)")
        return f"GET last-event-id={resumes[0]['last_event_id']} -> {resumes[0]['status']}"

    await checks.run(C_CUT, body, always_show_wire=True)


async def run() -> None:
    checks = harness.Checks(CHECK_TIMEOUT_S, fmt_entry)
    connected = False
    session_id: str | None = None
    protocol_version: str | None = None
    try:
        with anyio.fail_after(GLOBAL_TIMEOUT_S):
            async with make_http_client(WireTransport("A")) as http_a:
                async with streamable_http_client(URL, http_client=http_a) as (read, write):
                    async with ClientSession(
                        read, write, read_timeout_seconds=CHECK_TIMEOUT_S, message_handler=make_message_handler("A"),
                        elicitation_callback=on_elicit if TOOLS["elicit"] else None,
                    ) as session:

                        async def c_init() -> str:
                            nonlocal connected, session_id, protocol_version
                            init = await session.initialize()
                            info = assert_init_result(init)
                            protocol_version = str(field(init, "protocol_version", "protocolVersion"))
                            post = next(e for e in WIRE if e["tag"] == "A" and e["rpc"].startswith("initialize"))
                            session_id = post.get("resp_session")
                            if not session_id:
                                raise AssertionError("initialize response carried no mcp-session-id")
                            if not re.fullmatch(r"[\x21-\x7e]+", session_id):
                                raise AssertionError(f"session id has chars outside 0x21-0x7E: {session_id!r}")
                            connected = True
                            return (f"server {info.name} {getattr(info, 'version', '')}, protocol {protocol_version}, "
                                    f"session {session_id[:8]}…")

                        await checks.run(C_INIT, c_init)

                        async def c_list() -> None:
                            r = await session.list_tools()
                            names = [t.name for t in r.tools]
                            if "echo" not in names:
                                raise AssertionError(f"tools were {names!r}")
                            last = [e for e in WIRE if e["tag"] == "A" and e["method"] == "POST"][-1]
                            assert_eq(last["session"], session_id, "mcp-session-id sent")
                            assert_eq(last["pv"], protocol_version, "mcp-protocol-version sent")

                        async def c_echo() -> None:
                            text = "hello from py streamable ✓\nline2"
                            assert_text_result(await session.call_tool("echo", {"text": text}), text)

                        async def c_progress() -> None:
                            from_n = len(WIRE) + 1
                            events: list[Any] = []
                            result = await progress_call(session, events)
                            events.append(("result",))
                            assert_text_result(result)
                            await anyio.sleep(0.15)  # anything arriving late would be out of order
                            check_progress([(p, t) for (_, p, t) in (e for e in events if e[0] == "progress")])
                            assert_eq([e[0] for e in events], ["progress", "progress", "progress", "result"],
                                      "event order")
                            wire_progress = [ev for ev in events_since(from_n, "A") if ev["kind"] == "progress"]
                            assert_eq(len(wire_progress), 3, "progress events on the wire")

                        async def c_reconnect() -> str:
                            from_n = len(WIRE) + 1
                            result = await session.call_tool(TOOLS["reconnect"], {})
                            assert_text_result(result)
                            await anyio.sleep(0.15)
                            mine = [e for e in WIRE if e["n"] >= from_n and e["tag"] == "A"]
                            post = next((e for e in mine if e["method"] == "POST" and TOOLS["reconnect"] in e["rpc"]),
                                        None)
                            if post is None or not (post["ctype"] or "").startswith("text/event-stream"):
                                raise AssertionError(f"POST answered {post and post['status']} {post and post['ctype']}")
                            resumes = [e for e in mine if e["method"] == "GET" and e["last_event_id"]]
                            if not resumes:
                                raise AssertionError("result arrived but no GET with Last-Event-ID was sent "
                                                     "(server did not close the stream?)")
                            call_id = re.match(r"tools/call#(\S+)", post["rpc"]).group(1)  # type: ignore[union-attr]
                            delivered = [ev for e in [post, *resumes] for ev in e["events"]
                                         if ev["kind"] in ("result", "error") and str(ev.get("rid")) == call_id]
                            assert_eq(len(delivered), 1, "responses delivered for the call (exactly once)")
                            return f"GET last-event-id={resumes[0]['last_event_id']} -> {resumes[0]['status']}"

                        async def c_elicit() -> None:
                            from_n = len(WIRE) + 1
                            result = await session.call_tool(TOOLS["elicit"], {"message": "What is your name?"})
                            assert_eq(len(ELICITED_PARAMS), 1, "elicitation requests the client answered")
                            text = "\n".join(getattr(c, "text", "") for c in field(result, "content") or [])
                            if field(result, "is_error", "isError") or ELICITED not in text:
                                raise AssertionError(f"result: {result!r}")
                            # The answer's POST may get its 202 just after the result arrived on the stream.
                            answer = next((e for e in WIRE if e["n"] >= from_n and e["method"] == "POST"
                                           and e["rpc"].startswith("response")), None)
                            if answer is None:
                                raise AssertionError("the answer was not POSTed")
                            for _ in range(100):
                                if answer["status"] is not None:
                                    break
                                await anyio.sleep(0.01)
                            assert_eq(answer["status"], 202, "the answer's POST status")

                        for name, fn in [(C_LIST, c_list), (C_ECHO, c_echo), (C_PROGRESS, c_progress)]:
                            if connected:
                                await checks.run(name, fn)
                        await check_cut(checks)
                        if not TOOLS["reconnect"]:
                            harness.skip("server-initiated close", "no MCP_RECONNECT_TOOL")
                        elif connected:
                            await checks.run(C_RECONNECT, c_reconnect, always_show_wire=True)
                        if not TOOLS["elicit"]:
                            harness.skip("elicitation", "no MCP_ELICIT_TOOL")
                        elif connected:
                            await checks.run(C_ELICIT, c_elicit)
                    delete_from = len(WIRE) + 1
                # Leaving streamable_http_client sent DELETE (terminate_on_close=True).

            async def c_terminate() -> str:
                dels = [e for e in WIRE if e["n"] >= delete_from and e["tag"] == "A" and e["method"] == "DELETE"]
                if not dels:
                    raise AssertionError("no DELETE was sent when the client closed")
                d = dels[-1]
                if d["status"] is None or not 200 <= d["status"] < 300:
                    raise AssertionError(f"DELETE answered {d['status']} (405 = server does not allow termination)")
                assert_eq(d["session"], session_id, "DELETE mcp-session-id")
                async with make_http_client(WireTransport("raw")) as raw:
                    r = await raw.post(
                        URL,
                        headers={
                            "content-type": "application/json",
                            "accept": "application/json, text/event-stream",
                            "mcp-session-id": session_id or "",
                            "mcp-protocol-version": protocol_version or "",
                        },
                        content=json.dumps({"jsonrpc": "2.0", "id": 9001, "method": "tools/list", "params": {}}),
                    )
                    text = (await r.aread()).decode("utf-8", "replace")
                assert_eq(r.status_code, 404, f"POST with the terminated session id (body {text[:120]!r})")
                return f"DELETE -> {d['status']}, then POST -> 404"

            if connected:
                await checks.run(C_TERMINATE, c_terminate, wire_from=delete_from)
    except BaseException as e:  # noqa: BLE001 - includes ExceptionGroup and TimeoutError
        not_ok("session", harness.run_error(e))
        harness.print_wire(fmt_entry, 1, "flow so far")
    for name in ALL:
        checks.not_run(name, "not connected" if not connected else "not run")


if __name__ == "__main__":
    harness.main(run)
