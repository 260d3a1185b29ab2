"""The harness the Python interop clients share (sse_client.py, streamable_client.py, modern_client.py).

Each client runs as its own process (`python tests/interop/python/X.py [URL]`) and imports this module as a
sibling. It owns the bookkeeping and the output: `ok - <check>` / `not ok - <check>: <why>` per check, `# …`
diagnostic lines, and the final `<label>: N passed, M failed` line (exit 0 only when every check passed and
at least one did); the URL and deadline settings; the hard watchdog; the wire log's list, SSE line parser and
printing; and the per-check runner that prints the wire log of a failed check.

Settings: argv[1] or $MCP_URL (the URL), $MCP_TIMEOUT_S (global deadline in seconds, default 20),
$MCP_WIRE=1 (print the wire log of every check), and the tools the clients call (TOOLS below).
"""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
import time
from typing import Any, Awaitable, Callable

import anyio
import httpx2

URL = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("MCP_URL", "")
GLOBAL_TIMEOUT_S = float(os.environ.get("MCP_TIMEOUT_S", "20"))
SHOW_WIRE = os.environ.get("MCP_WIRE") == "1"
T0 = time.monotonic()

# The tools the clients call besides `echo` {text}, by what they do (the same settings as harness.mjs);
# the defaults are the example server's. An empty name skips the checks that need that tool.
TOOLS = {
    "progress": os.environ.get("MCP_PROGRESS_TOOL", "test_tool_with_progress"),
    "reconnect": os.environ.get("MCP_RECONNECT_TOOL", "test_reconnection"),
    "change": os.environ.get("MCP_CHANGE_TOOL", "test_trigger_tool_change"),
    "elicit": os.environ.get("MCP_ELICIT_TOOL", ""),
}

# What the clients answer to an elicitation/create: accept, every string field of the form set to this.
ELICITED = "Ada Lovelace"


def elicit_answer(requested_schema: object) -> dict[str, Any]:
    """The content of the answer to a form with `requested_schema` (a dict or a pydantic model)."""
    schema = requested_schema if isinstance(requested_schema, dict) else requested_schema.model_dump(by_alias=True)
    properties = schema.get("properties") or {}
    return {name: ELICITED for name, p in properties.items() if (p or {}).get("type") == "string"}


def skip(what: str, why: str) -> None:
    """A check left out because the server offers no tool for it."""
    print(f"# skip - {what}: {why}", flush=True)

_lock = threading.Lock()
_counts = {"passed": 0, "failed": 0}
_finished = False
# Set by configure(): the summary line's label, and how long a `not ok` reason / a `#` line may get.
_settings: dict[str, Any] = {"label": "py", "why_limit": None, "diag_limit": 400}


def configure(label: str, *, why_limit: int | None = 600, diag_limit: int = 400) -> None:
    """`label` starts the final line; a `not ok` reason longer than `why_limit` (None: no limit) and a
    diagnostic line longer than `diag_limit` characters are cut, with a trailing `…`."""
    _settings.update(label=label, why_limit=why_limit, diag_limit=diag_limit)


def ok(what: str) -> None:
    with _lock:
        _counts["passed"] += 1
    print(f"ok - {what}", flush=True)


def not_ok(what: str, why: object) -> None:
    with _lock:
        _counts["failed"] += 1
    text = " ".join(describe(why).split())
    limit = _settings["why_limit"]
    if limit is not None and len(text) > limit:
        text = text[:limit] + "…"
    print(f"not ok - {what}: {text}", flush=True)


def diag(line: str) -> None:
    flat = " ".join(str(line).split("\n"))
    limit = _settings["diag_limit"]
    print(f"# {flat if len(flat) <= limit else flat[:limit] + '…'}", flush=True)


def describe(e: object) -> str:
    """Flatten (nested) exception groups into one readable message."""
    if isinstance(e, BaseExceptionGroup):
        return "; ".join(describe(x) for x in e.exceptions)
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
    print(f"{_settings['label']}: {p} passed, {f} failed", flush=True)
    sys.stdout.flush()
    os._exit(0 if f == 0 and p > 0 else 1)


