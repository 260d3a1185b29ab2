#!/usr/bin/env node
// Interop check: the official MCP TypeScript SDK client (StreamableHTTPClientTransport, Streamable HTTP
// with sessions, 2025-03-26 … 2025-11-25) against an mcp-sse server's MCP endpoint.
//
// Usage: node streamable-client.mjs [URL]   (URL defaults to $MCP_URL, e.g. http://127.0.0.1:8080/mcp)
// Env:   MCP_TIMEOUT_MS  global deadline for the whole run (default 20000)
//        MCP_WIRE=1      print the HTTP flow of every check (by default only for the resumption checks
//                        and for failed checks)
//
// Needs `echo` {text} and the tools ../harness.mjs names by role (the conformance fixture's by default:
// `test_tool_with_progress`, `test_reconnection`; MCP_ELICIT_TOOL adds an elicitation check).
// Prints `ok - <check>` / `not ok - <check>: <why>` per check, `# …` diagnostic lines (the HTTP flow as
// seen by the SDK's fetch), and ends with `ts-streamable: N passed, M failed`. Exits 0 only when every
// check passed.
//
// What SDK 1.32.2 does on the wire (dist/esm/client/streamableHttp.js):
//   - POST: `accept: application/json, text/event-stream`, `content-type: application/json`, plus
//     `mcp-session-id` and (after initialize) `mcp-protocol-version: <negotiated>`.
//   - After the 202 to notifications/initialized it opens the standalone GET stream
//     (`Accept: text/event-stream`); 405 is accepted silently.
//   - A POST's SSE stream that ends or errors before the response, after an event with an `id`, is resumed
//     with GET + `last-event-id: <last id seen>` after the server's `retry:` (else reconnectionOptions
//     delay). A 405 to that GET is swallowed (the request then only ends by its timeout); any other
//     non-2xx is retried up to maxRetries.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';

import {
  ELICITED, GLOBAL_TIMEOUT_MS, T0, addWireEntry, assert, assertEq, assertTextResult, checkRunner, configure,
  elicitAnswer, fetchLogged, headerOf, nextWireSeq, notOk, parseBody, printWire, recordTransportErrors,
  rpcSummary as messageRpcSummary, runMain, skip, sleep, sseTap, tools, url, wire, withTimeout,
} from '../harness.mjs';

configure({ label: 'ts-streamable' });
// Per request/check; the resumption checks wait the server's `retry:` (the SDK honours it) plus the replay.
const REQUEST_TIMEOUT_MS = Math.min(8000, Math.floor(GLOBAL_TIMEOUT_MS * 0.3));
// Used only when the server sends no `retry:` field (a server-sent retry always wins in the SDK).
const RECONNECTION_OPTIONS = {
  initialReconnectionDelay: 250,
  maxReconnectionDelay: 2000,
  reconnectionDelayGrowFactor: 1.5,
  maxRetries: 3,
};

// ---------------------------------------------------------------------------------------------
// Wire log: every request the SDK makes goes through `loggingFetch`, which records the request
// headers that matter, the status, and a summary of each SSE event of the response body.
// ---------------------------------------------------------------------------------------------

function rpcSummary(body) {
  if (typeof body !== 'string') return '';
  return messageRpcSummary(parseBody(body));
}

function eventSummary(ev) {
  const parts = [];
  if (ev.id !== undefined) parts.push(`id=${ev.id}`);
  if (ev.retry !== undefined) parts.push(`retry=${ev.retry}`);
  if (ev.event !== undefined) parts.push(`event=${ev.event}`);
  if (ev.data === undefined || ev.data === '') {
    parts.push(ev.data === undefined ? '(no data)' : 'data=""');
  } else {
    try {
      const m = JSON.parse(ev.data);
      if (m.method === 'notifications/progress') parts.push(`progress ${m.params?.progress}/${m.params?.total}`);
      else if (m.method) parts.push(m.method);
      else if (m.error) parts.push(`error#${m.id} ${m.error.code}`);
      else parts.push(`result#${m.id}`);
    } catch {
      parts.push(`data=${JSON.stringify(ev.data.slice(0, 40))}`);
    }
  }
  return parts.join(' ');
}

