#!/usr/bin/env python3
"""Interop check: the official MCP Python SDK client (mcp 2.3.0, `mcp.Client`) speaking the 2026-07-28
sessionless revision of Streamable HTTP against an mcp-sse server's MCP endpoint.

Usage: python modern_client.py [URL]   (URL defaults to $MCP_URL, e.g. http://127.0.0.1:8080/mcp)
Env:   MCP_TIMEOUT_S  global deadline for the whole run in seconds (default 20)
       MCP_WIRE=1     print the HTTP flow of every check (by default only for failed checks)

Needs the tools `echo` {text} and those harness.py names by role: a progress tool (progress 0/50/100 of
100, then a result; default `test_tool_with_progress`) and a change tool (publishes
notifications/tools/list_changed to open listen streams; default `test_trigger_tool_change`; an empty
MCP_CHANGE_TOOL skips the listen checks).
Prints `ok - <check>` / `not ok - <check>: <why>` per check, `# …` diagnostic lines (the HTTP flow as
seen by the SDK's httpx2 client, through a wrapping transport), and ends with
`py-modern: N passed, M failed`. Exits 0 only when every check passed.

How mcp 2.3.0 speaks 2026-07-28 (mcp/client/client.py, session.py, _probe.py, subscriptions.py,
streamable_http.py):
  - `Client(transport, mode="auto")` (the default) sends one `server/discover` probe stamped at
    2026-07-28 and adopts the result when `supportedVersions` has a modern version; any JSON-RPC error
    or unparsable result falls back to `initialize` (so this client checks that it did not).
    `mode="2026-07-28"` would skip the probe and adopt a synthesized DiscoverResult.
  - Every request body carries `params._meta` with `io.modelcontextprotocol/protocolVersion`,
    `.../clientInfo` and `.../clientCapabilities`; every POST carries `mcp-protocol-version: 2026-07-28`,
    `mcp-method: <method>` and, for tools/call / prompts/get / resources/read, `mcp-name`; `accept:
    application/json, text/event-stream` and `content-type: application/json`. No GET, no DELETE (no
    session id is ever received).
  - `client.listen(tools_list_changed=True)` POSTs `subscriptions/listen` (id `"listen-N"`, a string,
    `notifications: {"toolsListChanged": true}`) and enters once the acknowledgement whose
    `_meta["io.modelcontextprotocol/subscriptionId"]` equals that id arrives; change notifications with
    that id become typed events (`ToolsListChanged`). Leaving the context cancels the POST (the stream
    is closed, which is the 2026 cancellation); no `notifications/cancelled` is POSTed (the transport
    swallows it at 2026-07-28).
"""

from __future__ import annotations

import json
from typing import Any

import anyio
import httpx2
import mcp.client.session
import mcp_types as types
from mcp.client.client import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.client.subscriptions import ToolsListChanged

import harness
from harness import (
    GLOBAL_TIMEOUT_S,
    TOOLS,
    URL,
    WIRE,
    assert_eq,
    assert_text_result,
    describe,
    diag,
    make_message_handler,
    ms,
    not_ok,
)

harness.configure("py-modern", diag_limit=500)
V26 = "2026-07-28"
PV_KEY = "io.modelcontextprotocol/protocolVersion"
CAPS_KEY = "io.modelcontextprotocol/clientCapabilities"
SERVER_INFO_KEY = "io.modelcontextprotocol/serverInfo"
SUB_KEY = "io.modelcontextprotocol/subscriptionId"

REQUEST_TIMEOUT_S = min(5.0, GLOBAL_TIMEOUT_S * 0.25)  # per request
CHECK_TIMEOUT_S = 2 * REQUEST_TIMEOUT_S  # per check
# The connect-time server/discover probe uses this module constant (10 s) as its own timeout, read at
# call time; a per-check cancel scope cannot wrap `async with Client` (it owns the transport's task group).
mcp.client.session.DISCOVER_TIMEOUT_SECONDS = REQUEST_TIMEOUT_S


# ---------------------------------------------------------------------------------------------
# Wire log: the SDK's httpx2 client gets a transport that records each request's headers and body
# `_meta`, the status and response headers, and every SSE event (parsed) or JSON body the SDK read.
# ---------------------------------------------------------------------------------------------


def parse_json(data: bytes | str) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return None


