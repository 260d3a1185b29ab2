// The harness the Node interop clients share (ts/sse-client.mjs, ts/streamable-client.mjs,
// ts2/modern-client.mjs), imported by a relative path. It imports no npm package: ts/ and ts2/ have
// separate node_modules, and this file belongs to neither.
//
// It owns the bookkeeping and the output: `ok - <check>` / `not ok - <check>: <why>` per check, `# …`
// diagnostic lines and the final `<label>: N passed, M failed` line (exit 0 only when every check passed
// and at least one did); the URL and deadline settings; the wire log's list, SSE tap and printing; and the
// check runner that prints the wire log of a failed check.
//
// Settings: argv[2] or $MCP_URL (the URL), $MCP_TIMEOUT_MS (global deadline, default 20000),
// $MCP_WIRE=1 (print the wire log of every check), and the tools the clients call (`tools` below).

export const url = process.argv[2] || process.env.MCP_URL;
export const GLOBAL_TIMEOUT_MS = Number(process.env.MCP_TIMEOUT_MS || 20000);
export const SHOW_WIRE = process.env.MCP_WIRE === '1';
export const T0 = Date.now();

// The tools the clients call besides `echo` {text}, by what they do; the defaults are the example
// server's (the conformance fixture). A server with other tools names its own, and an empty name skips
// the checks that need that tool (each skip is printed as a `#` line):
//   MCP_PROGRESS_TOOL   progress 0, 50 and 100 of 100 under the request's token, then a text result
//   MCP_RECONNECT_TOOL  closes its SSE stream after the priming event, then answers (2025-11-25 polling)
//   MCP_CHANGE_TOOL     announces notifications/tools/list_changed to subscriptions/listen streams
//   MCP_ELICIT_TOOL     called with {message}: asks the client by elicitation/create and answers with a
//                       text that contains what the client gave (default: none, skipped)
export const tools = {
  progress: process.env.MCP_PROGRESS_TOOL ?? 'test_tool_with_progress',
  reconnect: process.env.MCP_RECONNECT_TOOL ?? 'test_reconnection',
  change: process.env.MCP_CHANGE_TOOL ?? 'test_trigger_tool_change',
  elicit: process.env.MCP_ELICIT_TOOL ?? '',
};

// What the clients answer to an elicitation/create: accept, with every string field of the form set
// to ELICITED.
export const ELICITED = 'Ada Lovelace';
export function elicitAnswer(params) {
  const properties = params?.requestedSchema?.properties ?? {};
  const content = Object.fromEntries(
    Object.entries(properties).filter(([, p]) => p.type === 'string').map(([name]) => [name, ELICITED]),
  );
  return { action: 'accept', content };
}

const settings = { label: 'ts', whyLimit: Infinity, diagLimit: 400 };
let passed = 0;
let failed = 0;
let finished = false;

// `label` starts the final line; a `not ok` reason longer than `whyLimit` and a diagnostic line longer
// than `diagLimit` characters are cut, with a trailing `…`.
export function configure({ label, whyLimit = 600, diagLimit = 400 }) {
  Object.assign(settings, { label, whyLimit, diagLimit });
}

export function ok(what) {
  passed++;
  console.log(`ok - ${what}`);
}

export function notOk(what, why) {
  failed++;
  const text = String(why instanceof Error ? why.message : why).replace(/\s+/g, ' ');
  console.log(`not ok - ${what}: ${text.length > settings.whyLimit ? `${text.slice(0, settings.whyLimit)}…` : text}`);
}

// A check left out because the server offers no tool for it.
export function skip(what, why) {
  console.log(`# skip - ${what}: ${why}`);
}

export function diag(line) {
  const flat = String(line).replace(/\s*\n\s*/g, ' ');
  console.log(`# ${flat.length > settings.diagLimit ? `${flat.slice(0, settings.diagLimit)}…` : flat}`);
}

export function finish() {
  if (finished) return;
  finished = true;
  console.log(`${settings.label}: ${passed} passed, ${failed} failed`);
  process.exit(failed === 0 && passed > 0 ? 0 : 1);
}

// Runs the client's `main` under the global deadline (`onTimeout` runs before the final line when it
// fires), then prints the final line and exits. Without a URL, fails at once.
export function runMain(main, { onTimeout } = {}) {
  if (!url) {
    notOk('arguments', 'no URL given (pass it as $1 or set MCP_URL)');
    finish();
  }
  const deadline = setTimeout(() => {
    notOk('global timeout', `run did not finish within ${GLOBAL_TIMEOUT_MS} ms`);
    onTimeout?.();
    finish();
  }, GLOBAL_TIMEOUT_MS);
  main()
    .catch((e) => notOk('unexpected error', e))
    .finally(() => {
      clearTimeout(deadline);
      finish();
    });
}

export function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

export function assertEq(actual, expected, what) {
  if (actual !== expected) {
    throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
  }
}

export function assertTextResult(result, text) {
  if (!result || !Array.isArray(result.content)) {
    throw new Error(`result has no content array: ${JSON.stringify(result)}`);
  }
  if (result.isError === true) throw new Error(`isError is true: ${JSON.stringify(result)}`);
  assert(result.content.length >= 1, `empty content: ${JSON.stringify(result)}`);
  assertEq(result.content[0].type, 'text', 'content[0].type');
  if (text !== undefined) {
    assertEq(result.content.length, 1, 'content length');
    assertEq(result.content[0].text, text, 'content[0].text');
  } else {
    assert(typeof result.content[0].text === 'string' && result.content[0].text.length > 0, 'empty text');
  }
}