/**
 * Build a fetch for one transport. `tag` names the transport in the log. `cut`, when given, is
 * `{ armed, match(body), firstProgressSeen: Promise }`: the matching POST's SSE body is passed through
 * up to and including the first `notifications/progress` event, then the connection is cancelled and
 * the body errors, as a network cut would.
 */
function makeFetch(tag, cut) {
  return async (input, init = {}) => {
    const method = (init.method || 'GET').toUpperCase();
    const entry = addWireEntry({
      tag,
      method,
      rpc: method === 'POST' ? rpcSummary(init.body) : '',
      accept: headerOf(init, 'accept'),
      session: headerOf(init, 'mcp-session-id'),
      pv: headerOf(init, 'mcp-protocol-version'),
      lastEventId: headerOf(init, 'last-event-id'),
      status: undefined,
      ctype: undefined,
      events: [],
      end: undefined,
    });
    const response = await fetchLogged(entry, input, init);
    if (!response.body || !(entry.ctype || '').startsWith('text/event-stream')) return response;

    let body = response.body;
    if (cut && cut.armed && method === 'POST' && cut.match(init.body)) {
      cut.armed = false;
      entry.cut = true;
      body = cutAfterFirstProgress(body, entry, cut);
    }
    body = body.pipeThrough(sseTap({
      onEvent: (ev) => entry.events.push({ t: Date.now() - T0, s: eventSummary(ev) }),
      onEnd: () => {
        entry.end = `+${Date.now() - T0}ms closed by server`;
      },
    }));
    return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
  };
}

function cutAfterFirstProgress(upstream, entry, cut) {
  const reader = upstream.getReader();
  let pending = new Uint8Array(0);
  let cutDone = false;
  return new ReadableStream({
    async pull(controller) {
      if (cutDone) {
        // Let the SDK see the progress event before the error arrives (an error discards whatever is
        // still queued in its pipeline), then fail the body like a dropped TCP connection.
        await Promise.race([cut.firstProgressSeen, sleep(2000)]);
        entry.end = `+${Date.now() - T0}ms cut by the client after the first progress event`;
        cut.cutAt = Date.now() - T0;
        controller.error(new TypeError('interop: simulated network cut'));
        return;
      }
      const { value, done } = await reader.read();
      if (done) {
        entry.end = `+${Date.now() - T0}ms closed by server before the first progress event`;
        controller.close();
        return;
      }
      const merged = new Uint8Array(pending.length + value.length);
      merged.set(pending);
      merged.set(value, pending.length);
      // latin1 maps bytes 1:1 to chars, so string indexes are byte offsets.
      const text = Buffer.from(merged).toString('latin1');
      const at = text.indexOf('notifications/progress');
      if (at < 0) {
        // Forward whole events only; keep a possible partial event back.
        const lastBoundary = Math.max(text.lastIndexOf('\n\n'), text.lastIndexOf('\r\r'));
        const upto = lastBoundary < 0 ? 0 : lastBoundary + 2;
        if (upto > 0) controller.enqueue(merged.slice(0, upto));
        pending = merged.slice(upto);
        return;
      }
      const m = /\r\n\r\n|\n\n|\r\r/.exec(text.slice(at));
      if (!m) {
        pending = merged; // the progress event is not complete yet
        return;
      }
      const end = at + m.index + m[0].length;
      const eventText = text.slice(text.lastIndexOf('\n\n', at) + 1, end);
      const idLine = /(?:^|\n)id: ?([^\r\n]*)/.exec(eventText);
      cut.progressEventId = idLine ? idLine[1] : undefined;
      controller.enqueue(merged.slice(0, end));
      cutDone = true;
      reader.cancel().catch(() => {}); // drop the real connection: the server sees the client go away
    },
    cancel(reason) {
      return reader.cancel(reason).catch(() => {});
    },
  });
}