def meta_summary(meta: Any) -> str:
    if not isinstance(meta, dict) or not meta:
        return ""
    parts = []
    for k, v in meta.items():
        short = k.replace("io.modelcontextprotocol/", "mcp/")
        text = json.dumps(v, ensure_ascii=False)
        parts.append(f"{short}={text if isinstance(v, (str, int, float)) else text[:60]}")
    return "_meta{" + ", ".join(parts) + "}"


def message_summary(m: Any) -> str:
    if not isinstance(m, dict):
        return "unparsable"
    params = m.get("params") or {}
    if m.get("method") == "notifications/progress":
        return f"progress {params.get('progress')}/{params.get('total')} {meta_summary(params.get('_meta'))}".strip()
    if "method" in m:
        return f"{m['method']} {meta_summary(params.get('_meta'))}".strip()
    if "error" in m:
        err = m["error"] or {}
        return f"error#{m.get('id')} {err.get('code')} {json.dumps(err.get('message', ''))[:80]}"
    result = m.get("result") or {}
    return f"result#{m.get('id')} resultType={json.dumps(result.get('resultType'))} {meta_summary(result.get('_meta'))}".strip()


class SseTap(harness.SseParser):
    """The SSE events handed to the SDK, parsed (for the log and the checks)."""

    def __init__(self, entry: dict[str, Any]) -> None:
        super().__init__()
        self.entry = entry

    def on_event(self, ev: dict[str, str]) -> None:
        data = ev.get("data")
        self.entry["events"].append(
            {
                "t": ms(),
                "id": ev.get("id"),
                "event": ev.get("event"),
                "retry": ev.get("retry"),
                "msg": parse_json(data) if data else None,
                "raw": data,
            }
        )

    def on_comment(self) -> None:
        self.entry["comments"] += 1


class TapStream(httpx2.AsyncByteStream):
    def __init__(self, inner: httpx2.AsyncByteStream, entry: dict[str, Any], sse: bool) -> None:
        self.inner = inner
        self.entry = entry
        self.sse = sse
        self.tap = SseTap(entry)
        self.body = b""

    def _end(self, text: str) -> None:
        if not self.entry["end"]:
            self.entry["end_t"] = ms()
            self.entry["end"] = f"+{self.entry['end_t']}ms {text}"

    async def __aiter__(self):  # type: ignore[override]
        try:
            async for chunk in self.inner:
                if self.sse:
                    self.tap.feed(chunk)
                else:
                    self.body += chunk
                yield chunk
        except httpx2.HTTPError as e:
            self._end(f"read failed: {type(e).__name__}: {e}")
            raise
        except BaseException:
            self._end("aborted by the client")
            raise
        if self.sse:
            self._end("closed by server")
        else:
            self.entry["json_body"] = parse_json(self.body)
            self.entry["end"] = (
                f"body: {message_summary(self.entry['json_body'])}"
                if self.entry["json_body"] is not None
                else f"body: {self.body[:120]!r}"
            )

    async def aclose(self) -> None:
        self._end("closed by the client")
        await self.inner.aclose()


class WireTransport(harness.WireTransportBase):
    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        h = request.headers
        body = parse_json(request.content) if request.method == "POST" else None
        entry: dict[str, Any] = {
            "n": len(WIRE) + 1,
            "t": ms(),
            "method": request.method,
            "body": body,
            "rpc": harness.rpc_summary(body) if request.method == "POST" else "",
            "accept": h.get("accept"),
            "pv": h.get("mcp-protocol-version"),
            "mcp_method": h.get("mcp-method"),
            "mcp_name": h.get("mcp-name"),
            "session": h.get("mcp-session-id"),
            "last_event_id": h.get("last-event-id"),
            "status": None,
            "ctype": None,
            "resp_session": None,
            "x_accel": None,
            "events": [],
            "comments": 0,
            "json_body": None,
            "end": None,
            "end_t": None,
        }
        WIRE.append(entry)
        try:
            resp = await self.inner.handle_async_request(request)
        except BaseException as e:
            if isinstance(e, anyio.get_cancelled_exc_class()):
                entry["end"] = f"+{ms()}ms no response yet; request abandoned by the client"
            else:
                entry["end"] = f"request failed: {describe(e)}"
            raise
        entry["status"] = resp.status_code
        entry["ctype"] = resp.headers.get("content-type")
        entry["resp_session"] = resp.headers.get("mcp-session-id")
        entry["x_accel"] = resp.headers.get("x-accel-buffering")
        assert isinstance(resp.stream, httpx2.AsyncByteStream)
        sse = (entry["ctype"] or "").startswith("text/event-stream")
        return self.tapped(resp, request, TapStream(resp.stream, entry, sse))


