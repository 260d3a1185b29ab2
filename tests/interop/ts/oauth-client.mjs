#!/usr/bin/env node
// Authorization interop check (scripts/auth-run.sh): the official MCP TypeScript SDK client with its
// OAuth provider interface (StreamableHTTPClientTransport's `authProvider`) against an mcp-sse server
// that takes JWTs from the authorization server of tests/auth/authorization_server.py.
//
// Usage: node oauth-client.mjs MCP_URL
// Env:   MCP_TIMEOUT_MS  deadline for the whole run (default 20000)
//
// What SDK 1.32.2 does: connect() gets 401; the SDK reads the challenge's resource_metadata, fetches
// the protected-resource metadata (RFC 9728) and the authorization server's (RFC 8414), registers a
// client (RFC 7591), and calls redirectToAuthorization with a PKCE (S256) authorization URL naming
// the resource (RFC 8707), then throws UnauthorizedError. The provider here plays the browser: it
// opens the URL and reads the code from the auto-approving 302. finishAuth(code) exchanges it for a
// token; a new connection then carries `Authorization: Bearer`: initialize, tools/list, tools/call
// whoami (the server says whose token it is).
// Prints `ok - …` / `not ok - …` lines and `ts-oauth: N passed, M failed`.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';

import { configure, notOk, ok, runMain, url } from '../harness.mjs';

configure({ label: 'ts-oauth' });
const REDIRECT = 'http://127.0.0.1:9/callback'; // never reached: the 302 is read, not followed

class Provider {
  constructor() {
    this.client = undefined;
    this.saved = undefined;
    this.verifier = undefined;
    this.authorizeUrl = undefined;
    this.code = undefined;
  }
  get redirectUrl() { return REDIRECT; }
  get clientMetadata() {
    return {
      client_name: 'ts-oauth',
      redirect_uris: [REDIRECT],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      scope: 'mcp',
    };
  }
  clientInformation() { return this.client; }
  saveClientInformation(info) { this.client = info; }
  tokens() { return this.saved; }
  saveTokens(tokens) { this.saved = tokens; }
  saveCodeVerifier(verifier) { this.verifier = verifier; }
  codeVerifier() { return this.verifier; }
  async redirectToAuthorization(authorizationUrl) {
    this.authorizeUrl = new URL(authorizationUrl);
    const answer = await fetch(authorizationUrl, { redirect: 'manual' });
    if (answer.status !== 302) throw new Error(`authorization endpoint answered ${answer.status}`);
    this.code = new URL(answer.headers.get('location')).searchParams.get('code');
  }
}

async function main() {
  const provider = new Provider();
  const first = new StreamableHTTPClientTransport(new URL(url), { authProvider: provider });
  try {
    await new Client({ name: 'ts-oauth', version: '0' }).connect(first);
    notOk('the first connection needs authorization', 'it connected without a token');
  } catch (error) {
    if (error instanceof UnauthorizedError && provider.code) {
      ok('401 -> discovery, registration, authorization URL with PKCE, code from the redirect');
    } else {
      notOk('the first connection leads to the authorization URL', error);
      return;
    }
  }
  const params = provider.authorizeUrl.searchParams;
  if (params.get('resource') === url && params.get('code_challenge_method') === 'S256') {
    ok('the SDK asked for a token for this server\'s resource (RFC 8707), PKCE S256');
  } else {
    notOk('the authorization URL names the resource and PKCE', provider.authorizeUrl.href);
  }
  await first.finishAuth(provider.code);
  if (provider.saved?.access_token) ok('finishAuth: the code exchanged for an access token');
  else notOk('finishAuth', 'no token saved');

  const transport = new StreamableHTTPClientTransport(new URL(url), { authProvider: provider });
  const client = new Client({ name: 'ts-oauth', version: '0' });
  await client.connect(transport);
  ok(`initialize with the token (${client.getServerVersion()?.name})`);
  const { tools } = await client.listTools();
  if (tools.some((tool) => tool.name === 'whoami')) ok('tools/list');
  else notOk('tools/list', tools.map((tool) => tool.name));
  const result = await client.callTool({ name: 'whoami', arguments: {} });
  const text = result.content?.[0]?.text;
  if (text === 'alice (scopes: mcp)') ok('tools/call whoami: the server sees the token\'s subject and scopes');
  else notOk('tools/call whoami', text);
  await transport.terminateSession();
  await client.close();
}

runMain(main);
