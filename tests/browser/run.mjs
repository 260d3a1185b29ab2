#!/usr/bin/env node
// A real browser against running MCP servers: headless Chromium (Debian's, driven by
// playwright-core) loads page.html from another loopback origin than the server's and runs
// client.js's flows in it: EventSource on /sse with POSTs answered on the stream, fetch on /mcp
// reading Mcp-Session-Id, tools/list, DELETE. The same page from http://127.0.0.2:PORT, an
// origin the server's default allow-list (loopback names only) does not hold, must get nothing.
//
// Usage: node run.mjs LABEL=BASE_URL...   (e.g. tokio=http://127.0.0.1:8000)
// Env:   CHROMIUM  the browser's executable (default: chromium on PATH)
// Prints `ok - [LABEL] check` / `not ok - [LABEL] check: why` and a final comment line with the
// counts; exits 0 only when every check passed.
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { chromium } from 'playwright-core';

const DEADLINE_MS = 90_000;
// How long a page waits, at most, for the network events its check needs (see inPage).
const SETTLE_MS = 2_000;
const HERE = new URL('.', import.meta.url);
const FILES = { '/': 'page.html', '/page.html': 'page.html', '/client.js': 'client.js' };
// What Chromium needs on a machine with no network but loopback, as root (rust.md's probe).
const FLAGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage',
];

let passed = 0;
let failed = 0;
function report(label, { ok, what, why }) {
  if (ok) {
    passed += 1;
    console.log(`ok - [${label}] ${what}`);
  } else {
    failed += 1;
    console.log(`not ok - [${label}] ${what}: ${why}`);
  }
}

// The page's origin: a static server on one loopback address, any free port.
async function pageServer(host) {
  const server = createServer(async (request, response) => {
    const file = FILES[new URL(request.url, 'http://x').pathname];
    if (!file) {
      response.writeHead(404).end();
      return;
    }
    const type = file.endsWith('.js') ? 'text/javascript' : 'text/html; charset=utf-8';
    response.writeHead(200, { 'Content-Type': type }).end(await readFile(new URL(file, HERE)));
  });
  await new Promise((resolve, reject) => server.once('error', reject).listen(0, host, resolve));
  return { server, origin: `http://${host}:${server.address().port}` };
}

// Runs FLOW(base) in a fresh page from ORIGIN; returns its checks and what the browser saw of
// the server's answers (Chromium's own network events: raw statuses, preflights included, and
// the CORS errors it refused answers for).
// Runs `flow` in a page from `origin` against `base`, recording what the browser's network saw.
// `settled(seen)`: what must have been recorded before the page closes. The browser reports a
// response's status (`responseReceivedExtraInfo`) apart from the failure it led to, and may do
// so after the page's script has moved on; the wait is bounded by SETTLE_MS.
async function inPage(browser, origin, flow, base, settled = () => true) {
  const started = Date.now();
  const page = await browser.newPage();
  const network = await page.context().newCDPSession(page);
  const urls = new Map();
  const seen = [];
  network.on('Network.requestWillBeSent', ({ requestId, request }) => urls.set(requestId, request.url));
  network.on('Network.responseReceivedExtraInfo', ({ requestId, statusCode }) => {
    if (urls.get(requestId)?.startsWith(base)) seen.push(`status ${statusCode}`);
  });
  network.on('Network.loadingFailed', ({ requestId, corsErrorStatus }) => {
    if (urls.get(requestId)?.startsWith(base) && corsErrorStatus) seen.push(`CORS ${corsErrorStatus.corsError}`);
  });
  await network.send('Network.enable');
  try {
    await page.goto(`${origin}/page.html`);
    const checks = await page.evaluate(([name, url]) => globalThis[name](url), [flow, base]);
    for (const until = Date.now() + SETTLE_MS; !settled(seen) && Date.now() < until; ) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return { checks, seen };
  } finally {
    await page.close();
    console.log(`# ${flow} on ${base} from ${origin}: ${Date.now() - started} ms`);
  }
}

async function main() {
  const targets = process.argv.slice(2).map((arg) => {
    const at = arg.indexOf('=');
    if (at < 1) throw new Error(`expected LABEL=BASE_URL, got ${arg}`);
    return { label: arg.slice(0, at), base: arg.slice(at + 1).replace(/\/$/, '') };
  });
  if (targets.length === 0) throw new Error('usage: node run.mjs LABEL=BASE_URL...');
  const allowed = await pageServer('127.0.0.1');
  const refused = await pageServer('127.0.0.2');
  const started = Date.now();
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || 'chromium', args: FLAGS });
  console.log(`# Chromium started in ${Date.now() - started} ms`);
  try {
    console.log(`# ${browser.version()}; pages from ${allowed.origin} (allowed) and ${refused.origin} (not allowed)`);
    for (const { label, base } of targets) {
      for (const flow of ['legacyFlow', 'streamableFlow']) {
        const { checks } = await inPage(browser, allowed.origin, flow, base);
        checks.forEach((check) => report(label, check));
      }
      const refusedSeen = (seen) =>
        seen.includes('status 403') && seen.filter((what) => what.startsWith('CORS ')).length >= 2;
      const { checks, seen } = await inPage(browser, refused.origin, 'refusedFlow', base, refusedSeen);
      checks.forEach((check) => report(label, check));
      // Its preflight is answered (204, never 405) but without permission; its requests get 403.
      const statuses = seen.filter((what) => what.startsWith('status '));
      const refusals = seen.filter((what) => what.startsWith('CORS '));
      report(label, {
        ok: statuses.includes('status 403') && statuses.every((s) => s === 'status 204' || s === 'status 403')
          && refusals.length >= 2,
        what: 'the server gave the disallowed origin 403 and no CORS permission (Chromium refused both requests)',
        why: `the browser saw: ${seen.join(', ') || 'nothing'}`,
      });
      console.log(`# [${label}] the disallowed origin: ${seen.join(', ')}`);
    }
  } finally {
    await browser.close();
    allowed.server.close();
    refused.server.close();
  }
}

const timer = setTimeout(() => {
  console.log(`not ok - the browser test did not finish within ${DEADLINE_MS} ms`);
  console.log(`# browser checks: ${passed} passed, ${failed + 1} failed`);
  process.exit(1);
}, DEADLINE_MS);
try {
  await main();
} catch (error) {
  failed += 1;
  console.log(`not ok - browser test: ${error?.stack || error}`);
}
clearTimeout(timer);
console.log(`# browser checks: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
