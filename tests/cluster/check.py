#!/usr/bin/env python3
"""Three MCP server instances sharing one Redis, behind nginx round robin with no affinity
(scripts/cluster-run.sh starts them). Two commands:

  check.py flows LABEL NGINX_URL A_URL B_URL C_URL
      The instances are addressed directly, so that each step lands where the check says:
      - nginx spreads requests over all three instances (its X-Upstream header);
      - a: a 2024-11-05 stream on A; its POSTs sent to B and C are accepted (202) and answered on
        A's stream, each answer once;
      - b: a Streamable HTTP session initialized on A serves tools/list on B and tools/call on C;
        DELETE on C ends it on A and B too (404);
      - c: a standalone GET stream on A receives notifications/resources/updated caused by a tool
        call on B, for a subscription made on B and for one made on C;
      - d: 2026-07-28 `subscriptions/listen` streams on A, B and C each receive, once, the
        notifications/tools/list_changed published by a tool call on B;
      - f: a 2026-07-28 input_required round begun on A is finished on B (the sealed requestState
        opens on every instance: one shared key);
      - g: a response stream (a tool's progress) cut on A is resumed on B with Last-Event-ID:
        what came after the cut arrives there, each message once.

  check.py outage LABEL NGINX_URL TIMELINE
      A load through nginx until TIMELINE (a file the run script appends `EVENT EPOCH-SECONDS`
      lines to: pause, resume, down, up, end) says `end`: Streamable HTTP sessions from several
      threads (initialize, notifications/initialized, tools/call, DELETE), and 2024-11-05 sessions
      (a stream, then POSTs of tools/call). Then every exchange is judged by when it ran: outside
      the outage windows everything succeeds; inside (from pause or down until RECOVERY_S after
      resume or up) each answer is a success, or 503 with Retry-After (or 404 for a session Redis
      lost while it was down), within REQUEST_TIMEOUT_S, never a reset; the outage shows (503s were
      seen); the load succeeds fully again RECOVERY_S after Redis is back; and every 2024-11-05 POST
      accepted with 202 was answered on its stream exactly once.

Prints `ok - [LABEL] check` / `not ok - [LABEL] check: why` and a final comment line; exits 0
only when every check passed. Standard library only.
"""

import http.client
import json
import os
import socket
import sys
import threading
import time
import urllib.parse

ANSWER_WITHIN_S = 5.0  # a message expected on a stream
SETTLE_S = 0.3  # waited after the last expected message, to see duplicates
REQUEST_TIMEOUT_S = float(os.environ.get("CLUSTER_REQUEST_TIMEOUT_S", "10"))
RECOVERY_S = float(os.environ.get("CLUSTER_RECOVERY_S", "3"))
LOAD_THREADS = 4
V26 = "2026-07-28"
CLIENT_INFO = {"name": "mcp-sse-cluster-check", "version": "0.0.0"}
WATCHED = "test://watched-resource"

RESULTS = {}


def report(label, what, ok, why=""):
    line = f"ok - [{label}] {what}" if ok else f"not ok - [{label}] {what}: {why}"
    RESULTS.setdefault(label, []).append(line)
    return ok


# ---------------------------------------------------------------------------------------------
# JSON-RPC messages

def rpc(id, method, params=None):
    message = {"jsonrpc": "2.0", "method": method}
    if id is not None:
        message["id"] = id
    if params is not None:
        message["params"] = params
    return message


def initialize(id, version):
    return rpc(id, "initialize", {"protocolVersion": version, "capabilities": {}, "clientInfo": CLIENT_INFO})


def echo_call(id, text):
    return rpc(id, "tools/call", {"name": "echo", "arguments": {"text": text}})


def modern(id, method, params=None, name=None, capabilities=None):
    """A 2026-07-28 request: the body with its `_meta` and the headers that repeat it."""
    params = dict(params or {})
    params["_meta"] = {
        "io.modelcontextprotocol/protocolVersion": V26,
        "io.modelcontextprotocol/clientCapabilities": capabilities or {},
        "io.modelcontextprotocol/clientInfo": CLIENT_INFO,
    }
    headers = {"MCP-Protocol-Version": V26, "Mcp-Method": method}
    if name is not None:
        headers["Mcp-Name"] = name
    return rpc(id, method, params), headers


