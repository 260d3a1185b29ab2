#!/usr/bin/env python3
"""An MCP server behind a reverse proxy that mounts it under a prefix (scripts/nginx-run.sh puts
nginx at /prefix/ in front of the example server, which trusts X-Forwarded-Prefix and writes
keepalives every second). Checks, through the proxy:

- the 2024-11-05 stream: GET PREFIX/sse gets its `endpoint` event within 1 s, pointing under
  PREFIX; POSTs to that URI are accepted and answered on the stream; a keepalive comment arrives
  on the stream once it is idle;
- Streamable HTTP: initialize on PREFIX/mcp mints a session, tools/call is answered, the
  standalone GET stream receives keepalives, DELETE ends the session.

Usage: check.py LABEL=PROXY_URL...   (PROXY_URL: the proxy's URL of the mount, e.g.
       tokio-http1.1=http://127.0.0.1:8080/prefix)
Prints `ok - [LABEL] check` / `not ok - [LABEL] check: why` and a final comment line with the
counts; exits 0 only when every check passed. Standard library only.
"""

import http.client
import json
import sys
import threading
import time
import urllib.parse

ENDPOINT_WITHIN_S = 1.0
KEEPALIVE_WITHIN_S = 2.5  # the server writes one after 1 s of silence
ANSWER_WITHIN_S = 5.0
INITIALIZE = {
    "capabilities": {},
    "clientInfo": {"name": "mcp-sse-nginx-check", "version": "0.0.0"},
}

# The lines of each target's checks, printed in order once all have run (they run at once).
RESULTS = {}


def report(label, what, ok, why=""):
    line = f"ok - [{label}] {what}" if ok else f"not ok - [{label}] {what}: {why}"
    RESULTS.setdefault(label, []).append(line)
    return ok


def rpc(id, method, params=None):
    message = {"jsonrpc": "2.0", "method": method}
    if id is not None:
        message["id"] = id
    if params is not None:
        message["params"] = params
    return json.dumps(message)


class Stream:
    """An SSE response read line by line on a thread; each line kept with the time it arrived."""

    def __init__(self, url, headers=None):
        parts = urllib.parse.urlsplit(url)
        self.opened = time.monotonic()
        self.connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=ANSWER_WITHIN_S)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        self.connection.request("GET", path, headers={"Accept": "text/event-stream", **(headers or {})})
        try:
            self.response = self.connection.getresponse()
        except TimeoutError:
            raise TimeoutError(f"no response head for GET {path} within {ANSWER_WITHIN_S} s") from None
        self.connection.sock.settimeout(60)  # an idle stream is read until close()
        self.lines = []
        self.changed = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        try:
            while line := self.response.readline():
                with self.changed:
                    self.lines.append((time.monotonic(), line.decode().rstrip("\r\n")))
                    self.changed.notify_all()
        except (OSError, ValueError, AttributeError, http.client.HTTPException):
            pass  # closed by close() (http.client then has no file to read) or by the peer

    def wait_for(self, matches, within, after=0):
        """The first line from index `after` on that `matches`, as (index, seconds since the
        stream opened, line), waiting up to `within` seconds; None if none came."""
        end = time.monotonic() + within
        with self.changed:
            while True:
                for index in range(after, len(self.lines)):
                    at, line = self.lines[index]
                    if matches(line):
                        return index, at - self.opened, line
                left = end - time.monotonic()
                if left <= 0:
                    return None
                self.changed.wait(left)

    def message(self, id, within=ANSWER_WITHIN_S):
        """The JSON-RPC message with `id` in a `data:` line."""

        def is_answer(line):
            if not line.startswith("data:"):
                return False
            try:
                return json.loads(line[5:]).get("id") == id
            except ValueError:
                return False

        found = self.wait_for(is_answer, within)
        return json.loads(found[2][5:]) if found else None

    def keepalive(self, within=KEEPALIVE_WITHIN_S):
        """Waits for a comment line after everything received so far; seconds it took, or None."""
        with self.changed:
            after, since = len(self.lines), time.monotonic()
        found = self.wait_for(lambda line: line.startswith(":"), within, after)
        return None if found is None else self.lines[found[0]][0] - since

    def close(self):
        self.connection.close()


