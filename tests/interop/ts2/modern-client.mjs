#!/usr/bin/env node
// Interop check: the official MCP TypeScript SDK v2 client (@modelcontextprotocol/client 2.4.0) speaking the
// 2026-07-28 sessionless revision of Streamable HTTP against an mcp-sse server's MCP endpoint.
//
// Usage: node modern-client.mjs [URL]   (URL defaults to $MCP_URL, e.g. http://127.0.0.1:8080/mcp)
// Env:   MCP_TIMEOUT_MS  global deadline for the whole run (default 20000)
//        MCP_WIRE=1      print the HTTP flow of every check (by default only for failed checks)
//
// Needs the tools `echo` {text} and those ../harness.mjs names by role: a progress tool (progress 0/50/100
// of 100, then a result; default `test_tool_with_progress`) and a change tool (publishes
// notifications/tools/list_changed to open listen streams; default `test_trigger_tool_change`; an empty
// MCP_CHANGE_TOOL skips the listen checks).
// Prints `ok - <check>` / `not ok - <check>: <why>` per check, `# …` diagnostic lines (the HTTP flow as
// seen by the SDK's fetch), and ends with `ts-modern: N passed, M failed`. Exits 0 only when every check
// passed.
//
// How the v2 client speaks 2026-07-28 (read from dist/public-*.mjs and dist/index.mjs):
//   - Opt-in: `new Client(info, { versionNegotiation: { mode: { pin: '2026-07-28' } } })`. The default mode
//     is 'legacy' (plain initialize). With the pin, connect() sends one `server/discover` probe and fails
//     loudly unless `supportedVersions` offers 2026-07-28; there is no initialize and no session.
//   - Every request body carries `params._meta` with `io.modelcontextprotocol/protocolVersion`,
//     `io.modelcontextprotocol/clientInfo` and `io.modelcontextprotocol/clientCapabilities`.
//   - Every request POST carries `mcp-protocol-version: 2026-07-28` and `mcp-method: <method>` (taken from
//     the body) and, for tools/call / prompts/get / resources/read, `mcp-name`; `accept: application/json,
//     text/event-stream`. No GET stream is opened, no DELETE is sent.
//   - `client.listen(filter)` POSTs `subscriptions/listen` (id `"listen:N"`, a string) and resolves on the
//     `notifications/subscriptions/acknowledged` event whose `_meta["io.modelcontextprotocol/subscriptionId"]`
//     equals that id. Change notifications on the stream go to setNotificationHandler handlers.
//   - `subscription.close()` aborts the listen POST's response stream AND POSTs a `notifications/cancelled`
//     {requestId: "listen:N"} (a notification: `mcp-protocol-version` header, no `mcp-method`); a failure
//     of that POST is ignored by the SDK.
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';

import {
  GLOBAL_TIMEOUT_MS, T0, addWireEntry, assert, assertEq, assertTextResult, checkRunner, configure, diag, fetchLogged,
  headerOf, nextWireSeq, notOk, parseBody, printWire, recordTransportErrors, rpcSummary, runMain, skip, sleep, sseTap,
  tools, url, wire, withTimeout,
} from '../harness.mjs';

configure({ label: 'ts-modern', diagLimit: 500 });
const V26 = '2026-07-28';
const PV_KEY = 'io.modelcontextprotocol/protocolVersion';
const CAPS_KEY = 'io.modelcontextprotocol/clientCapabilities';
const SERVER_INFO_KEY = 'io.modelcontextprotocol/serverInfo';
const SUB_KEY = 'io.modelcontextprotocol/subscriptionId';

const REQUEST_TIMEOUT_MS = Math.min(5000, Math.floor(GLOBAL_TIMEOUT_MS * 0.25)); // per request / check

// ---------------------------------------------------------------------------------------------
// Wire log: every request the SDK makes goes through `loggingFetch`, which records the request
// headers that matter, the body's `_meta` keys, the status and the response headers, and each SSE
// event of the response body (parsed, so the checks can look at `_meta`).
// ---------------------------------------------------------------------------------------------

function metaSummary(meta) {
  if (!meta || typeof meta !== 'object') return '';
  const parts = [];
  for (const [k, v] of Object.entries(meta)) {
    const short = k.replace('io.modelcontextprotocol/', 'mcp/');
    if (typeof v === 'string' || typeof v === 'number') parts.push(`${short}=${JSON.stringify(v)}`);
    else parts.push(`${short}=${JSON.stringify(v).slice(0, 60)}`);
  }
  return `_meta{${parts.join(', ')}}`;
}