def session_headers(session, version="2025-11-25"):
    return {"Mcp-Session-Id": session, "MCP-Protocol-Version": version}


def text_of(message):
    content = ((message or {}).get("result") or {}).get("content") or [{}]
    return content[0].get("text")


# ---------------------------------------------------------------------------------------------
# HTTP

class Reply:
    """One whole HTTP answer: status, headers, and the JSON-RPC messages of its body (a JSON body
    or the `data:` lines of an SSE body)."""

    def __init__(self, status, headers, text):
        self.status, self.headers, self.text = status, headers, text
        self.messages = []
        if headers.get("Content-Type", "").startswith("text/event-stream"):
            chunks = [line[5:] for line in text.splitlines() if line.startswith("data:") and line[5:].strip()]
        else:
            chunks = [text] if text.strip() else []
        for chunk in chunks:
            try:
                self.messages.append(json.loads(chunk))
            except ValueError:
                pass  # a proxy's error page is no message

    def answer(self, id):
        return next((m for m in self.messages if m.get("id") == id), None)

    def __repr__(self):
        return f"{self.status} {self.text[:300]!r}"


def connect(url, timeout):
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    return connection, parts.path + (f"?{parts.query}" if parts.query else "")


def send(method, url, message=None, headers=None, timeout=ANSWER_WITHIN_S):
    """One request, its answer read whole."""
    connection, path = connect(url, timeout)
    try:
        all_headers = {"Accept": "application/json, text/event-stream", **(headers or {})}
        body = None
        if message is not None:
            body = json.dumps(message)
            all_headers["Content-Type"] = "application/json"
        connection.request(method, path, body=body, headers=all_headers)
        response = connection.getresponse()
        return Reply(response.status, response.headers, response.read().decode(errors="replace"))
    finally:
        connection.close()


def post(url, message, headers=None, timeout=ANSWER_WITHIN_S):
    return send("POST", url, message, headers, timeout)


class Stream:
    """An SSE response (a GET stream, or a POST answered with a stream) read on a thread; its
    JSON-RPC messages are kept in order of arrival."""

    def __init__(self, method, url, message=None, headers=None, timeout=ANSWER_WITHIN_S):
        self.connection, path = connect(url, timeout)
        all_headers = {"Accept": "text/event-stream" if method == "GET" else "application/json, text/event-stream",
                       **(headers or {})}
        body = None
        if message is not None:
            body = json.dumps(message)
            all_headers["Content-Type"] = "application/json"
        self.connection.request(method, path, body=body, headers=all_headers)
        self.response = self.connection.getresponse()
        self.status = self.response.status
        self.connection.sock.settimeout(60)  # read until close()
        self.lines, self.messages = [], []
        self.event_ids = []  # the SSE event id of each message (None: none)
        self.ended = False  # the body ended (closed by the peer)
        self.changed = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        event_id = None
        try:
            while line := self.response.readline():
                line = line.decode(errors="replace").rstrip("\r\n")
                with self.changed:
                    self.lines.append(line)
                    if line.startswith("id:"):
                        event_id = line[3:].strip()
                    elif line.startswith("data:"):
                        try:
                            self.messages.append(json.loads(line[5:]))
                            self.event_ids.append(event_id)
                        except ValueError:
                            pass
                    elif not line:
                        event_id = None
                    self.changed.notify_all()
        except (OSError, ValueError, AttributeError, http.client.HTTPException):
            pass  # closed by close() or by the peer
        with self.changed:
            self.ended = True
            self.changed.notify_all()

    def wait_line(self, matches, within=ANSWER_WITHIN_S):
        """The first line that `matches`, waiting up to `within` seconds; None if none came."""
        return self._wait(lambda: next((line for line in self.lines if matches(line)), None), within)

    def wait(self, matches, within=ANSWER_WITHIN_S):
        """The first message that `matches`, waiting up to `within` seconds; None if none came."""
        return self._wait(lambda: next((m for m in self.messages if matches(m)), None), within)

    def _wait(self, find, within):
        end = time.monotonic() + within
        with self.changed:
            while (found := find()) is None and not self.ended and (left := end - time.monotonic()) > 0:
                self.changed.wait(left)
            return found

    def event_id(self, message):
        """The SSE event id that carried `message` (one of `messages`)."""
        with self.changed:
            return next(id for m, id in zip(self.messages, self.event_ids) if m is message)

    def count(self, matches):
        with self.changed:
            return sum(1 for m in self.messages if matches(m))

    def close(self):
        # Shut the socket down first: the reading thread holds the response's buffer until its
        # read returns, and closing the connection would wait for that.
        if self.connection.sock is not None:
            try:
                self.connection.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.connection.close()