def post(url, body, headers=None):
    """POSTs JSON; returns (status, headers, parsed answer or None). An SSE answer is read whole;
    a body that is no JSON (a proxy's error page) is no answer."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=ANSWER_WITHIN_S)
    try:
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        all_headers = {
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
            **(headers or {}),
        }
        connection.request("POST", path, body=body, headers=all_headers)
        response = connection.getresponse()
        text = response.read().decode()
        if response.getheader("Content-Type", "").startswith("text/event-stream"):
            data = [line[5:] for line in text.splitlines() if line.startswith("data:") and line[5:].strip()]
            text = data[-1] if data else ""
        try:
            answer = json.loads(text)
        except ValueError:
            answer = None
        return response.status, response.headers, answer
    finally:
        connection.close()


def request(method, url, headers):
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=ANSWER_WITHIN_S)
    try:
        connection.request(method, parts.path, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def echoed(answer, text):
    content = ((answer or {}).get("result") or {}).get("content") or [{}]
    return content[0].get("text") == text


def legacy(label, mount):
    """The 2024-11-05 transport through the proxy."""
    prefix = urllib.parse.urlsplit(mount).path
    origin = mount[: -len(prefix)]
    stream = Stream(f"{mount}/sse")
    try:
        found = stream.wait_for(lambda line: line.startswith("data:"), ENDPOINT_WITHIN_S)
        report(label, f"GET {prefix}/sse: the endpoint event within {ENDPOINT_WITHIN_S} s", found,
               f"nothing in {ENDPOINT_WITHIN_S} s (status {stream.response.status}, lines {stream.lines})")
        if not found:
            return
        endpoint = found[2][5:].strip()
        report(label, f"the endpoint points under {prefix}/ ({endpoint}, after {found[1] * 1000:.0f} ms)",
               endpoint.startswith(f"{prefix}/messages?sessionId="), endpoint)
        target = origin + endpoint
        status, _, _ = post(target, rpc(1, "initialize", {**INITIALIZE, "protocolVersion": "2024-11-05"}))
        answer = stream.message(1)
        report(label, "POST initialize through the endpoint: 202, answered on the stream",
               status == 202 and (answer or {}).get("result", {}).get("protocolVersion") == "2024-11-05",
               f"status {status}, answer {answer}")
        post(target, rpc(None, "notifications/initialized"))
        status, _, _ = post(target, rpc(2, "tools/call", {"name": "echo", "arguments": {"text": "via nginx"}}))
        answer = stream.message(2)
        report(label, "POST tools/call through the endpoint: 202, answered on the stream",
               status == 202 and echoed(answer, "via nginx"), f"status {status}, answer {answer}")
        waited = stream.keepalive()
        report(label, "a keepalive comment arrives on the idle 2024-11-05 stream",
               waited is not None, f"none within {KEEPALIVE_WITHIN_S} s")
    finally:
        stream.close()


def streamable(label, mount):
    """Streamable HTTP through the proxy."""
    url = f"{mount}/mcp"
    status, headers, answer = post(url, rpc(1, "initialize", {**INITIALIZE, "protocolVersion": "2025-11-25"}))
    session = headers.get("Mcp-Session-Id")
    ok = report(label, "POST initialize on /mcp: 200 with Mcp-Session-Id",
                status == 200 and session and (answer or {}).get("result", {}).get("protocolVersion") == "2025-11-25",
                f"status {status}, session {session}, answer {answer}")
    if not ok:
        return
    in_session = {"Mcp-Session-Id": session, "MCP-Protocol-Version": "2025-11-25"}
    status, _, _ = post(url, rpc(None, "notifications/initialized"), in_session)
    status, _, answer = post(url, rpc(2, "tools/call", {"name": "echo", "arguments": {"text": "streamable via nginx"}}),
                             in_session)
    report(label, "tools/call with the session is answered", status == 200 and echoed(answer, "streamable via nginx"),
           f"status {status}, answer {answer}")
    stream = Stream(url, in_session)
    try:
        waited = stream.keepalive()
        report(label, "a keepalive comment arrives on the idle standalone GET stream",
               stream.response.status == 200 and waited is not None,
               f"status {stream.response.status}, lines {stream.lines}")
    finally:
        stream.close()
    status = request("DELETE", url, in_session)
    report(label, "DELETE ends the session", status in (200, 204), f"status {status}")


def check(label, mount, flow):
    try:
        flow(label, mount)
    except Exception as error:  # a broken proxy or server: one failure, go on
        report(label, f"{flow.__name__} flow completes", False, repr(error))


def main():
    targets = [arg.split("=", 1) for arg in sys.argv[1:]]
    if not targets or any(len(target) != 2 for target in targets):
        print("usage: check.py LABEL=PROXY_URL...", file=sys.stderr)
        return 2
    # Every flow at once: most of the time is spent waiting for keepalives.
    runs = [(f"{label} {flow.__name__}", mount.rstrip("/"), flow) for label, mount in targets for flow in (legacy, streamable)]
    threads = [threading.Thread(target=check, args=run) for run in runs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    lines = [line for label, _, _ in runs for line in RESULTS.get(label, [])]
    print("\n".join(lines))
    failed = sum(line.startswith("not ok") for line in lines)
    print(f"# nginx checks: {len(lines) - failed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