function messageSummary(m) {
  if (!m || typeof m !== 'object') return 'unparsable';
  if (m.method === 'notifications/progress') {
    return `progress ${m.params?.progress}/${m.params?.total} ${metaSummary(m.params?._meta)}`.trim();
  }
  if (m.method) return `${m.method} ${metaSummary(m.params?._meta)}`.trim();
  if (m.error) return `error#${m.id} ${m.error.code} ${JSON.stringify(m.error.message ?? '').slice(0, 80)}`;
  return `result#${m.id} resultType=${JSON.stringify(m.result?.resultType)} ${metaSummary(m.result?._meta)}`.trim();
}

async function loggingFetch(input, init = {}) {
  const method = (init.method || 'GET').toUpperCase();
  const body = method === 'POST' ? parseBody(init.body) : undefined;
  const entry = addWireEntry({
    method,
    body,
    rpc: method === 'POST' ? rpcSummary(body) : '',
    accept: headerOf(init, 'accept'),
    pv: headerOf(init, 'mcp-protocol-version'),
    mcpMethod: headerOf(init, 'mcp-method'),
    mcpName: headerOf(init, 'mcp-name'),
    session: headerOf(init, 'mcp-session-id'),
    lastEventId: headerOf(init, 'last-event-id'),
    status: undefined,
    ctype: undefined,
    respSession: undefined,
    xAccel: undefined,
    events: [],
    comments: 0,
    jsonBody: undefined,
    end: undefined,
  });
  init.signal?.addEventListener('abort', () => {
    if (!entry.end) {
      entry.endT = Date.now() - T0;
      entry.end = `+${entry.endT}ms aborted by the client`;
    }
  });
  const response = await fetchLogged(entry, input, init);
  entry.xAccel = response.headers.get('x-accel-buffering') ?? undefined;
  if (!response.body) return response;
  if ((entry.ctype || '').startsWith('text/event-stream')) {
    const tapped = response.body.pipeThrough(sseTap({
      onEvent: (ev) => {
        const msg = ev.data ? parseBody(ev.data) : undefined;
        entry.events.push({ t: Date.now() - T0, id: ev.id, event: ev.event, retry: ev.retry, msg, raw: ev.data });
      },
      onComment: () => {
        entry.comments++;
      },
      onEnd: () => {
        if (!entry.end) entry.end = `+${Date.now() - T0}ms closed by server`;
      },
    }));
    return new Response(tapped, { status: response.status, statusText: response.statusText, headers: response.headers });
  }
  // JSON (or anything else): read it here so the log has it, hand the SDK an identical body.
  const text = await response.text();
  entry.jsonBody = parseBody(text);
  entry.end = entry.jsonBody ? `body: ${messageSummary(entry.jsonBody)}` : `body: ${JSON.stringify(text.slice(0, 120))}`;
  return new Response(text, { status: response.status, statusText: response.statusText, headers: response.headers });
}

function fmtEntry(e) {
  const h = [];
  if (e.accept) h.push(`accept="${e.accept}"`);
  if (e.pv) h.push(`mcp-protocol-version=${e.pv}`);
  if (e.mcpMethod) h.push(`mcp-method=${e.mcpMethod}`);
  if (e.mcpName) h.push(`mcp-name=${e.mcpName}`);
  if (e.session) h.push(`mcp-session-id=${e.session}`);
  if (e.lastEventId) h.push(`last-event-id=${e.lastEventId}`);
  const meta = e.body?.params?._meta ? ` ${metaSummary(e.body.params._meta)}` : '';
  const resp = [];
  if (e.respSession) resp.push(`mcp-session-id=${e.respSession}`);
  if (e.xAccel) resp.push(`x-accel-buffering=${e.xAccel}`);
  const status = e.status === undefined ? 'no response' : `${e.status} ${e.ctype ?? ''}`.trim();
  const lines = [`+${e.t}ms ${e.method}${e.rpc ? ` ${e.rpc}` : ''} [${h.join(' ')}]${meta} -> ${status}${resp.length ? ` [${resp.join(' ')}]` : ''}`];
  for (const ev of e.events) {
    const f = [];
    if (ev.id !== undefined) f.push(`id=${ev.id}`);
    if (ev.event !== undefined) f.push(`event=${ev.event}`);
    if (ev.retry !== undefined) f.push(`retry=${ev.retry}`);
    lines.push(`    +${ev.t}ms event: ${f.length ? `${f.join(' ')} ` : ''}${ev.msg ? messageSummary(ev.msg) : JSON.stringify((ev.raw ?? '').slice(0, 60))}`);
  }
  if (e.comments) lines.push(`    ${e.comments} comment line(s)`);
  if (e.end) lines.push(`    ${e.end}`);
  return lines;
}