def has_id(id):
    return lambda message: message.get("id") == id and "method" not in message


def is_method(method):
    return lambda message: message.get("method") == method


# ---------------------------------------------------------------------------------------------
# flows

def round_robin(label, nginx, instances):
    """nginx spreads requests over every instance (the harness has no affinity)."""
    seen = []
    for i in range(6):
        message, headers = modern(i, "server/discover")
        reply = post(f"{nginx}/mcp", message, headers)
        seen.append(reply.headers.get("X-Upstream"))
    expected = {urllib.parse.urlsplit(url).netloc for url in instances}
    report(label, "nginx spreads six requests over all three instances (X-Upstream)",
           set(seen) == expected, f"upstreams {seen}, instances {sorted(expected)}")


def legacy(label, nginx, instances):
    """a: a 2024-11-05 stream on A, its POSTs sent to B and C."""
    a, b, c = instances
    stream = Stream("GET", f"{a}/sse")
    try:
        line = stream.wait_line(lambda line: line.startswith("data:"))
        if not report(label, "a: GET /sse on A gets the endpoint event", line is not None,
                      f"status {stream.status}, lines {stream.lines}"):
            return
        endpoint = line[5:].strip()
        steps = [
            (b, 1, initialize(1, "2024-11-05"), lambda m: m["result"]["protocolVersion"] == "2024-11-05", "initialize"),
            (c, None, rpc(None, "notifications/initialized"), None, "notifications/initialized"),
            (c, 2, echo_call(2, "via C"), lambda m: text_of(m) == "via C", "tools/call"),
            (b, 3, echo_call(3, "via B"), lambda m: text_of(m) == "via B", "tools/call"),
            (c, 4, rpc(4, "tools/list"), lambda m: any(t["name"] == "echo" for t in m["result"]["tools"]),
             "tools/list"),
        ]
        for target, id, message, good, what in steps:
            where = "B" if target == b else "C"
            reply = post(f"{target}{endpoint}", message)
            if id is None:
                report(label, f"a: {what} POSTed to {where}: 202", reply.status == 202, repr(reply))
                continue
            answer = stream.wait(has_id(id))
            try:
                answered = answer is not None and good(answer)
            except (KeyError, TypeError):
                answered = False
            report(label, f"a: {what} POSTed to {where}: 202, answered on A's stream",
                   reply.status == 202 and answered, f"POST {reply!r}, on the stream {answer}")
        time.sleep(SETTLE_S)
        counts = {id: stream.count(has_id(id)) for id in (1, 2, 3, 4)}
        report(label, "a: each answer arrived on A's stream once", all(n == 1 for n in counts.values()),
               f"times each id arrived: {counts}")
    finally:
        stream.close()


def start_session(label, where, url, what):
    """initialize on `url`, then notifications/initialized there; the headers naming the session,
    or None."""
    reply = post(f"{url}/mcp", initialize(1, "2025-11-25"))
    session = reply.headers.get("Mcp-Session-Id")
    if not report(label, f"{what}: initialize on {where}: 200 with Mcp-Session-Id",
                  reply.status == 200 and session, repr(reply)):
        return None
    named = session_headers(session)
    post(f"{url}/mcp", rpc(None, "notifications/initialized"), named)
    return named