def run_error(e: BaseException, timeout_hint: str = "") -> object:
    """What a whole run failed with, for `not_ok` (a run-wide TimeoutError names the deadline).
    KeyboardInterrupt and SystemExit are raised again."""
    if isinstance(e, (KeyboardInterrupt, SystemExit)):
        raise e
    if isinstance(e, TimeoutError):
        return f"TimeoutError: run exceeded {GLOBAL_TIMEOUT_S:g} s{timeout_hint}"
    return e


def main(run: Callable[[], Awaitable[None]], *, sdk_log: bool = True) -> None:
    """Run `run` under anyio with a hard watchdog, then print the final line and exit.
    `sdk_log`: show the SDK's warnings as `# log …` lines."""
    if sdk_log:
        _setup_logging()
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


class _OneLineFormatter(logging.Formatter):
    """SDK log records as one `# log …` line each (an exception shows as its type and message only)."""

    def format(self, record: logging.LogRecord) -> str:
        msg = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            msg += f" ({describe(record.exc_info[1])})"
        flat = " ".join(f"# log {record.levelname.lower()} {record.name}: {msg}".split())
        return flat if len(flat) <= 400 else flat[:400] + "…"


def _setup_logging() -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(_OneLineFormatter())
    logging.basicConfig(level=logging.WARNING, handlers=[handler])


def ms() -> int:
    return int((time.monotonic() - T0) * 1000)


# ---------------------------------------------------------------------------------------------
# Assertions on SDK results
# ---------------------------------------------------------------------------------------------


def assert_init_result(init: object) -> Any:
    """An initialize result names the server and offers tools; returns its serverInfo."""
    info = field(init, "server_info", "serverInfo")
    caps = field(init, "capabilities")
    if info is None or not isinstance(getattr(info, "name", None), str):
        raise AssertionError(f"no serverInfo: {init!r}")
    if caps is None or getattr(caps, "tools", None) is None:
        raise AssertionError(f"server capabilities lack tools: {caps!r}")
    return info


def field(obj: object, *names: str) -> object:
    """Read a field under its 2.x (snake_case) or 1.x (camelCase) name."""
    for n in names:
        if hasattr(obj, n):
            return getattr(obj, n)
    return None


def assert_eq(actual: object, expected: object, what: str) -> None:
    if actual != expected:
        raise AssertionError(f"{what}: expected {expected!r}, got {actual!r}")


def assert_text_result(result: object, text: str | None = None) -> None:
    if field(result, "is_error", "isError"):
        raise AssertionError(f"isError is true: {result!r}")
    content = field(result, "content")
    if not isinstance(content, list) or not content:
        raise AssertionError(f"no (or empty) content list: {result!r}")
    item = content[0]
    if getattr(item, "type", None) != "text":
        raise AssertionError(f"content[0].type: expected 'text', got {getattr(item, 'type', None)!r}")
    if text is not None:
        assert_eq(len(content), 1, "content length")
        assert_eq(getattr(item, "text", None), text, "content[0].text")
    elif not getattr(item, "text", None):
        raise AssertionError("empty text")


# ---------------------------------------------------------------------------------------------
# Wire log: each client's httpx2 transport appends one dict per request to WIRE (with at least
# "n", its 1-based position, and "events", each with "t" in ms since start) and formats entries
# with its own fmt_entry.
# ---------------------------------------------------------------------------------------------
WIRE: list[dict[str, Any]] = []
STREAM_ERRORS: list[str] = []


def rpc_summary(m: Any) -> str:
    """`method#id name` of a parsed JSON-RPC message (`response#id` for a response)."""
    if not isinstance(m, dict):
        return "?"
    if "method" in m:
        rid = f"#{m['id']}" if "id" in m else ""
        name = (m.get("params") or {}).get("name")
        return f"{m['method']}{rid}{' ' + name if isinstance(name, str) else ''}"
    if "id" in m:
        return f"response#{m['id']}"
    return "?"