// The request POST for an rpc (method, optional tool name) among entries since `from`.
function findPost(from, method, name) {
  return wire.find(
    (e) => e.n >= from && e.method === 'POST' && e.body?.method === method && (name === undefined || e.body?.params?.name === name),
  );
}

// Header/envelope checks every 2026-07-28 request POST must pass (client side, so a failure here means
// the SDK changed; it is reported separately from server behaviour).
function assertModernRequestPost(e, name) {
  assert(e, 'request POST not found in the wire log');
  assertEq(e.pv, V26, `${e.rpc}: mcp-protocol-version header`);
  assertEq(e.mcpMethod, e.body.method, `${e.rpc}: mcp-method header`);
  if (name !== undefined) assertEq(e.mcpName, name, `${e.rpc}: mcp-name header`);
  assertEq(e.body.params?._meta?.[PV_KEY], V26, `${e.rpc}: _meta protocolVersion`);
  assert(e.body.params?._meta?.[CAPS_KEY] !== undefined, `${e.rpc}: _meta clientCapabilities missing`);
  assertEq(e.session, undefined, `${e.rpc}: mcp-session-id header`);
}

// Server-side: a sessionless server never mints a session id (S3.35).
function assertNoSessionMinted(e) {
  assertEq(e.respSession, undefined, `${e.rpc}: response mcp-session-id header (a 2026-07-28 server must not mint sessions)`);
}

// ---------------------------------------------------------------------------------------------

const clientInfo = { name: 'mcp-sse-interop-ts-modern', version: '0.0.0' };
const runCheck = checkRunner(fmtEntry, { timeoutMs: 2 * REQUEST_TIMEOUT_MS, sinceStart: true });