def fmt_entry(e: dict[str, Any]) -> list[str]:
    h = []
    if e["accept"]:
        h.append(f'accept="{e["accept"]}"')
    for key, name in (("pv", "mcp-protocol-version"), ("mcp_method", "mcp-method"), ("mcp_name", "mcp-name"),
                      ("session", "mcp-session-id"), ("last_event_id", "last-event-id")):
        if e[key]:
            h.append(f"{name}={e[key]}")
    meta = ""
    if isinstance(e["body"], dict) and isinstance(e["body"].get("params"), dict):
        meta = " " + meta_summary(e["body"]["params"].get("_meta"))
    resp = []
    if e["resp_session"]:
        resp.append(f"mcp-session-id={e['resp_session']}")
    if e["x_accel"]:
        resp.append(f"x-accel-buffering={e['x_accel']}")
    status = "no response" if e["status"] is None else f"{e['status']} {e['ctype'] or ''}".strip()
    rpc = f" {e['rpc']}" if e["rpc"] else ""
    lines = [f"+{e['t']}ms {e['method']}{rpc} [{' '.join(h)}]{meta.rstrip()} -> {status}"
             + (f" [{' '.join(resp)}]" if resp else "")]
    for ev in e["events"]:
        f = [f"{k}={ev[k]}" for k in ("id", "event", "retry") if ev[k] is not None]
        what = message_summary(ev["msg"]) if ev["msg"] is not None else json.dumps((ev["raw"] or "")[:60])
        lines.append(f"    +{ev['t']}ms event: {' '.join(f) + ' ' if f else ''}{what}")
    if e["comments"]:
        lines.append(f"    {e['comments']} comment line(s)")
    if e["end"]:
        lines.append(f"    {e['end']}")
    return lines


def find_post(from_n: int, method: str, name: str | None = None) -> dict[str, Any] | None:
    for e in WIRE:
        b = e["body"]
        if e["n"] >= from_n and e["method"] == "POST" and isinstance(b, dict) and b.get("method") == method:
            if name is None or (b.get("params") or {}).get("name") == name:
                return e
    return None


def assert_modern_request_post(e: dict[str, Any] | None, name: str | None = None) -> dict[str, Any]:
    """Header/envelope checks every 2026-07-28 request POST must pass (client side)."""
    if e is None:
        raise AssertionError("request POST not found in the wire log")
    meta = ((e["body"] or {}).get("params") or {}).get("_meta") or {}
    assert_eq(e["pv"], V26, f"{e['rpc']}: mcp-protocol-version header")
    assert_eq(e["mcp_method"], e["body"]["method"], f"{e['rpc']}: mcp-method header")
    if name is not None:
        assert_eq(e["mcp_name"], name, f"{e['rpc']}: mcp-name header")
    assert_eq(meta.get(PV_KEY), V26, f"{e['rpc']}: _meta protocolVersion")
    if CAPS_KEY not in meta:
        raise AssertionError(f"{e['rpc']}: _meta clientCapabilities missing")
    assert_eq(e["session"], None, f"{e['rpc']}: mcp-session-id header")
    return e


def assert_no_session_minted(e: dict[str, Any]) -> None:
    """Server side: a sessionless server never mints a session id (S3.35)."""
    assert_eq(e["resp_session"], None,
              f"{e['rpc']}: response mcp-session-id header (a 2026-07-28 server must not mint sessions)")


def response_on_wire(e: dict[str, Any]) -> dict[str, Any] | None:
    if isinstance(e["json_body"], dict):
        return e["json_body"]
    for ev in e["events"]:
        m = ev["msg"]
        if isinstance(m, dict) and "id" in m and "method" not in m:
            return m
    return None


C_CONNECT = f"connect mode=auto negotiates {V26} (server/discover probe, no initialize)"
C_DISCOVER = "server/discover: supportedVersions contains 2026-07-28"
LISTED = [name for name in ("echo", TOOLS["progress"], TOOLS["change"]) if name]
C_LIST = f"tools/list contains {', '.join(LISTED)}"
C_ECHO = "tools/call echo"
C_PROGRESS = f"tools/call {TOOLS['progress']} (3 progress notifications, then result)"
C_LISTEN = "subscriptions/listen {toolsListChanged} acknowledged first, with subscriptionId"
C_CHANGED = f"{TOOLS['change']}: notifications/tools/list_changed on the listen stream, with subscriptionId"
C_CLOSE = "close the listen stream and the client (no session ids minted, no GET/DELETE)"
ALL = [C_CONNECT, C_DISCOVER, C_LIST, C_ECHO, C_PROGRESS]
ALL += [C_LISTEN, C_CHANGED] if TOOLS["change"] else []
ALL += [C_CLOSE]