def streamable(label, nginx, instances):
    """b: a session initialized on A, used on B and C, deleted on C."""
    a, b, c = instances
    named = start_session(label, "A", a, "b")
    if not named:
        return
    reply = post(f"{b}/mcp", rpc(None, "notifications/initialized"), named)
    report(label, "b: notifications/initialized on B: 202", reply.status == 202, repr(reply))
    reply = post(f"{b}/mcp", rpc(2, "tools/list"), named)
    tools = [t.get("name") for t in ((reply.answer(2) or {}).get("result") or {}).get("tools", [])]
    report(label, "b: tools/list on B: 200 with the tools", reply.status == 200 and "echo" in tools, repr(reply))
    reply = post(f"{c}/mcp", echo_call(3, "on C"), named)
    report(label, "b: tools/call on C: 200, answered", reply.status == 200 and text_of(reply.answer(3)) == "on C",
           repr(reply))
    reply = send("DELETE", f"{c}/mcp", headers=named)
    report(label, "b: DELETE on C ends the session", reply.status in (200, 204), repr(reply))
    for where, url in (("A", a), ("B", b)):
        reply = post(f"{url}/mcp", rpc(4, "ping"), named)
        report(label, f"b: after the DELETE, a POST on {where}: 404", reply.status == 404, repr(reply))


def standalone(label, nginx, instances):
    """c: notifications for a session reach its standalone GET stream on another instance."""
    a, b, c = instances
    for subscribe_on, subscriber in (("B", b), ("C", c)):
        what = f"c (subscribed on {subscribe_on})"
        named = start_session(label, "A", a, what)
        if not named:
            continue
        stream = Stream("GET", f"{a}/mcp", headers=named)
        try:
            if not report(label, f"{what}: standalone GET stream on A: 200", stream.status == 200,
                          f"status {stream.status}"):
                continue
            reply = post(f"{subscriber}/mcp", rpc(2, "resources/subscribe", {"uri": WATCHED}), named)
            report(label, f"{what}: resources/subscribe on {subscribe_on}: 200",
                   reply.status == 200 and "result" in (reply.answer(2) or {}), repr(reply))
            reply = post(f"{b}/mcp", rpc(3, "tools/call", {"name": "test_trigger_resource_change", "arguments": {}}),
                         named)
            report(label, f"{what}: tools/call test_trigger_resource_change on B: 200",
                   reply.status == 200 and "result" in (reply.answer(3) or {}), repr(reply))
            updated = lambda m: m.get("method") == "notifications/resources/updated" and \
                (m.get("params") or {}).get("uri") == WATCHED
            found = stream.wait(updated)
            time.sleep(SETTLE_S)
            report(label, f"{what}: notifications/resources/updated reaches the stream on A, once",
                   found is not None and stream.count(updated) == 1,
                   f"{stream.count(updated)} arrived; messages on the stream: {stream.messages}")
        finally:
            stream.close()
            send("DELETE", f"{a}/mcp", headers=named)


def resumed(label, nginx, instances):
    """g: a response stream cut on A, resumed on B with Last-Event-ID."""
    a, b, _ = instances
    named = start_session(label, "A", a, "g")
    if not named:
        return
    call = rpc(2, "tools/call", {"name": "test_tool_with_progress", "arguments": {}, "_meta": {"progressToken": "g"}})
    first = Stream("POST", f"{a}/mcp", call, named)
    try:
        progress = first.wait(is_method("notifications/progress"))
        cut = progress and first.event_id(progress)
        if not report(label, "g: tools/call test_tool_with_progress on A: a stream whose first progress has an id",
                      first.status == 200 and cut, f"status {first.status}, lines {first.lines}"):
            return
    finally:
        first.close()
    rest = Stream("GET", f"{b}/mcp", headers={**named, "Last-Event-ID": cut})
    try:
        answer = rest.wait(has_id(2))
        time.sleep(SETTLE_S)
        steps = [m["params"].get("progress") for m in rest.messages if m.get("method") == "notifications/progress"]
        report(label, f"g: GET on B with Last-Event-ID {cut}: the progress after it and the answer, each once",
               rest.status == 200 and text_of(answer) == "Tool with progress executed successfully"
               and rest.count(has_id(2)) == 1 and steps == [50, 100],
               f"status {rest.status}, progress {steps}, the stream {'ended' if rest.ended else 'still open'}; "
               f"messages {rest.messages}")
    finally:
        rest.close()
        send("DELETE", f"{a}/mcp", headers=named)


