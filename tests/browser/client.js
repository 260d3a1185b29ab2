// What a browser MCP client does, run inside the page (served from another origin than the
// server): plain EventSource and fetch, as a web app would use them. Each flow returns its
// checks as [{ ok, what, why }]; run.mjs prints them.
'use strict';

const WAIT_MS = 5000;
const INITIALIZE = {
  method: 'initialize',
  params: { capabilities: {}, clientInfo: { name: 'mcp-sse-browser-test', version: '0.0.0' } },
};

function recorder() {
  const checks = [];
  return {
    checks,
    check(what, ok, why = '') {
      checks.push({ ok: Boolean(ok), what, why: ok ? '' : why });
      return Boolean(ok);
    },
  };
}

function deadline(what, ms = WAIT_MS) {
  return new Promise((_, reject) => setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms));
}

function rpc(id, method, params) {
  return JSON.stringify({ jsonrpc: '2.0', ...(id === undefined ? {} : { id }), method, ...(params ? { params } : {}) });
}

// The 2024-11-05 transport: EventSource on /sse, its `endpoint` event, POSTs answered on the stream.
async function legacyFlow(base) {
  const { checks, check } = recorder();
  const source = new EventSource(`${base}/sse`);
  const answers = new Map();
  const waiting = new Map();
  source.addEventListener('message', (event) => {
    const message = JSON.parse(event.data);
    answers.set(message.id, message);
    waiting.get(message.id)?.(message);
  });
  const answer = (id) =>
    answers.has(id)
      ? Promise.resolve(answers.get(id))
      : Promise.race([new Promise((resolve) => waiting.set(id, resolve)), deadline(`answer ${id} on the stream`)]);
  try {
    const endpoint = await Promise.race([
      new Promise((resolve, reject) => {
        source.addEventListener('endpoint', (event) => resolve(event.data));
        source.addEventListener('error', () => reject(new Error(`EventSource error, readyState ${source.readyState}`)));
      }),
      deadline('endpoint event'),
    ]);
    check('EventSource on /sse receives the endpoint event', /^\/messages\?sessionId=[^&]+$/.test(endpoint), endpoint);
    const post = new URL(endpoint, base);
    const send = (body) =>
      fetch(post, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });

    const init = await send(rpc(1, INITIALIZE.method, { ...INITIALIZE.params, protocolVersion: '2024-11-05' }));
    check('POST initialize to the endpoint URI: 202 (after a CORS preflight)', init.status === 202, `status ${init.status}`);
    const initAnswer = await answer(1);
    check(
      'the initialize answer arrives on the stream',
      initAnswer.result?.protocolVersion === '2024-11-05' && initAnswer.result?.serverInfo?.name,
      JSON.stringify(initAnswer),
    );
    const initialized = await send(rpc(undefined, 'notifications/initialized'));
    check('notifications/initialized: 202', initialized.status === 202, `status ${initialized.status}`);
    const call = await send(rpc(2, 'tools/call', { name: 'echo', arguments: { text: 'hello from a browser' } }));
    check('POST tools/call: 202', call.status === 202, `status ${call.status}`);
    const echoed = await answer(2);
    check(
      'the tools/call answer arrives on the stream',
      echoed.result?.content?.[0]?.text === 'hello from a browser',
      JSON.stringify(echoed),
    );
  } catch (error) {
    check('2024-11-05 flow completes', false, String(error));
  } finally {
    source.close();
  }
  return checks;
}

// Streamable HTTP: fetch on /mcp, the session id read from the response (CORS exposure).
async function streamableFlow(base) {
  const { checks, check } = recorder();
  const url = `${base}/mcp`;
  const headers = { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' };
  // An answer is JSON or an SSE stream (the server chooses); both are read whole here.
  const body = async (response) => {
    const text = await response.text();
    if (!(response.headers.get('Content-Type') || '').startsWith('text/event-stream')) {
      return JSON.parse(text);
    }
    const data = text.split('\n').filter((line) => line.startsWith('data:') && line.length > 5);
    return JSON.parse(data.at(-1).slice(5));
  };
  try {
    const init = await fetch(url, {
      method: 'POST',
      headers,
      body: rpc(1, INITIALIZE.method, { ...INITIALIZE.params, protocolVersion: '2025-11-25' }),
    });
    const session = init.headers.get('Mcp-Session-Id');
    check('fetch initialize on /mcp: 200', init.status === 200, `status ${init.status}`);
    check('the page reads Mcp-Session-Id from the response (exposed by CORS)', session, 'header not readable');
    const initAnswer = await body(init);
    const version = initAnswer.result?.protocolVersion;
    check('the initialize answer', version === '2025-11-25', JSON.stringify(initAnswer));
    const inSession = { ...headers, 'Mcp-Session-Id': session, 'MCP-Protocol-Version': version };
    const initialized = await fetch(url, { method: 'POST', headers: inSession, body: rpc(undefined, 'notifications/initialized') });
    check('notifications/initialized with the session: 202', initialized.status === 202, `status ${initialized.status}`);
    const list = await fetch(url, { method: 'POST', headers: inSession, body: rpc(2, 'tools/list') });
    const tools = (await body(list)).result?.tools?.map((tool) => tool.name) ?? [];
    check('tools/list with the session lists echo', list.status === 200 && tools.includes('echo'), `status ${list.status}, tools ${tools}`);
    const ended = await fetch(url, { method: 'DELETE', headers: { 'Mcp-Session-Id': session, 'MCP-Protocol-Version': version } });
    check('DELETE ends the session (after a CORS preflight)', ended.ok, `status ${ended.status}`);
    const after = await fetch(url, { method: 'POST', headers: inSession, body: rpc(3, 'tools/list') });
    check('the ended session gets 404', after.status === 404, `status ${after.status}`);
  } catch (error) {
    check('Streamable HTTP flow completes', false, String(error));
  }
  return checks;
}

// From an origin the server does not allow: the browser must get nothing through.
async function refusedFlow(base) {
  const { checks, check } = recorder();
  try {
    const response = await fetch(`${base}/mcp`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' },
      body: rpc(1, INITIALIZE.method, { ...INITIALIZE.params, protocolVersion: '2025-11-25' }),
    });
    check('fetch initialize on /mcp from a disallowed origin is refused', false, `answered ${response.status}`);
  } catch (error) {
    check('fetch initialize on /mcp from a disallowed origin is refused', error instanceof TypeError, String(error));
  }
  const source = new EventSource(`${base}/sse`);
  const outcome = await Promise.race([
    new Promise((resolve) => {
      source.addEventListener('endpoint', () => resolve('endpoint event'));
      source.addEventListener('error', () => resolve(source.readyState === EventSource.CLOSED ? 'closed' : 'retrying'));
    }),
    deadline('EventSource outcome').catch((error) => String(error)),
  ]);
  source.close();
  check('EventSource on /sse from a disallowed origin fails for good', outcome === 'closed', outcome);
  return checks;
}