async def run() -> None:
    checks = harness.Checks(CHECK_TIMEOUT_S, fmt_entry, since_start=True)
    connected = False
    listen_state: dict[str, Any] = {}
    try:
        with anyio.fail_after(GLOBAL_TIMEOUT_S):
            async with httpx2.AsyncClient(transport=WireTransport(), timeout=httpx2.Timeout(30.0, read=300.0)) as http:
                client = Client(
                    streamable_http_client(URL, http_client=http),
                    mode="auto",
                    read_timeout_seconds=REQUEST_TIMEOUT_S,
                    client_info=types.Implementation(name="mcp-sse-interop-py-modern", version="0.0.0"),
                    message_handler=make_message_handler(),
                )
                # `async with client` holds the transport's task group, so it is entered here rather than
                # inside a per-check cancel scope; a failure to connect is reported as the connect check.
                # The probe's own timeout is DISCOVER_TIMEOUT_SECONDS (set to REQUEST_TIMEOUT_S above).
                try:
                    await client.__aenter__()
                except Exception as e:  # noqa: BLE001
                    not_ok(C_CONNECT, e)
                    checks.reported.add(C_CONNECT)
                    harness.print_wire(fmt_entry, 1, C_CONNECT)
                else:
                    modern = False
                    negotiated = client.protocol_version
                    try:
                        connected = True
                        modern = await run_connected(checks, client, listen_state)
                    finally:
                        if "cm" in listen_state and "sub" in listen_state:
                            await listen_state["cm"].__aexit__(None, None, None)
                        await client.__aexit__(None, None, None)
                    if modern:
                        await checks.run(C_CLOSE, c_close, wire_from=1)  # on failure: the whole flow
                    else:
                        for name in ALL:
                            checks.not_run(name, f"not run: the connect check failed (negotiated {negotiated!r})")
    except BaseException as e:  # noqa: BLE001 - includes ExceptionGroup and TimeoutError
        not_ok("session", harness.run_error(e))
        harness.print_wire(fmt_entry, 1, "flow so far")
    for name in ALL:
        checks.not_run(name, "not connected" if not connected else "not run")


async def c_close() -> str:
    """(8) After the listen stream and the client were closed: the stream was cancelled by closing it,
    and the whole run was sessionless (no session id from the server, nothing but POSTs)."""
    entries = [e for e in WIRE if (e["body"] or {}).get("method") == "subscriptions/listen"]
    for entry in entries:
        if not (entry["end"] or "").endswith(("aborted by the client", "closed by the client")):
            raise AssertionError(f"listen stream: {entry['end'] or 'still open'}")
    minted = [e for e in WIRE if e["resp_session"] is not None]
    assert_eq(len(minted), 0, f"responses carrying mcp-session-id ({', '.join(e['rpc'] for e in minted)})")
    other = [e for e in WIRE if e["method"] != "POST"]
    assert_eq(len(other), 0, f"non-POST requests sent ({', '.join(e['method'] for e in other)})")
    cancels = [e for e in WIRE if (e["body"] or {}).get("method") == "notifications/cancelled"]
    if cancels:
        diag(f"  note: notifications/cancelled was POSTed ({len(cancels)}x)")
    return f"{len(WIRE)} HTTP requests, all POST"