function fmtEntry(e) {
  const h = [];
  if (e.accept) h.push(`accept="${e.accept}"`);
  if (e.session) h.push(`session=${e.session.slice(0, 8)}…`);
  if (e.pv) h.push(`mcp-protocol-version=${e.pv}`);
  if (e.lastEventId) h.push(`last-event-id=${e.lastEventId}`);
  const status = e.status === undefined ? 'no response' : `${e.status} ${e.ctype ?? ''}`.trim();
  const lines = [`${e.tag} +${e.t}ms ${e.method}${e.rpc ? ` ${e.rpc}` : ''} [${h.join(' ')}] -> ${status}`];
  for (const ev of e.events) lines.push(`    +${ev.t}ms event: ${ev.s}`);
  if (e.end) lines.push(`    ${e.end}`);
  return lines;
}


// Tap the messages the transport hands to the Client (after the SDK's SSE parsing), to count
// duplicates that the Client itself would drop or only report through onerror.
function tapTransport(transport) {
  const seen = [];
  const orig = transport.onmessage;
  transport.onmessage = (msg, extra) => {
    seen.push(msg);
    orig?.(msg, extra);
  };
  return seen;
}

// ---------------------------------------------------------------------------------------------

const clientInfo = { name: 'mcp-sse-interop-ts-streamable', version: '0.0.0' };

// Elicitation requests the clients answered, in order.
const elicited = [];

function newClient(tag, cut) {
  const client = new Client(clientInfo, { capabilities: tools.elicit ? { elicitation: {} } : {} });
  // The SDK takes a handler only for a capability the client declares.
  if (tools.elicit) {
    client.setRequestHandler(ElicitRequestSchema, async (request) => {
      elicited.push(request.params);
      return elicitAnswer(request.params);
    });
  }
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    fetch: makeFetch(tag, cut),
    reconnectionOptions: RECONNECTION_OPTIONS,
  });
  client.onerror = recordTransportErrors(tag);
  return { client, transport };
}

const runCheck = checkRunner(fmtEntry);

function progressCall(client, name, events, extraOpts = {}) {
  return client.callTool({ name, arguments: {} }, undefined, {
    timeout: REQUEST_TIMEOUT_MS,
    onprogress: (p) => events.push({ kind: 'progress', progress: p.progress, total: p.total }),
    ...extraOpts,
  });
}

function checkProgressSequence(progress) {
  const values = progress.map((p) => p.progress);
  assertEq(JSON.stringify(values), JSON.stringify([0, 50, 100]), 'progress values in order');
  for (const p of progress) assertEq(p.total, 100, 'progress total');
}

