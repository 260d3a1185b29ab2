#!/usr/bin/env node
// Interop check: the official MCP TypeScript SDK client (SSEClientTransport, the
// 2024-11-05 HTTP+SSE transport) against an mcp-sse server.
//
// Usage: node sse-client.mjs [URL]       (URL defaults to $MCP_URL, e.g. http://127.0.0.1:8080/sse)
// Env:   MCP_TIMEOUT_MS  global deadline for the whole run (default 20000)
//        MCP_ELICIT_TOOL a tool that asks the client by elicitation (see ../harness.mjs); unset: skipped
//
// Prints `ok - <check>` / `not ok - <check>: <why>` per check and ends with
// `ts-sse: N passed, M failed`. Exits 0 only when every check passed.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';

import {
  ELICITED, GLOBAL_TIMEOUT_MS, assert, assertEq, configure, elicitAnswer, notOk, ok, runMain, skip, tools, url,
  withTimeout,
} from '../harness.mjs';

configure({ label: 'ts-sse', whyLimit: Infinity });
const REQUEST_TIMEOUT_MS = Math.min(10000, Math.floor(GLOBAL_TIMEOUT_MS / 2));

function assertEchoResult(result, text) {
  if (!result || !Array.isArray(result.content)) {
    throw new Error(`result has no content array: ${JSON.stringify(result)}`);
  }
  if (result.isError === true) {
    throw new Error(`isError is true: ${JSON.stringify(result)}`);
  }
  assertEq(result.content.length, 1, 'content length');
  assertEq(result.content[0].type, 'text', 'content[0].type');
  assertEq(result.content[0].text, text, 'content[0].text');
}

const reqOpts = { timeout: REQUEST_TIMEOUT_MS };

async function main() {
  const capabilities = tools.elicit ? { elicitation: {} } : {};
  const client = new Client({ name: 'mcp-sse-interop-ts', version: '0.0.0' }, { capabilities });
  const elicited = [];
  // The SDK takes a handler only for a capability the client declares.
  if (tools.elicit) {
    client.setRequestHandler(ElicitRequestSchema, async (request) => {
      elicited.push(request.params);
      return elicitAnswer(request.params);
    });
  }
  let transportError = null;
  const transport = new SSEClientTransport(new URL(url));

  let connected = false;
  try {
    // connect() = GET the SSE URL, wait for the `endpoint` event, then initialize +
    // notifications/initialized. The SDK puts no deadline on the first two steps.
    await withTimeout(client.connect(transport, reqOpts), REQUEST_TIMEOUT_MS, 'connect (endpoint event + initialize)');
    connected = true;
    const info = client.getServerVersion();
    if (!info || typeof info.name !== 'string') throw new Error(`no serverInfo: ${JSON.stringify(info)}`);
    const caps = client.getServerCapabilities();
    if (!caps || !caps.tools) throw new Error(`server capabilities lack tools: ${JSON.stringify(caps)}`);
    ok(`initialize (server ${info.name} ${info.version ?? ''})`.replace(/ \)$/, ')'));
  } catch (e) {
    notOk('initialize', e);
  }
  // Transport errors after connect (unparsable SSE data, dropped stream) fail the current check.
  client.onerror = (e) => {
    transportError = e;
  };

  // If connect failed, the remaining checks are reported as failed.
  const checks = [
    ['ping', async () => {
      const r = await client.ping(reqOpts);
      if (r === null || typeof r !== 'object') throw new Error(`unexpected ping result ${JSON.stringify(r)}`);
    }],
    ['tools/list contains echo', async () => {
      const r = await client.listTools(undefined, reqOpts);
      const names = (r.tools || []).map((t) => t.name);
      if (!names.includes('echo')) throw new Error(`tools were ${JSON.stringify(names)}`);
    }],
    ['tools/call echo ascii', async () => {
      const text = 'hello from ts';
      assertEchoResult(await client.callTool({ name: 'echo', arguments: { text } }, undefined, reqOpts), text);
    }],
    ['tools/call echo unicode+newlines', async () => {
      const text = 'line1\nline2 ✓';
      assertEchoResult(await client.callTool({ name: 'echo', arguments: { text } }, undefined, reqOpts), text);
    }],
    ['concurrent tools/call x5', async () => {
      const texts = [0, 1, 2, 3, 4].map((i) => `concurrent #${i} ünï`);
      const results = await Promise.all(
        texts.map((text) => client.callTool({ name: 'echo', arguments: { text } }, undefined, reqOpts)),
      );
      results.forEach((r, i) => assertEchoResult(r, texts[i]));
    }],
  ];
  const ELICIT = `tools/call ${tools.elicit} (elicitation/create on the session's stream, answered by POST)`;
  if (tools.elicit) {
    checks.push([ELICIT, async () => {
      const message = 'What is your name?';
      const result = await client.callTool({ name: tools.elicit, arguments: { message } }, undefined, reqOpts);
      assertEq(elicited.length, 1, 'elicitation requests the client handled');
      const text = (result.content || []).map((c) => c.text).join('\n');
      assert(result.isError !== true && text.includes(ELICITED), `result: ${JSON.stringify(result)}`);
    }]);
  } else skip('elicitation', 'no MCP_ELICIT_TOOL');

  for (const [name, fn] of checks) {
    if (!connected) {
      notOk(name, 'not connected');
      continue;
    }
    try {
      await fn();
      if (transportError) throw transportError;
      ok(name);
    } catch (e) {
      notOk(name, e);
      transportError = null;
    }
  }

  try {
    await withTimeout(client.close(), 2000, 'close');
    if (connected) ok('close');
  } catch (e) {
    notOk('close', e);
  }
}

runMain(main);