class SseParser:
    """Minimal SSE parser over the bytes handed to the SDK (for the log and the checks): calls
    on_event with each dispatched event's fields (data, id, retry, event) and on_comment per comment line."""

    def __init__(self) -> None:
        self.buf = ""
        self.ev: dict[str, str] = {}

    def on_event(self, ev: dict[str, str]) -> None:
        pass

    def on_comment(self) -> None:
        pass

    def feed(self, chunk: bytes) -> None:
        self.buf += chunk.decode("utf-8", errors="replace")
        lines = re.split(r"\r\n|\r|\n", self.buf)
        self.buf = lines.pop()
        for line in lines:
            if line == "":
                if self.ev:
                    self.on_event(self.ev)
                self.ev = {}
                continue
            if line.startswith(":"):
                self.on_comment()
                continue
            name, _, value = line.partition(":")
            if value.startswith(" "):
                value = value[1:]
            if name == "data":
                self.ev["data"] = value if "data" not in self.ev else self.ev["data"] + "\n" + value
            elif name in ("id", "retry", "event"):
                self.ev[name] = value


class WireTransportBase(httpx2.AsyncBaseTransport):
    """An httpx2 transport over the real one: a subclass records each request in WIRE and hands the SDK
    the response with a tapping stream (`tapped`)."""

    def __init__(self) -> None:
        self.inner = httpx2.AsyncHTTPTransport()

    @staticmethod
    def tapped(resp: httpx2.Response, request: httpx2.Request, stream: httpx2.AsyncByteStream) -> httpx2.Response:
        return httpx2.Response(
            resp.status_code,
            headers=resp.headers,
            stream=stream,
            request=request,
            extensions=resp.extensions,
        )

    async def aclose(self) -> None:
        await self.inner.aclose()


def print_wire(fmt_entry: Callable[[dict[str, Any]], list[str]], from_n: int, title: str,
               since_t: float = float("inf")) -> None:
    """Entries created since `from_n`, plus older ones (an open stream) with events since `since_t`."""
    entries = [
        e for e in WIRE
        if e["n"] >= from_n or any(ev["t"] >= since_t for ev in e["events"])
    ]
    if not entries:
        return
    diag(f"wire ({title}):")
    for e in entries:
        for line in fmt_entry(e):
            diag(f"  {line}")


def make_message_handler(tag: str | None = None):
    """An SDK message handler that records stream errors (prefixed `tag: `) for Checks to print."""

    async def handler(message: object) -> None:
        if isinstance(message, Exception):
            STREAM_ERRORS.append(f"{tag}: {describe(message)}" if tag else describe(message))

    return handler


class Checks:
    """Runs one check at a time under `check_timeout_s`, reports it, and prints its part of the wire log
    when it failed (or always with MCP_WIRE=1 / always_show_wire). `since_start`: also print older
    entries (an open stream) that saw events while the check ran."""

    def __init__(self, check_timeout_s: float, fmt_entry: Callable[[dict[str, Any]], list[str]], *,
                 since_start: bool = False) -> None:
        self.check_timeout_s = check_timeout_s
        self.fmt_entry = fmt_entry
        self.since_start = since_start
        self.reported: set[str] = set()

    async def run(self, name: str, fn, *, always_show_wire: bool = False, wire_from: int | None = None) -> bool:  # noqa: ANN001
        self.reported.add(name)
        from_n = len(WIRE) + 1 if wire_from is None else wire_from
        since_t = ms() if self.since_start else float("inf")
        errors_before = len(STREAM_ERRORS)
        good = False
        try:
            with anyio.fail_after(self.check_timeout_s):
                label = await fn()
            ok(f"{name} ({label})" if label else name)
            good = True
        except Exception as e:  # noqa: BLE001 - report every failure as a check result
            if isinstance(e, TimeoutError):
                e = TimeoutError(f"check exceeded {self.check_timeout_s:g} s")
            not_ok(name, e)
        if always_show_wire or not good or SHOW_WIRE:
            print_wire(self.fmt_entry, from_n, name, since_t)
        for err in STREAM_ERRORS[errors_before:]:
            diag(f"  stream error: {err}")
        return good

    def not_run(self, name: str, why: str) -> None:
        if name not in self.reported:
            self.reported.add(name)
            not_ok(name, why)