async function main() {
  const reqOpts = { timeout: REQUEST_TIMEOUT_MS };
  const { client, transport } = newClient('A');
  let connected = false;
  let tap = [];

  // (1) initialize: connect() = POST initialize (session id comes back in mcp-session-id), POST
  // notifications/initialized (202), then the SDK opens its standalone GET stream.
  await runCheck('initialize', async () => {
    await withTimeout(client.connect(transport, reqOpts), REQUEST_TIMEOUT_MS, 'connect (initialize)');
    connected = true;
    tap = tapTransport(transport);
    const info = client.getServerVersion();
    assert(info && typeof info.name === 'string', `no serverInfo: ${JSON.stringify(info)}`);
    const caps = client.getServerCapabilities();
    assert(caps && caps.tools, `server capabilities lack tools: ${JSON.stringify(caps)}`);
    const sid = transport.sessionId;
    assert(typeof sid === 'string' && sid.length > 0, `transport.sessionId not set: ${JSON.stringify(sid)}`);
    assert(/^[\x21-\x7e]+$/.test(sid), `session id has chars outside 0x21-0x7E: ${JSON.stringify(sid)}`);
    return `server ${info.name} ${info.version ?? ''}, protocol ${transport.protocolVersion}, session ${sid.slice(0, 8)}…`;
  });

  const checks = [];
  checks.push(['tools/list contains echo', async () => {
    const r = await client.listTools(undefined, reqOpts);
    const names = (r.tools || []).map((t) => t.name);
    assert(names.includes('echo'), `tools were ${JSON.stringify(names)}`);
    // Every later request must carry the session id and the negotiated version.
    const last = wire.filter((e) => e.tag === 'A' && e.method === 'POST').pop();
    assertEq(last.session, transport.sessionId, 'mcp-session-id sent');
    assertEq(last.pv, transport.protocolVersion, 'mcp-protocol-version sent');
  }]);

  checks.push(['tools/call echo', async () => {
    const text = 'hello from ts streamable ✓\nline2';
    assertTextResult(await client.callTool({ name: 'echo', arguments: { text } }, undefined, reqOpts), text);
  }]);

  checks.push([`tools/call ${tools.progress} (3 progress notifications, then result)`, async () => {
    const events = [];
    const tapFrom = tap.length;
    const result = await progressCall(client, tools.progress, events);
    events.push({ kind: 'result' });
    assertTextResult(result);
    await sleep(150); // anything arriving late would be out of order
    const progress = events.filter((e) => e.kind === 'progress');
    checkProgressSequence(progress);
    assertEq(events.map((e) => e.kind).join(','), 'progress,progress,progress,result', 'event order');
    const delivered = tap.slice(tapFrom).filter((m) => m.method === 'notifications/progress');
    assertEq(delivered.length, 3, 'progress notifications delivered by the transport');
  }]);

  if (tools.elicit) {
    checks.push([`tools/call ${tools.elicit} (elicitation/create on the call's stream, answered by POST)`, async () => {
      const from = nextWireSeq();
      const before = elicited.length;
      const message = 'What is your name?';
      const result = await client.callTool({ name: tools.elicit, arguments: { message } }, undefined, reqOpts);
      assertEq(elicited.length - before, 1, 'elicitation requests the client handled');
      const text = (result.content || []).map((c) => c.text).join('\n');
      assert(result.isError !== true && text.includes(ELICITED), `result: ${JSON.stringify(result)}`);
      // The answer's POST may get its 202 just after the result arrived on the call's stream.
      const answer = wire.find((e) => e.n >= from && e.method === 'POST' && e.rpc.startsWith('response'));
      assert(answer, 'the answer was not POSTed');
      for (let i = 0; i < 100 && answer.status === undefined; i++) await sleep(10);
      assertEq(answer.status, 202, "the answer's POST status");
    }]);
  } else skip('elicitation', 'no MCP_ELICIT_TOOL');

  for (const [name, fn] of checks) {
    if (!connected) {
      notOk(name, 'not connected');
      continue;
    }
    await runCheck(name, fn);
  }

  // (5) resumption after a client-side network cut, on its own session (client B).
  await runCheck(`resumption after a network cut (${tools.progress} via GET + Last-Event-ID)`, async () => {
    let resolveFirst;
    const cut = {
      armed: false,
      match: (body) => rpcSummary(body).startsWith('tools/call#') && rpcSummary(body).endsWith(` ${tools.progress}`),
      firstProgressSeen: new Promise((r) => {
        resolveFirst = r;
      }),
    };
    const { client: cb, transport: tb } = newClient('B', cut);
    const from = nextWireSeq();
    await withTimeout(cb.connect(tb, reqOpts), REQUEST_TIMEOUT_MS, 'connect B (initialize)');
    try {
      const seen = tapTransport(tb);
      const events = [];
      const tokens = [];
      cut.armed = true;
      const result = await progressCall(cb, tools.progress, events, {
        onprogress: (p) => {
          events.push({ kind: 'progress', progress: p.progress, total: p.total });
          resolveFirst();
        },
        onresumptiontoken: (t) => tokens.push(t),
      });
      events.push({ kind: 'result' });
      await sleep(300); // a duplicated replay would show up here
      const mine = wire.filter((e) => e.n >= from);
      const post = mine.find((e) => e.cut);
      assert(post, 'the tools/call POST was not cut (no SSE response with a progress event?)');
      assert(post.end && post.end.includes('cut by the client'), `POST stream: ${post.end ?? 'still open'}`);
      const resumes = mine.filter((e) => e.method === 'GET' && e.lastEventId);
      assert(resumes.length >= 1, 'no GET with Last-Event-ID was sent after the cut');
      assert(resumes.some((e) => e.status === 200), `resumption GET answered ${resumes.map((e) => e.status).join(',')}`);
      if (cut.progressEventId !== undefined) {
        assertEq(resumes[0].lastEventId, cut.progressEventId, 'Last-Event-ID (id of the first progress event)');
      }
      assertTextResult(result);
      const progress = events.filter((e) => e.kind === 'progress');
      checkProgressSequence(progress);
      assertEq(events.map((e) => e.kind).join(','), 'progress,progress,progress,result', 'event order');
      const wireProgress = seen.filter((m) => m.method === 'notifications/progress').map((m) => m.params.progress);
      assertEq(JSON.stringify(wireProgress), JSON.stringify([0, 50, 100]), 'progress notifications delivered (each exactly once)');
      const responses = seen.filter((m) => m.method === undefined && m.id !== undefined);
      assertEq(responses.length, 1, 'responses delivered for the call (exactly once)');
      return `GET last-event-id=${resumes[0].lastEventId} -> ${resumes[0].status}, ${tokens.length} resumption tokens`;
    } finally {
      await withTimeout(tb.terminateSession(), 2000, 'terminate B').catch(() => {});
      await withTimeout(cb.close(), 2000, 'close B').catch(() => {});
    }
  }, { alwaysShowWire: true });

  // (6) server-initiated close: the reconnection tool ends the POST's SSE stream after the priming event;
  // the SDK resumes with GET + Last-Event-ID and gets the result replayed.
  const RECONNECT = `${tools.reconnect} (server closes the stream, client resumes)`;
  if (!tools.reconnect) skip('server-initiated close', 'no MCP_RECONNECT_TOOL');
  else if (!connected) notOk(RECONNECT, 'not connected');
  else {
    await runCheck(RECONNECT, async () => {
      const from = nextWireSeq();
      const tapFrom = tap.length;
      const result = await client.callTool({ name: tools.reconnect, arguments: {} }, undefined, reqOpts);
      assertTextResult(result);
      await sleep(150);
      const mine = wire.filter((e) => e.n >= from);
      const post = mine.find((e) => e.method === 'POST' && e.rpc.includes(tools.reconnect));
      assert(post && (post.ctype || '').startsWith('text/event-stream'), `POST answered ${post?.status} ${post?.ctype}`);
      const resumes = mine.filter((e) => e.method === 'GET' && e.lastEventId);
      assert(resumes.length >= 1, 'result arrived but no GET with Last-Event-ID was sent (server did not close the stream?)');
      const responses = tap.slice(tapFrom).filter((m) => m.method === undefined && m.id !== undefined);
      assertEq(responses.length, 1, 'responses delivered for the call (exactly once)');
      return `GET last-event-id=${resumes[0].lastEventId} -> ${resumes[0].status}`;
    }, { alwaysShowWire: true });
  }

  // (7) DELETE ends the session; the old session id then gets 404.
  if (!connected) notOk('terminateSession (DELETE), then old session id gets 404', 'not connected');
  else {
    await runCheck('terminateSession (DELETE), then old session id gets 404', async () => {
      const sid = transport.sessionId;
      const pv = transport.protocolVersion;
      const from = nextWireSeq();
      await withTimeout(transport.terminateSession(), REQUEST_TIMEOUT_MS, 'terminateSession');
      const del = wire.filter((e) => e.n >= from && e.method === 'DELETE').pop();
      assert(del, 'no DELETE was sent');
      assert(del.status >= 200 && del.status < 300, `DELETE answered ${del.status} (405 = server does not allow termination)`);
      assertEq(del.session, sid, 'DELETE mcp-session-id');
      assertEq(transport.sessionId, undefined, 'transport.sessionId after terminateSession');
      const probeFetch = makeFetch('raw');
      const r = await probeFetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'mcp-session-id': sid,
          'mcp-protocol-version': pv,
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 9001, method: 'tools/list', params: {} }),
      });
      const text = await r.text().catch(() => '');
      assertEq(r.status, 404, `POST with the terminated session id (body ${text.slice(0, 120)})`);
      return `DELETE -> ${del.status}, then POST -> 404`;
    });
  }

  await withTimeout(client.close(), 2000, 'close').catch((e) => notOk('close', e));
}

runMain(main, { onTimeout: () => printWire(fmtEntry, 1, 'flow so far') });