def listeners(label, nginx, instances):
    """d: a change published on B reaches listen streams on A, B and C."""
    streams = []
    try:
        for where, url in zip("ABC", instances):
            message, headers = modern(f"listen-{where}", "subscriptions/listen",
                                      {"notifications": {"toolsListChanged": True}})
            stream = Stream("POST", f"{url}/mcp", message, headers)
            ack = stream.wait(is_method("notifications/subscriptions/acknowledged"))
            report(label, f"d: subscriptions/listen on {where}: acknowledged", stream.status == 200 and ack,
                   f"status {stream.status}, messages {stream.messages}")
            streams.append((where, stream))
        message, headers = modern(1, "tools/call", {"name": "test_trigger_tool_change", "arguments": {}},
                                  name="test_trigger_tool_change")
        reply = post(f"{instances[1]}/mcp", message, headers)
        report(label, "d: tools/call test_trigger_tool_change on B (2026-07-28): 200",
               reply.status == 200 and "result" in (reply.answer(1) or {}), repr(reply))
        changed = is_method("notifications/tools/list_changed")
        for where, stream in streams:
            stream.wait(changed)
        time.sleep(SETTLE_S)
        for where, stream in streams:
            report(label, f"d: notifications/tools/list_changed reaches the listener on {where}, once",
                   stream.count(changed) == 1,
                   f"{stream.count(changed)} arrived; messages on the stream: {stream.messages}")
    finally:
        for _, stream in streams:
            stream.close()


def sealed(label, nginx, instances):
    """f: an input_required round begun on A, finished on B."""
    a, b, _ = instances
    tool = "test_input_required_result_elicitation"
    capabilities = {"elicitation": {}}
    message, headers = modern(1, "tools/call", {"name": tool, "arguments": {}}, name=tool, capabilities=capabilities)
    reply = post(f"{a}/mcp", message, headers)
    result = (reply.answer(1) or {}).get("result") or {}
    state = result.get("requestState")
    if not report(label, f"f: tools/call {tool} on A: input_required with a requestState",
                  result.get("resultType") == "input_required" and state
                  and "user_name" in (result.get("inputRequests") or {}), repr(reply)):
        return
    params = {"name": tool, "arguments": {}, "requestState": state,
              "inputResponses": {"user_name": {"action": "accept", "content": {"name": "Ada"}}}}
    message, headers = modern(2, "tools/call", params, name=tool, capabilities=capabilities)
    reply = post(f"{b}/mcp", message, headers)
    report(label, "f: the same call on B with the requestState from A and the answer: completed",
           reply.status == 200 and text_of(reply.answer(2)) == "Hello, Ada!", repr(reply))


