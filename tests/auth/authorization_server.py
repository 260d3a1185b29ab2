#!/usr/bin/env python3
"""A minimal OAuth 2.1 authorization server for scripts/auth-run.sh, issuing RS256 JWT access
tokens to the official SDK clients. Not for anything but tests: it approves every authorization
request at once (no login page), keeps everything in memory, and listens on loopback only.

It serves:
  GET  /.well-known/oauth-authorization-server   RFC 8414 metadata
  GET  /jwks                                      its public key (a fresh RSA key per run), RFC 7517
  POST /register                                  dynamic client registration, RFC 7591
  GET  /authorize                                 authorization code + PKCE (S256 only), approved at
                                                  once: a 302 to the redirect URI with code and state
  POST /token                                     authorization_code (PKCE checked), client_credentials,
                                                  refresh_token; `resource` (RFC 8707) becomes `aud`

Tokens: iss = this server, aud = the requested resource, sub = the client id (client_credentials)
or "alice" (authorization_code), scope = the requested scope, exp = now + 300 s.

Usage: python authorization_server.py PORT   (prints `ready` once it listens). Needs PyJWT and
cryptography (both in the interop venv, as the Python SDK's own dependencies).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

PORT = int(sys.argv[1])
ISSUER = f"http://127.0.0.1:{PORT}"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
KID = secrets.token_hex(4)
LIFETIME_S = 300

clients: dict[str, dict] = {}
codes: dict[str, dict] = {}
refresh_tokens: dict[str, dict] = {}


def jwks() -> dict:
    jwk = json.loads(RSAAlgorithm.to_jwk(KEY.public_key()))
    jwk.update({"kid": KID, "alg": "RS256", "use": "sig"})
    return {"keys": [jwk]}


def metadata() -> dict:
    return {
        "issuer": ISSUER,
        "authorization_endpoint": f"{ISSUER}/authorize",
        "token_endpoint": f"{ISSUER}/token",
        "registration_endpoint": f"{ISSUER}/register",
        "jwks_uri": f"{ISSUER}/jwks",
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "client_credentials", "refresh_token"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["none", "client_secret_basic", "client_secret_post"],
    }


def access_token(subject: str, client_id: str, resource: str | None, scope: str | None) -> dict:
    now = int(time.time())
    claims = {"iss": ISSUER, "sub": subject, "client_id": client_id, "iat": now, "exp": now + LIFETIME_S}
    if resource:
        claims["aud"] = resource
    if scope:
        claims["scope"] = scope
    token = jwt.encode(claims, KEY, algorithm="RS256", headers={"kid": KID})
    refresh = secrets.token_urlsafe(24)
    refresh_tokens[refresh] = {"subject": subject, "client_id": client_id, "resource": resource, "scope": scope}
    answer = {"access_token": token, "token_type": "Bearer", "expires_in": LIFETIME_S, "refresh_token": refresh}
    if scope:
        answer["scope"] = scope
    return answer


class Handler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base class's name
        sys.stderr.write(f"authorization-server: {self.command} {self.path} -> {format % args}\n")

    def reply(self, status: int, body: dict | None = None, headers: dict | None = None) -> None:
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if body is not None:
            self.send_header("content-type", "application/json")
            self.send_header("cache-control", "no-store")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def error(self, status: int, error: str, description: str) -> None:
        self.reply(status, {"error": error, "error_description": description})

    def form(self) -> dict[str, str]:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length).decode()
        if self.headers.get("content-type", "").startswith("application/json"):
            return json.loads(raw or "{}")
        return {name: values[0] for name, values in parse_qs(raw).items()}

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/.well-known/oauth-authorization-server":
            return self.reply(200, metadata())
        if url.path == "/jwks":
            return self.reply(200, jwks())
        if url.path == "/authorize":
            return self.authorize({name: values[0] for name, values in parse_qs(url.query).items()})
        self.reply(404, {"error": "not_found"})

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        if path == "/register":
            return self.register(self.form())
        if path == "/token":
            return self.token(self.form())
        self.reply(404, {"error": "not_found"})

    def register(self, request: dict) -> None:
        client_id = "client-" + secrets.token_hex(6)
        client = dict(request, client_id=client_id, client_id_issued_at=int(time.time()))
        if request.get("token_endpoint_auth_method", "client_secret_basic") != "none":
            client["client_secret"] = secrets.token_urlsafe(24)
            client.setdefault("token_endpoint_auth_method", "client_secret_basic")
        clients[client_id] = client
        self.reply(201, client)

    def authorize(self, query: dict[str, str]) -> None:
        client = clients.get(query.get("client_id", ""))
        if client is None:
            return self.error(400, "invalid_client", "unknown client")
        redirect = query.get("redirect_uri", "")
        if redirect not in client.get("redirect_uris", []):
            return self.error(400, "invalid_request", "redirect_uri not registered")
        if query.get("code_challenge_method") != "S256" or not query.get("code_challenge"):
            return self.error(400, "invalid_request", "PKCE with S256 is required")
        code = secrets.token_urlsafe(16)
        codes[code] = {
            "client_id": client["client_id"],
            "redirect_uri": redirect,
            "challenge": query["code_challenge"],
            "resource": query.get("resource"),
            "scope": query.get("scope"),
        }
        params = {"code": code}
        if "state" in query:
            params["state"] = query["state"]
        separator = "&" if "?" in redirect else "?"
        self.reply(302, None, {"location": f"{redirect}{separator}{urlencode(params)}"})

    def authenticated_client(self, form: dict[str, str]) -> dict | None:
        """The client of a token request: client_secret_basic, client_secret_post or none."""
        header = self.headers.get("authorization", "")
        if header.lower().startswith("basic "):
            from urllib.parse import unquote

            client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
            client_id, secret = unquote(client_id), unquote(secret)
        else:
            client_id, secret = form.get("client_id", ""), form.get("client_secret")
        client = clients.get(client_id)
        if client is None:
            return None
        expected = client.get("client_secret")
        if expected is not None and not (secret and secrets.compare_digest(secret, expected)):
            return None
        return client

    def token(self, form: dict[str, str]) -> None:
        client = self.authenticated_client(form)
        if client is None:
            return self.error(401, "invalid_client", "unknown client or wrong secret")
        grant = form.get("grant_type")
        if grant == "authorization_code":
            issued = codes.pop(form.get("code", ""), None)
            if issued is None or issued["client_id"] != client["client_id"]:
                return self.error(400, "invalid_grant", "unknown or used code")
            if form.get("redirect_uri") != issued["redirect_uri"]:
                return self.error(400, "invalid_grant", "redirect_uri differs")
            verifier = form.get("code_verifier", "")
            digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            if digest != issued["challenge"]:
                return self.error(400, "invalid_grant", "PKCE verifier does not match")
            resource = form.get("resource") or issued["resource"]
            return self.reply(200, access_token("alice", client["client_id"], resource, issued["scope"]))
        if grant == "client_credentials":
            return self.reply(
                200, access_token(client["client_id"], client["client_id"], form.get("resource"), form.get("scope"))
            )
        if grant == "refresh_token":
            issued = refresh_tokens.pop(form.get("refresh_token", ""), None)
            if issued is None or issued["client_id"] != client["client_id"]:
                return self.error(400, "invalid_grant", "unknown refresh token")
            resource = form.get("resource") or issued["resource"]
            return self.reply(200, access_token(issued["subject"], client["client_id"], resource, issued["scope"]))
        self.error(400, "unsupported_grant_type", f"grant_type {grant!r} is not supported")


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", PORT), Handler)
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