async def run_connected(checks: harness.Checks, client: Client, listen_state: dict[str, Any]) -> bool:
    """Runs checks (1)-(7); False when the connection did not come up as 2026-07-28."""
    # (1) connect: mode="auto" probed server/discover and must have adopted 2026-07-28.
    async def c_connect() -> str:
        posts = [e for e in WIRE if e["method"] == "POST"]
        if not posts:
            raise AssertionError("no POST was sent")
        if any((e["body"] or {}).get("method") == "initialize" for e in posts):
            first = posts[0]
            raise AssertionError(
                f"the SDK fell back to initialize (negotiated {client.protocol_version!r}); the "
                f"server/discover probe was answered {first['status']} {first['end'] or ''}"
            )
        assert_eq((posts[0]["body"] or {}).get("method"), "server/discover", "first POST method")
        assert_modern_request_post(posts[0])
        assert_eq(posts[0]["status"], 200, "server/discover status")
        assert_no_session_minted(posts[0])
        assert_eq(client.protocol_version, V26, "negotiated protocol version")
        d = client.session.discover_result
        if d is None or V26 not in d.supported_versions:
            raise AssertionError(f"discover result: {d!r}")
        info = client.server_info
        return (f"server {getattr(info, 'name', '(no serverInfo)')} {getattr(info, 'version', '')}, "
                f"supportedVersions {d.supported_versions}")

    if not await checks.run(C_CONNECT, c_connect, wire_from=1):
        return False

    async def c_discover() -> str:
        from_n = len(WIRE) + 1
        raw = await client.session.send_discover(V26)
        d = types.DiscoverResult.model_validate(raw)
        if V26 not in d.supported_versions:
            raise AssertionError(f"supportedVersions {d.supported_versions!r}")
        if d.capabilities.tools is None:
            raise AssertionError(f"capabilities lack tools: {d.capabilities!r}")
        post = assert_modern_request_post(find_post(from_n, "server/discover"))
        assert_eq(post["status"], 200, "status")
        assert_no_session_minted(post)
        wire_resp = response_on_wire(post)
        if not wire_resp or "result" not in wire_resp:
            raise AssertionError(f"no result on the wire: {wire_resp!r}")
        assert_eq(wire_resp["result"].get("resultType"), "complete", "result.resultType")
        if SERVER_INFO_KEY not in (wire_resp["result"].get("_meta") or {}):
            diag(f'  note: discover result has no _meta["{SERVER_INFO_KEY}"] (SHOULD, S3.30)')
        return f"{post['ctype']}, ttlMs={d.ttl_ms}, cacheScope={d.cache_scope!r}"

    async def c_list() -> None:
        from_n = len(WIRE) + 1
        r = await client.list_tools(cache_mode="refresh")
        names = [t.name for t in r.tools]
        for n in LISTED:
            if n not in names:
                raise AssertionError(f"{n} missing; tools were {names!r}")
        post = assert_modern_request_post(find_post(from_n, "tools/list"))
        assert_no_session_minted(post)

    async def c_echo() -> str:
        from_n = len(WIRE) + 1
        text = "hello from py modern ✓\nline2"
        assert_text_result(await client.call_tool("echo", {"text": text}), text)
        post = assert_modern_request_post(find_post(from_n, "tools/call", "echo"), "echo")
        assert_eq(post["status"], 200, "status")
        assert_no_session_minted(post)
        return f"answered {post['ctype']}"

    async def c_progress() -> None:
        from_n = len(WIRE) + 1
        events: list[Any] = []

        async def on_progress(progress: float, total: float | None, message: str | None) -> None:
            events.append(("progress", progress, total))

        result = await client.call_tool(TOOLS["progress"], {}, progress_callback=on_progress)
        events.append(("result",))
        assert_text_result(result)
        await anyio.sleep(0.15)  # anything arriving late would be out of order
        progress = [e for e in events if e[0] == "progress"]
        assert_eq([p for (_, p, _) in progress], [0, 50, 100], "progress values in order")
        for _, _, total in progress:
            assert_eq(total, 100, "progress total")
        assert_eq([e[0] for e in events], ["progress", "progress", "progress", "result"], "event order")
        post = assert_modern_request_post(find_post(from_n, "tools/call", TOOLS["progress"]), TOOLS["progress"])
        token = post["body"]["params"]["_meta"].get("progressToken")
        if token is None:
            raise AssertionError("request had no _meta.progressToken")
        if not (post["ctype"] or "").startswith("text/event-stream"):
            raise AssertionError(f"answered {post['status']} {post['ctype']}, not an SSE stream")
        on_wire = [ev for ev in post["events"] if (ev["msg"] or {}).get("method") == "notifications/progress"]
        assert_eq(len(on_wire), 3, "progress events on the response stream")
        for ev in on_wire:
            assert_eq(ev["msg"]["params"].get("progressToken"), token, "progressToken")
        msgs = [ev["msg"] for ev in post["events"] if ev["msg"] is not None]
        if not msgs or "method" in msgs[-1] or "id" not in msgs[-1]:
            raise AssertionError("the last event on the stream is not the response")
        assert_no_session_minted(post)
        if post["x_accel"] != "no":
            diag("  note: SSE response without `X-Accel-Buffering: no` (SHOULD, S3.11)")

    # (6)-(7) subscriptions/listen; the close is checked by c_close after the client has closed.
    listen_cm = client.listen(tools_list_changed=True)
    listen_state["cm"] = listen_cm

    async def c_listen() -> str:
        from_n = len(WIRE) + 1
        sub = await listen_cm.__aenter__()
        listen_state["sub"] = sub
        entry = assert_modern_request_post(find_post(from_n, "subscriptions/listen"))
        listen_state["entry"] = entry
        assert_eq(entry["body"]["params"].get("notifications"), {"toolsListChanged": True},
                  "request filter")
        assert_eq(entry["status"], 200, "status")
        if not (entry["ctype"] or "").startswith("text/event-stream"):
            raise AssertionError(f"answered {entry['ctype']}, not an SSE stream")
        assert_no_session_minted(entry)
        first = next((ev for ev in entry["events"] if ev["msg"] is not None), None)
        if first is None:
            raise AssertionError("no event on the listen stream")
        assert_eq(first["msg"].get("method"), "notifications/subscriptions/acknowledged", "first event")
        assert_eq(((first["msg"].get("params") or {}).get("_meta") or {}).get(SUB_KEY),
                  entry["body"]["id"], f'acknowledgement _meta["{SUB_KEY}"]')
        assert_eq(sub.subscription_id, entry["body"]["id"], "Subscription.subscription_id")
        assert_eq(sub.honored.tools_list_changed, True, "honored.tools_list_changed")
        if entry["x_accel"] != "no":
            diag("  note: listen stream without `X-Accel-Buffering: no` (SHOULD, S3.11)")
        return f"subscriptionId {sub.subscription_id!r}, honored {sub.honored.model_dump(exclude_none=True, by_alias=True)}"

    async def c_changed() -> str:
        sub = listen_state["sub"]
        entry = listen_state["entry"]
        from_n = len(WIRE) + 1
        result = await client.call_tool(TOOLS["change"], {})
        if getattr(result, "is_error", False):
            raise AssertionError(f"tool failed: {result!r}")
        with anyio.fail_after(REQUEST_TIMEOUT_S):
            event = await sub.__anext__()
        if not isinstance(event, ToolsListChanged):
            raise AssertionError(f"first event was {event!r}, not ToolsListChanged")
        await anyio.sleep(0.1)
        post = assert_modern_request_post(find_post(from_n, "tools/call", TOOLS["change"]), TOOLS["change"])
        on_call = [ev for ev in post["events"]
                   if (ev["msg"] or {}).get("method") == "notifications/tools/list_changed"]
        assert_eq(len(on_call), 0, "list_changed events on the tools/call response stream")
        on_listen = [ev for ev in entry["events"]
                     if (ev["msg"] or {}).get("method") == "notifications/tools/list_changed"]
        if not on_listen:
            raise AssertionError("list_changed reached the SDK but not on the listen stream")
        for ev in on_listen:
            assert_eq(((ev["msg"].get("params") or {}).get("_meta") or {}).get(SUB_KEY),
                      entry["body"]["id"], f'list_changed _meta["{SUB_KEY}"]')
        others = [ev for ev in entry["events"] if ev["msg"] is not None and ev["msg"].get("method") not in (
            "notifications/subscriptions/acknowledged", "notifications/tools/list_changed")]
        if others:
            raise AssertionError("unrequested messages on the listen stream: "
                                 + "; ".join(message_summary(ev["msg"]) for ev in others))
        return f"{len(on_listen)} event(s) on the wire, typed event {type(event).__name__}"

    for name, fn in [(C_DISCOVER, c_discover), (C_LIST, c_list), (C_ECHO, c_echo), (C_PROGRESS, c_progress)]:
        await checks.run(name, fn)
    if not TOOLS["change"]:
        harness.skip("subscriptions/listen and list changes", "no MCP_CHANGE_TOOL")
    elif await checks.run(C_LISTEN, c_listen):
        await checks.run(C_CHANGED, c_changed)
        # Close the subscription: leaving the context cancels the listen POST (closing the stream).
        await listen_cm.__aexit__(None, None, None)
        listen_state.pop("sub", None)
        await anyio.sleep(0.1)
    else:
        checks.not_run(C_CHANGED, "no open subscription")
    return True


if __name__ == "__main__":
    harness.main(run)