def flows(label, nginx, instances):
    def run(flow):
        try:
            flow(f"{label} {flow.__name__}", nginx, instances)
        except Exception as error:  # a broken server or proxy: one failure, go on
            report(f"{label} {flow.__name__}", f"the {flow.__name__} flow completes", False, repr(error))

    names = [round_robin, legacy, streamable, standalone, resumed, listeners, sealed]
    threads = [threading.Thread(target=run, args=(flow,)) for flow in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [line for flow in names for line in RESULTS.get(f"{label} {flow.__name__}", [])]


# ---------------------------------------------------------------------------------------------
# outage

START = time.time()


class Exchange:
    """One request of the load and how it went."""

    def __init__(self, step, minted_by=None):
        self.step = step
        self.minted_by = minted_by  # the Exchange that minted the session it names (None: none)
        self.start = time.time()
        self.end = None
        self.status = None
        self.retry_after = None
        self.upstream = None  # the instance that answered (nginx's X-Upstream)
        self.body = ""
        self.error = None
        self.good = False  # the answer a healthy cluster gives

    def finish(self, reply=None, error=None, good=False):
        self.end = time.time()
        if reply is not None:
            self.status, self.retry_after = reply.status, reply.headers.get("Retry-After")
            self.upstream, self.body = reply.headers.get("X-Upstream"), reply.text
        self.error = error
        self.good = good

    def __repr__(self):
        what = self.error or f"{self.status}{' Retry-After ' + self.retry_after if self.retry_after else ''}"
        if self.body and not self.good:
            what += f" {self.body[:120]!r}"
        took = f"{self.end - self.start:.2f}s" if self.end else "no answer"
        where = f" on {self.upstream}" if self.upstream else ""
        minted = self.minted_by
        session = f" (its session minted{' on ' + minted.upstream if minted.upstream else ''} at " \
                  f"+{minted.start - START:.2f}s in {minted.end - minted.start:.2f}s)" if minted else ""
        return f"{self.step} at +{self.start - START:.2f}s{where}{session}: {what} after {took}"


class Load:
    """Clients through nginx, each in a loop until `stop`: Streamable HTTP sessions (initialize,
    notifications/initialized, tools/call, DELETE) and 2024-11-05 sessions (a stream, then POSTs
    of tools/call whose answers must each arrive on it once)."""

    def __init__(self, nginx):
        self.nginx = nginx
        self.log = []  # every Exchange, in order of sending
        self.legacy = []  # (stream, ids accepted with 202) per 2024-11-05 session
        self.stop = threading.Event()

    def request(self, step, method, path, message=None, headers=None, good=lambda r: r.status == 200,
                minted_by=None):
        exchange = Exchange(step, minted_by)
        self.log.append(exchange)
        try:
            reply = send(method, f"{self.nginx}{path}", message, headers, REQUEST_TIMEOUT_S)
        except Exception as error:  # a reset, a timeout: judged later
            exchange.finish(error=repr(error))
            return exchange, None
        exchange.finish(reply, good=bool(good(reply)))
        return exchange, reply

    def streamable(self, number):
        while not self.stop.is_set():
            number += LOAD_THREADS
            text = f"load {number}"
            exchange, reply = self.request("initialize", "POST", "/mcp", initialize(1, "2025-11-25"),
                                           good=lambda r: r.status == 200 and r.headers.get("Mcp-Session-Id"))
            if exchange.good:
                named, minted_by = session_headers(reply.headers["Mcp-Session-Id"]), exchange
                steps = [
                    ("notifications/initialized", "POST", rpc(None, "notifications/initialized"),
                     lambda r: r.status == 202),
                    ("tools/call", "POST", echo_call(2, text), lambda r: r.status == 200 and text_of(r.answer(2)) == text),
                    ("DELETE", "DELETE", None, lambda r: r.status in (200, 204)),
                ]
                for step, method, message, good in steps:
                    exchange, _ = self.request(step, method, "/mcp", message, named, good, minted_by)
                    if not exchange.good:
                        break
            time.sleep(0.02 if exchange.good else 0.1)

    def sse(self):
        id = 0
        while not self.stop.is_set():
            exchange = Exchange("GET /sse")
            self.log.append(exchange)
            try:
                stream = Stream("GET", f"{self.nginx}/sse", timeout=REQUEST_TIMEOUT_S)
            except Exception as error:
                exchange.finish(error=repr(error))
                time.sleep(0.1)
                continue
            line = None
            if stream.status == 200:
                line = stream.wait_line(lambda line: line.startswith("data:"), REQUEST_TIMEOUT_S)
            exchange.finish(Reply(stream.status, stream.response.headers, ""), good=line is not None)
            if line is None:
                stream.close()
                time.sleep(0.1)
                continue
            endpoint, minted_by, accepted = line[5:].strip(), exchange, []
            self.legacy.append((stream, accepted))
            while not self.stop.is_set() and not stream.ended:
                id += 1
                message = initialize(id, "2024-11-05") if not accepted else echo_call(id, f"sse {id}")
                exchange, _ = self.request("2024-11-05 POST", "POST", endpoint, message,
                                           good=lambda r: r.status == 202, minted_by=minted_by)
                if exchange.good:
                    accepted.append(id)
                elif exchange.status == 404:
                    break  # the session is gone: a new one
                time.sleep(0.05 if exchange.good else 0.1)
            # The answers still on their way get a moment.
            stream.wait(lambda _: all(stream.count(has_id(id)) for id in accepted), within=1.0)
            stream.close()

    def run_until(self, timeline):
        threads = [threading.Thread(target=self.streamable, args=(i,), daemon=True) for i in range(LOAD_THREADS)]
        threads.append(threading.Thread(target=self.sse, daemon=True))
        for thread in threads:
            thread.start()
        deadline = time.time() + 120
        while "end" not in read_timeline(timeline) and time.time() < deadline:
            time.sleep(0.1)
        self.stop.set()
        for thread in threads:
            thread.join(REQUEST_TIMEOUT_S + 5)


def read_timeline(path):
    """The events the run script wrote: name -> epoch seconds."""
    events = {}
    try:
        with open(path) as file:
            for line in file:
                parts = line.split()
                if len(parts) == 2:
                    events[parts[0]] = float(parts[1])
    except FileNotFoundError:
        pass
    return events


def outage(label, nginx, timeline):
    load = Load(nginx)
    load.run_until(timeline)
    events = read_timeline(timeline)
    lines = []

    def out(what, ok, why=""):
        lines.append(f"ok - [{label}] {what}" if ok else f"not ok - [{label}] {what}: {why}")

    missing = [e for e in ("pause", "resume", "down", "up", "end") if e not in events]
    if missing:
        out("e: the run script recorded the outage", False, f"events missing from {timeline}: {missing}")
        return lines
    lines.append("# timeline: " + ", ".join(f"{name} +{at - START:.2f}s" for name, at in events.items()))
    unfinished = [e for e in load.log if e.end is None]
    out("e: every request of the load was answered or failed (none still waiting at the end)", not unfinished,
        f"{len(unfinished)} still waiting, e.g. {unfinished[:3]}")
    done = [e for e in load.log if e.end is not None]
    windows = [("paused (SIGSTOP)", events["pause"], events["resume"]),
               ("down (stopped, then started empty)", events["down"], events["up"])]

    def during(exchange, start, end):
        return exchange.start < end + RECOVERY_S and exchange.end > start

    calm = [e for e in done if not any(during(e, start, end) for _, start, end in windows)]
    before = [e for e in calm if e.end < events["pause"]]
    failed = [e for e in before if not e.good]
    out(f"e: before the outage every request succeeded ({len(before)} requests)",
        len(before) >= 8 and not failed, f"{len(before)} requests, failed: {failed[:5]}")
    for name, start, end in windows:
        inside = [e for e in done if during(e, start, end)]
        wrong = []
        for e in inside:
            if e.good or (e.error is None and e.status == 503 and e.retry_after):
                continue
            # A session minted before Redis came back empty is gone: 404 is its right answer.
            if name.startswith("down") and e.status == 404 and e.minted_by and e.minted_by.end < end:
                continue
            wrong.append(e)
        out(f"e: Redis {name} for {end - start:.1f} s: every answer a success or 503 with Retry-After, "
            f"within {REQUEST_TIMEOUT_S:.0f} s, no reset ({len(inside)} requests)",
            inside and not wrong, f"{len(wrong)} wrong, e.g. {wrong[:5]}")
        refused = [e for e in inside if e.status == 503 and e.retry_after]
        out(f"e: Redis {name}: the instances said so (503 + Retry-After)", refused,
            f"no 503 among {len(inside)} requests: the instances did not notice Redis was gone")
        after = end + RECOVERY_S
        upto = min([s for _, s, _ in windows if s > end] + [events["end"]])
        recovered = [e for e in calm if after <= e.start and e.end <= upto]
        failed = [e for e in recovered if not e.good]
        out(f"e: {RECOVERY_S:.0f} s after Redis was back, every request succeeds ({len(recovered)} requests)",
            len(recovered) >= 8 and not failed, f"{len(recovered)} requests, failed: {failed[:5]}")
    accepted = sum(len(ids) for _, ids in load.legacy)
    lost, twice = [], []
    for stream, ids in load.legacy:
        for id in ids:
            times = stream.count(has_id(id))
            if times == 0:
                lost.append(id)
            elif times > 1:
                twice.append(id)
    out(f"e: every 2024-11-05 POST accepted (202) was answered on its stream once "
        f"({accepted} accepted on {len(load.legacy)} streams)",
        accepted >= 8 and not lost and not twice, f"lost: {lost[:10]}, twice or more: {twice[:10]}")
    return lines


def main():
    args = sys.argv[1:]
    if len(args) == 6 and args[0] == "flows":
        lines = flows(args[1], args[2].rstrip("/"), [url.rstrip("/") for url in args[3:]])
    elif len(args) == 4 and args[0] == "outage":
        lines = outage(args[1], args[2].rstrip("/"), args[3])
    else:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    print("\n".join(lines))
    failed = sum(line.startswith("not ok") for line in lines)
    print(f"# cluster checks: {len(lines) - failed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