async function main() {
  const reqOpts = { timeout: REQUEST_TIMEOUT_MS };
  const client = new Client(clientInfo, {
    capabilities: {},
    versionNegotiation: { mode: { pin: V26 }, probe: { timeoutMs: REQUEST_TIMEOUT_MS } },
  });
  const transport = new StreamableHTTPClientTransport(new URL(url), { fetch: loggingFetch });
  client.onerror = recordTransportErrors();
  const listChanged = [];
  let onListChanged;
  client.setNotificationHandler('notifications/tools/list_changed', (n) => {
    listChanged.push({ t: Date.now() - T0, n });
    onListChanged?.();
  });

  let connected = false;
  const C_CONNECT = `connect pinned to ${V26} (server/discover probe, no initialize)`;
  const C_DISCOVER = 'server/discover: supportedVersions contains 2026-07-28';
  const listed = ['echo', tools.progress, tools.change].filter(Boolean);
  const C_LIST = `tools/list contains ${listed.join(', ')}`;
  const C_ECHO = 'tools/call echo';
  const C_PROGRESS = `tools/call ${tools.progress} (3 progress notifications, then result)`;
  const C_LISTEN = 'subscriptions/listen {toolsListChanged} acknowledged first, with subscriptionId';
  const C_CHANGED = `${tools.change}: notifications/tools/list_changed on the listen stream, with subscriptionId`;
  const C_CLOSE = 'close the listen stream and the client (no session ids minted, no GET/DELETE)';

  // (1) connect: the pinned mode sends exactly one server/discover probe.
  await runCheck(C_CONNECT, async () => {
    await withTimeout(client.connect(transport, reqOpts), REQUEST_TIMEOUT_MS, 'connect');
    connected = true;
    const posts = wire.filter((e) => e.method === 'POST');
    assert(posts.length >= 1, 'no POST was sent');
    assertEq(posts[0].body?.method, 'server/discover', 'first POST method');
    assert(!posts.some((e) => e.body?.method === 'initialize'), 'an initialize request was sent');
    assertModernRequestPost(posts[0]);
    assertEq(posts[0].status, 200, 'server/discover status');
    assertNoSessionMinted(posts[0]);
    const d = client.getDiscoverResult();
    assert(d && Array.isArray(d.supportedVersions), `no DiscoverResult: ${JSON.stringify(d)}`);
    assert(d.supportedVersions.includes(V26), `supportedVersions ${JSON.stringify(d.supportedVersions)}`);
    const info = client.getServerVersion();
    return `server ${info?.name ?? '(no serverInfo)'} ${info?.version ?? ''}, supportedVersions ${JSON.stringify(d.supportedVersions)}`;
  });

  const checks = [];
  // (2) an explicit server/discover call.
  checks.push([C_DISCOVER, async () => {
    const from = nextWireSeq();
    const d = await client.discover(reqOpts);
    assert(Array.isArray(d?.supportedVersions), `supportedVersions missing: ${JSON.stringify(d)}`);
    assert(d.supportedVersions.includes(V26), `supportedVersions ${JSON.stringify(d.supportedVersions)}`);
    assert(d.capabilities && d.capabilities.tools, `capabilities lack tools: ${JSON.stringify(d.capabilities)}`);
    const post = findPost(from, 'server/discover');
    assertModernRequestPost(post);
    assertEq(post.status, 200, 'status');
    assertNoSessionMinted(post);
    const raw = post.jsonBody ?? post.events.map((ev) => ev.msg).find((m) => m && m.id !== undefined && !m.method);
    assert(raw && raw.result, `no result on the wire: ${JSON.stringify(raw)}`);
    assertEq(raw.result.resultType, 'complete', 'result.resultType');
    const si = raw.result._meta?.[SERVER_INFO_KEY];
    if (!si) diag(`  note: discover result has no _meta["${SERVER_INFO_KEY}"] (SHOULD, S3.30)`);
    return `${post.ctype}, ttlMs=${JSON.stringify(d.ttlMs)}, cacheScope=${JSON.stringify(d.cacheScope)}`;
  }]);

  checks.push([C_LIST, async () => {
    const from = nextWireSeq();
    const r = await client.listTools(undefined, { ...reqOpts, cacheMode: 'refresh' });
    const names = (r.tools || []).map((t) => t.name);
    for (const n of listed) {
      assert(names.includes(n), `${n} missing; tools were ${JSON.stringify(names)}`);
    }
    const post = findPost(from, 'tools/list');
    assertModernRequestPost(post);
    assertNoSessionMinted(post);
  }]);

  checks.push([C_ECHO, async () => {
    const from = nextWireSeq();
    const text = 'hello from ts modern ✓\nline2';
    assertTextResult(await client.callTool({ name: 'echo', arguments: { text } }, reqOpts), text);
    const post = findPost(from, 'tools/call', 'echo');
    assertModernRequestPost(post, 'echo');
    assertEq(post.status, 200, 'status');
    assertNoSessionMinted(post);
    return `answered ${post.ctype}`;
  }]);

  checks.push([C_PROGRESS, async () => {
    const from = nextWireSeq();
    const events = [];
    const result = await client.callTool({ name: tools.progress, arguments: {} }, {
      ...reqOpts,
      onprogress: (p) => events.push({ kind: 'progress', progress: p.progress, total: p.total }),
    });
    events.push({ kind: 'result' });
    assertTextResult(result);
    await sleep(150); // anything arriving late would be out of order
    const progress = events.filter((e) => e.kind === 'progress');
    assertEq(JSON.stringify(progress.map((p) => p.progress)), JSON.stringify([0, 50, 100]), 'progress values in order');
    for (const p of progress) assertEq(p.total, 100, 'progress total');
    assertEq(events.map((e) => e.kind).join(','), 'progress,progress,progress,result', 'event order');
    const post = findPost(from, 'tools/call', tools.progress);
    assertModernRequestPost(post, tools.progress);
    assert(post.body.params._meta.progressToken !== undefined, 'request had no _meta.progressToken');
    assert((post.ctype || '').startsWith('text/event-stream'), `answered ${post.status} ${post.ctype}, not an SSE stream`);
    const onWire = post.events.filter((ev) => ev.msg?.method === 'notifications/progress');
    assertEq(onWire.length, 3, 'progress events on the response stream');
    for (const ev of onWire) assertEq(ev.msg.params.progressToken, post.body.params._meta.progressToken, 'progressToken');
    const last = post.events.filter((ev) => ev.msg).pop();
    assert(last && last.msg.id !== undefined && !last.msg.method, 'the last event on the stream is not the response');
    assertNoSessionMinted(post);
    if (post.xAccel !== 'no') diag('  note: SSE response without `X-Accel-Buffering: no` (SHOULD, S3.11)');
  }]);

  for (const [name, fn] of checks) {
    if (!connected) notOk(name, 'not connected');
    else await runCheck(name, fn);
  }

  // (6) subscriptions/listen: resolves on the acknowledgement.
  let sub;
  let listenEntry;
  if (!tools.change) skip('subscriptions/listen and list changes', 'no MCP_CHANGE_TOOL');
  else if (!connected) notOk(C_LISTEN, 'not connected');
  else {
    await runCheck(C_LISTEN, async () => {
      const from = nextWireSeq();
      sub = await client.listen({ toolsListChanged: true }, reqOpts);
      listenEntry = findPost(from, 'subscriptions/listen');
      assertModernRequestPost(listenEntry);
      assertEq(JSON.stringify(listenEntry.body.params.notifications), JSON.stringify({ toolsListChanged: true }), 'request filter');
      assertEq(listenEntry.status, 200, 'status');
      assert((listenEntry.ctype || '').startsWith('text/event-stream'), `answered ${listenEntry.ctype}, not an SSE stream`);
      assertNoSessionMinted(listenEntry);
      const first = listenEntry.events.find((ev) => ev.msg);
      assert(first, 'no event on the listen stream');
      assertEq(first.msg.method, 'notifications/subscriptions/acknowledged', 'first event');
      assertEq(first.msg.params?._meta?.[SUB_KEY], listenEntry.body.id, `acknowledgement _meta["${SUB_KEY}"]`);
      assertEq(sub.honoredFilter?.toolsListChanged, true, 'honoredFilter.toolsListChanged');
      if (listenEntry.xAccel !== 'no') diag('  note: listen stream without `X-Accel-Buffering: no` (SHOULD, S3.11)');
      return `subscriptionId ${JSON.stringify(listenEntry.body.id)}, honored ${JSON.stringify(sub.honoredFilter)}`;
    });
  }

  // (7) trigger a tools change; the notification must arrive on the listen stream, tagged.
  if (tools.change && !sub) notOk(C_CHANGED, 'no open subscription');
  else if (sub) {
    await runCheck(C_CHANGED, async () => {
      const from = nextWireSeq();
      const before = listChanged.length;
      const arrived = new Promise((resolve) => {
        onListChanged = () => resolve();
        if (listChanged.length > before) resolve();
      });
      const result = await client.callTool({ name: tools.change, arguments: {} }, reqOpts);
      assert(result && result.isError !== true, `tool failed: ${JSON.stringify(result)}`);
      await withTimeout(arrived, REQUEST_TIMEOUT_MS, 'notifications/tools/list_changed');
      await sleep(100);
      const post = findPost(from, 'tools/call', tools.change);
      assertModernRequestPost(post, tools.change);
      const onCall = post.events.filter((ev) => ev.msg?.method === 'notifications/tools/list_changed');
      assertEq(onCall.length, 0, 'list_changed events on the tools/call response stream');
      const onListen = listenEntry.events.filter((ev) => ev.msg?.method === 'notifications/tools/list_changed');
      assert(onListen.length >= 1, 'list_changed reached the SDK but not on the listen stream');
      for (const ev of onListen) {
        assertEq(ev.msg.params?._meta?.[SUB_KEY], listenEntry.body.id, `list_changed _meta["${SUB_KEY}"]`);
      }
      const others = listenEntry.events.filter(
        (ev) => ev.msg && !['notifications/subscriptions/acknowledged', 'notifications/tools/list_changed'].includes(ev.msg.method),
      );
      assertEq(others.length, 0, `unrequested messages on the listen stream (${others.map((ev) => messageSummary(ev.msg)).join('; ')})`);
      return `${onListen.length} event(s), ${listChanged.length - before} delivered to the handler`;
    });
  }

  // (8) close: the listen stream is aborted (closing it is the cancellation) and the client closes.
  if (!connected) notOk(C_CLOSE, 'not connected');
  else {
    await runCheck(C_CLOSE, async () => {
      if (sub) {
        await withTimeout(sub.close(), REQUEST_TIMEOUT_MS, 'subscription.close()');
        assertEq(await withTimeout(sub.closed, REQUEST_TIMEOUT_MS, 'subscription.closed'), 'local', 'subscription.closed');
        await sleep(100);
        assert(listenEntry.end && listenEntry.end.includes('aborted by the client'), `listen stream: ${listenEntry.end ?? 'still open'}`);
        const cancel = wire.find((e) => e.body?.method === 'notifications/cancelled');
        if (cancel) diag(`  note: the SDK also POSTed notifications/cancelled {requestId: ${JSON.stringify(cancel.body.params?.requestId)}} -> ${cancel.status ?? 'no response'}`);
      }
      await withTimeout(client.close(), 2000, 'client.close()');
      const minted = wire.filter((e) => e.respSession !== undefined);
      assertEq(minted.length, 0, `responses carrying mcp-session-id (${minted.map((e) => e.rpc).join(', ')})`);
      const other = wire.filter((e) => e.method !== 'POST');
      assertEq(other.length, 0, `non-POST requests sent (${other.map((e) => e.method).join(', ')})`);
      return `${wire.length} HTTP requests, all POST`;
    });
  }
}

runMain(main, { onTimeout: () => printWire(fmtEntry, 1, 'flow so far') });