export function withTimeout(promise, ms, what) {
  let timer;
  const t = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, t]).finally(() => clearTimeout(timer));
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// Wire log: each client's fetch wrapper adds one entry per request with addWireEntry (`n` is its
// 1-based position, `t` ms since start; `events` each have a `t`) and formats entries with its own
// fmtEntry.
// ---------------------------------------------------------------------------------------------
export const wire = [];
export const transportErrors = [];

// The `n` the next wire entry gets: a check's part of the log starts there.
export function nextWireSeq() {
  return wire.length + 1;
}

export function addWireEntry(fields) {
  const entry = { n: wire.length + 1, t: Date.now() - T0, ...fields };
  wire.push(entry);
  return entry;
}

// fetch(input, init), recording the outcome in a wire entry: `end` when the request fails, else the
// status, the content type and the response's mcp-session-id.
export async function fetchLogged(entry, input, init) {
  let response;
  try {
    response = await fetch(input, init);
  } catch (e) {
    entry.end = `fetch failed: ${e?.message ?? e}`;
    throw e;
  }
  entry.status = response.status;
  entry.ctype = response.headers.get('content-type') ?? undefined;
  entry.respSession = response.headers.get('mcp-session-id') ?? undefined;
  return response;
}

export function parseBody(body) {
  if (typeof body !== 'string') return undefined;
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}

// `method#id name` of a parsed JSON-RPC message (`response#id` for a response).
export function rpcSummary(m) {
  if (!m || typeof m !== 'object') return '?';
  if (m.method) {
    const name = m.params?.name ? ` ${m.params.name}` : '';
    return `${m.method}${m.id !== undefined ? `#${m.id}` : ''}${name}`;
  }
  if (m.id !== undefined) return `response#${m.id}`;
  return '?';
}

export function headerOf(init, name) {
  const h = init?.headers;
  if (!h) return undefined;
  if (h instanceof Headers) return h.get(name) ?? undefined;
  for (const [k, v] of Object.entries(h)) if (k.toLowerCase() === name) return v;
  return undefined;
}

// WHATWG-style SSE tap (for logging/checks only; the SDK parses the stream itself): passes the body
// through, calling onEvent with each dispatched event's fields (data, id, retry, event), onComment per
// comment line and onEnd when the body ends.
export function sseTap({ onEvent, onComment, onEnd }) {
  let buf = '';
  let ev = {};
  const decoder = new TextDecoder();
  const line = (l) => {
    if (l === '') {
      if (Object.keys(ev).length) onEvent(ev);
      ev = {};
      return;
    }
    if (l.startsWith(':')) {
      onComment?.();
      return;
    }
    const i = l.indexOf(':');
    const field = i < 0 ? l : l.slice(0, i);
    let value = i < 0 ? '' : l.slice(i + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') ev.data = ev.data === undefined ? value : `${ev.data}\n${value}`;
    else if (field === 'id') ev.id = value;
    else if (field === 'retry') ev.retry = value;
    else if (field === 'event') ev.event = value;
  };
  return new TransformStream({
    transform(chunk, controller) {
      buf += decoder.decode(chunk, { stream: true });
      const lines = buf.split(/\r\n|\r|\n/);
      buf = lines.pop();
      for (const l of lines) line(l);
      controller.enqueue(chunk);
    },
    flush() {
      onEnd?.();
    },
  });
}

// Entries created since `fromSeq`, plus older ones (an open stream) that saw activity since `sinceT`.
export function printWire(fmtEntry, fromSeq, title, sinceT = Infinity) {
  const entries = wire.filter((e) => e.n >= fromSeq || e.events.some((ev) => ev.t >= sinceT) || (e.endT ?? -1) >= sinceT);
  if (!entries.length) return;
  diag(`wire (${title}):`);
  for (const e of entries) for (const l of fmtEntry(e)) diag(`  ${l}`);
}

// A Client.onerror that records transport errors (prefixed `tag: `) for the check runner to print;
// our own close() aborting open streams is not worth reporting.
export function recordTransportErrors(tag) {
  return (e) => {
    if (/AbortError|operation was aborted/.test(String(e?.message ?? e))) return;
    transportErrors.push(tag ? `${tag}: ${e?.message ?? e}` : String(e?.message ?? e));
  };
}

// A check runner: `runCheck(name, fn, { alwaysShowWire })` reports fn's outcome (`name (label)` with the
// label fn returns), prints the check's part of the wire log when it failed (or always with MCP_WIRE=1
// / alwaysShowWire) and the transport errors it saw, and returns whether it passed. `timeoutMs`: fail
// the check after that long. `sinceStart`: also print older entries that saw activity during the check.
export function checkRunner(fmtEntry, { timeoutMs, sinceStart = false } = {}) {
  return async (name, fn, { alwaysShowWire = false } = {}) => {
    const from = nextWireSeq();
    const startT = sinceStart ? Date.now() - T0 : Infinity;
    const errorsBefore = transportErrors.length;
    let good = false;
    try {
      const label = await (timeoutMs === undefined ? fn() : withTimeout(Promise.resolve().then(fn), timeoutMs, 'check'));
      ok(label ? `${name} (${label})` : name);
      good = true;
    } catch (e) {
      notOk(name, e);
    }
    if (alwaysShowWire || !good || SHOW_WIRE) printWire(fmtEntry, from, name, startT);
    for (const e of transportErrors.slice(errorsBefore)) diag(`  transport error: ${e}`);
    return good;
  };
}
