#!/usr/bin/env python3
"""Authorization interop check (scripts/auth-run.sh): the official MCP Python SDK client with its
OAuth support (mcp.client.auth.OAuthClientProvider, an httpx2 auth) against an mcp-sse server that
takes JWTs from the authorization server of tests/auth/authorization_server.py.

Usage: python oauth_client.py MCP_URL
Env:   MCP_TIMEOUT_S  deadline for the whole run (default 20)

What the SDK does: its first request gets 401; it reads the challenge's resource_metadata, fetches
the protected-resource metadata (RFC 9728) and the authorization server's (RFC 8414), registers a
client (RFC 7591), sends the user to the authorization endpoint with PKCE and `resource` (RFC 8707);
the redirect handler here follows the authorization server's auto-approving 302 and hands the code
to the callback handler; the SDK exchanges it for a token and retries with `Authorization: Bearer`.
Then: initialize, tools/call whoami (the server says whose token it is). Besides the SDK, with the
same httpx2 client: a token the authorization server issued for another resource gets 401
`invalid_token`, and one without the scope the server needs gets 403 `insufficient_scope`.
Prints `ok - …` / `not ok - …` lines and `py-oauth: N passed, M failed`.
"""

from __future__ import annotations

import sys
from urllib.parse import parse_qs, urlsplit

import anyio
import httpx2
from mcp.client.auth import OAuthClientProvider, TokenStorage
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientInformationFull, OAuthClientMetadata, OAuthToken

import harness
from harness import GLOBAL_TIMEOUT_S, URL, not_ok, ok

harness.configure("py-oauth")
REDIRECT = "http://127.0.0.1:9/callback"  # never reached: the 302 is read, not followed


class Memory(TokenStorage):
    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client = client_info


class Browser:
    """Plays the user's browser: opens the authorization URL, reads the redirect."""

    def __init__(self) -> None:
        self.authorize_url: str | None = None
        self.result: AuthorizationCodeResult | None = None

    async def redirect(self, url: str) -> None:
        self.authorize_url = url
        async with httpx2.AsyncClient() as http:
            answer = await http.get(url, follow_redirects=False)
        if answer.status_code != 302:
            raise RuntimeError(f"authorization endpoint answered {answer.status_code}: {answer.text}")
        query = parse_qs(urlsplit(answer.headers["location"]).query)
        self.result = AuthorizationCodeResult(code=query["code"][0], state=query.get("state", [None])[0])

    async def callback(self) -> AuthorizationCodeResult:
        assert self.result is not None, "no redirect yet"
        return self.result


async def sdk_flow() -> None:
    storage, browser = Memory(), Browser()
    metadata = OAuthClientMetadata(
        client_name="py-oauth",
        redirect_uris=[REDIRECT],
        grant_types=["authorization_code", "refresh_token"],
        response_types=["code"],
        token_endpoint_auth_method="none",
        scope="mcp",
    )
    auth = OAuthClientProvider(URL, metadata, storage, browser.redirect, browser.callback)
    async with httpx2.AsyncClient(auth=auth, timeout=10) as http:
        async with streamable_http_client(URL, http_client=http) as (read, write):
            async with ClientSession(read, write) as session:
                init = await session.initialize()
                ok(f"initialize after discovery, registration and the code flow ({init.server_info.name})")
                query = parse_qs(urlsplit(browser.authorize_url or "").query)
                if query.get("resource") == [URL]:
                    ok("the SDK asked for a token for this server's resource (RFC 8707)")
                else:
                    not_ok("the SDK asked for a token for this server's resource", browser.authorize_url)
                result = await session.call_tool("whoami", {})
                text = result.content[0].text if result.content else ""
                if text == "alice (scopes: mcp)":
                    ok("tools/call whoami: the server sees the token's subject and scopes")
                else:
                    not_ok("tools/call whoami", text)
    if storage.tokens is not None and storage.client is not None:
        ok("the SDK stored its token and registration")
    else:
        not_ok("the SDK stored its token and registration", storage.__dict__)


async def token_for(http: httpx2.AsyncClient, issuer: str, resource: str, scope: str) -> str:
    client = await http.post(
        f"{issuer}/register",
        json={"client_name": "py-raw", "grant_types": ["client_credentials"], "redirect_uris": []},
    )
    client.raise_for_status()
    info = client.json()
    answer = await http.post(
        f"{issuer}/token",
        data={"grant_type": "client_credentials", "resource": resource, "scope": scope},
        auth=(info["client_id"], info["client_secret"]),
    )
    answer.raise_for_status()
    return answer.json()["access_token"]


async def refusals() -> None:
    init = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}},
    }
    headers = {"accept": "application/json, text/event-stream"}
    async with httpx2.AsyncClient(timeout=10) as http:
        missing = await http.post(URL, json=init, headers=headers)
        challenge = missing.headers.get("www-authenticate", "")
        prm = (await http.get(challenge.split('resource_metadata="')[1].split('"')[0])).json()
        issuer = prm["authorization_servers"][0].rstrip("/")
        cases = [
            (URL.rsplit("/", 1)[0] + "/elsewhere", "mcp", 401, ['error="invalid_token"', "(aud)"],
             "a token the same issuer made for another resource: 401 invalid_token"),
            (URL, "other", 403, ['error="insufficient_scope"', 'scope="mcp"'],
             "a token without the scope mcp: 403 insufficient_scope"),
        ]
        for resource, scope, status, says, what in cases:
            token = await token_for(http, issuer, resource, scope)
            answer = await http.post(URL, json=init, headers=dict(headers, authorization=f"Bearer {token}"))
            challenge = answer.headers.get("www-authenticate", "")
            if answer.status_code == status and all(part in challenge for part in says):
                ok(what)
            else:
                not_ok(what, f"{answer.status_code} {challenge}")

async def main() -> None:
    with anyio.move_on_after(GLOBAL_TIMEOUT_S) as deadline:
        for what, run in [("the SDK's OAuth flow", sdk_flow), ("the refusals", refusals)]:
            try:
                await run()
            except BaseException as error:  # noqa: BLE001 - every failure is a `not ok`
                not_ok(what, error)
    if deadline.cancelled_caught:
        not_ok("the run", f"not done within {GLOBAL_TIMEOUT_S} s")


if __name__ == "__main__":
    if not URL:
        sys.exit("usage: oauth_client.py MCP_URL")
    try:
        anyio.run(main)
    finally:
        harness.finish()
