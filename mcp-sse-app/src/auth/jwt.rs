//! [`JwtVerifier`] (feature `jwt`): access tokens that are JWTs signed by an authorization
//! server that publishes its public keys as a JWKS (RFC 7517, RFC 9068), checked with
//! `jsonwebtoken`.
//!
//! Fetching the key set is IO on the application's runtime, so the verifier asks a [`Fetch`]
//! for it: [`HttpFetch`] GETs `http://` URLs over the sockets of the adapter's runtime
//! (`mcp-sse-tokio` and `mcp-sse-smol` implement its [`Connect`] with their feature `jwt`);
//! anything that can GET a URL, an HTTP client with TLS for an `https://` issuer, can be one.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::{AlgorithmParameters, JwkSet, PublicKeyUse};
use jsonwebtoken::{DecodingKey, Header, Validation};
use mcp_sse_core::Principal;
use serde_json::{Map, Value};

pub use fetch::{Connect, HttpFetch};
pub use jsonwebtoken::Algorithm;

use super::{Refusal, Verifier, VerifyFuture};

/// What a [`Fetch`] returns.
pub type FetchFuture<'a> = Pin<Box<dyn Future<Output = Result<Bytes, FetchError>> + Send + 'a>>;

/// An HTTP client, as much of one as the verifier needs: GET a URL.
pub trait Fetch: Send + Sync + 'static {
    /// The body of a `2xx` answer to `GET url`, at most `limit` bytes (a longer one is an
    /// error); any other status, a redirect included, is an error.
    fn get<'a>(&'a self, url: &'a str, limit: usize) -> FetchFuture<'a>;
}

/// Why a [`Fetch`] failed, in words for the log.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FetchError(pub String);

/// What a [`JwtVerifier`] accepts, and how it keeps the keys. [`JwtConfig::new`] gives the
/// defaults.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct JwtConfig {
    /// The authorization server, exactly as tokens name it in `iss`.
    pub issuer: String,
    /// The audiences a token must name one of in `aud`: this server's resource identifier
    /// (`Authorization::resource`), so a token issued for another server is refused (S4.5).
    pub audiences: Vec<String>,
    /// Where the keys are. `None` (the default): from the issuer's metadata (`jwks_uri` of
    /// RFC 8414 `/.well-known/oauth-authorization-server`, or of OpenID Connect's
    /// `/.well-known/openid-configuration`), whose `issuer` must be [`issuer`](Self::issuer).
    pub jwks_uri: Option<String>,
    /// The signature algorithms accepted (the token's `alg` must be one, and its key of the
    /// same kind). Asymmetric only: HMAC would need a shared secret, and `none` is never
    /// accepted. Default: RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, EdDSA.
    pub algorithms: Vec<Algorithm>,
    /// How far the issuer's clock may be from this one for `exp` and `nbf`. Default 60 s, at
    /// most [`MAX_CLOCK_SKEW`].
    pub clock_skew: Duration,
    /// How long fetched keys are used before they are fetched again. Default 5 min. When the
    /// fetch fails the old keys go on being used (and the failure is logged).
    pub keys_max_age: Duration,
    /// The least time between two fetches: a token whose `kid` is unknown (a new key, after a
    /// rotation) makes the verifier fetch the keys again, but not more often than this, so
    /// made-up key ids cannot make it hammer the issuer. Default 10 s.
    pub refetch_interval: Duration,
    /// The largest key set or metadata document read. Default 256 KiB.
    pub max_document_bytes: usize,
}

/// The most clock skew a [`JwtConfig`] may allow.
pub const MAX_CLOCK_SKEW: Duration = Duration::from_secs(300);

impl JwtConfig {
    /// Tokens from `issuer` for `audience`, with the defaults.
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            audiences: vec![audience.into()],
            jwks_uri: None,
            algorithms: vec![
                Algorithm::RS256,
                Algorithm::RS384,
                Algorithm::RS512,
                Algorithm::PS256,
                Algorithm::PS384,
                Algorithm::PS512,
                Algorithm::ES256,
                Algorithm::ES384,
                Algorithm::EdDSA,
            ],
            clock_skew: Duration::from_secs(60),
            keys_max_age: Duration::from_secs(300),
            refetch_interval: Duration::from_secs(10),
            max_document_bytes: 256 * 1024,
        }
    }

    /// With the keys at `uri` instead of the issuer's metadata.
    pub fn with_jwks_uri(mut self, uri: impl Into<String>) -> Self {
        self.jwks_uri = Some(uri.into());
        self
    }
}

/// A [`JwtConfig`] that cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwtConfigError {
    /// An HMAC algorithm was allowed: it would take the public key for a shared secret.
    #[error(
        "{0:?} is a symmetric algorithm: only asymmetric ones verify tokens of an authorization server"
    )]
    Symmetric(Algorithm),
    /// No algorithm was allowed.
    #[error("no signature algorithm is allowed")]
    NoAlgorithm,
    /// No audience was given.
    #[error("no audience is given: tokens must be checked for this server's resource identifier")]
    NoAudience,
    /// The clock skew is above [`MAX_CLOCK_SKEW`].
    #[error("a clock skew of {0:?} is above the bound of 5 min")]
    ClockSkew(Duration),
}

/// A [`Verifier`] of JWT access tokens: signature by a key of the issuer's key set, `iss`,
/// `aud` (this resource), `exp` and `nbf` (with the clock skew), `sub` present. Its
/// [`Principal`] has the token's `sub`, its client (`client_id`, else `azp`), its scopes
/// (`scope`, space-separated, else `scp`, a list or a string), its expiry on the server's
/// clock, and the other claims.
///
/// The key set is fetched on first use and kept for [`JwtConfig::keys_max_age`]; a token
/// whose `kid` is not in it makes the verifier fetch it again (a key rotation), at most once
/// per [`JwtConfig::refetch_interval`]. One fetch at a time: requests that need the keys while
/// they are fetched wait for that fetch. A key set that cannot be had makes tokens unchecked
/// ([`Refusal::Unavailable`], `503`), not invalid.
pub struct JwtVerifier {
    config: JwtConfig,
    fetch: Arc<dyn Fetch>,
    keys: Mutex<Keys>,
    /// Held by the one request fetching the keys.
    fetching: futures_util::lock::Mutex<()>,
}

impl fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtVerifier")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// The key set as last fetched.
#[derive(Default)]
struct Keys {
    /// The key set's URL, once known (configured or discovered).
    jwks_uri: Option<String>,
    keys: Vec<Key>,
    /// When the keys were fetched.
    fetched: Option<Instant>,
    /// When a fetch last began, and what went wrong with the last one if it failed.
    attempted: Option<Instant>,
    failure: Option<String>,
    /// Counts the fetches that changed the keys.
    generation: u64,
}

/// One usable key of the set.
struct Key {
    kid: Option<String>,
    /// The algorithm the set names for it, if it does.
    alg: Option<Algorithm>,
    key: DecodingKey,
}

/// What the key set offers a token.
struct Candidates {
    keys: Vec<DecodingKey>,
    generation: u64,
    /// Whether the set was ever fetched.
    fetched: bool,
    /// Whether it is older than `keys_max_age`.
    stale: bool,
}

/// Why the keys were not fetched again.
enum NotFetched {
    /// A fetch began less than `refetch_interval` ago.
    TooSoon,
    /// The fetch failed.
    Failed(String),
}

impl JwtVerifier {
    /// A verifier of `config`'s tokens that gets its keys through `fetch`.
    pub fn new(config: JwtConfig, fetch: Arc<dyn Fetch>) -> Result<Self, JwtConfigError> {
        if config.algorithms.is_empty() {
            return Err(JwtConfigError::NoAlgorithm);
        }
        if let Some(&symmetric) = config
            .algorithms
            .iter()
            .find(|alg| alg.family() == jsonwebtoken::AlgorithmFamily::Hmac)
        {
            return Err(JwtConfigError::Symmetric(symmetric));
        }
        if config.audiences.is_empty() {
            return Err(JwtConfigError::NoAudience);
        }
        if config.clock_skew > MAX_CLOCK_SKEW {
            return Err(JwtConfigError::ClockSkew(config.clock_skew));
        }
        let keys = Keys {
            jwks_uri: config.jwks_uri.clone(),
            ..Keys::default()
        };
        Ok(Self {
            config,
            fetch,
            keys: Mutex::new(keys),
            fetching: futures_util::lock::Mutex::new(()),
        })
    }

    /// The settings it was made with.
    pub fn config(&self) -> &JwtConfig {
        &self.config
    }

    async fn check(&self, token: &str, now: Instant) -> Result<Principal, Refusal> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| Refusal::Invalid("malformed token".into()))?;
        if !self.config.algorithms.contains(&header.alg) {
            return Err(Refusal::Invalid(format!(
                "signature algorithm {:?} not accepted",
                header.alg
            )));
        }
        let mut fetched = false;
        loop {
            let candidates = self.candidates(&header, now);
            if !candidates.keys.is_empty() && (!candidates.stale || fetched) {
                return self.decode(token, &header, &candidates.keys, now);
            }
            if fetched {
                return Err(no_key(&header));
            }
            match self.fetch_keys(candidates.generation, now).await {
                Ok(()) => fetched = true,
                // Old keys are better than none while the issuer is unreachable.
                Err(_) if !candidates.keys.is_empty() => {
                    return self.decode(token, &header, &candidates.keys, now);
                }
                Err(NotFetched::TooSoon) if candidates.fetched => return Err(no_key(&header)),
                Err(NotFetched::TooSoon) => {
                    let failure = self.lock().failure.clone();
                    let failure = failure.unwrap_or_else(|| "the last fetch did not finish".into());
                    return Err(Refusal::Unavailable(format!(
                        "the issuer's keys could not be fetched: {failure}"
                    )));
                }
                Err(NotFetched::Failed(why)) => {
                    return Err(Refusal::Unavailable(format!(
                        "the issuer's keys could not be fetched: {why}"
                    )));
                }
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Keys> {
        self.keys.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The keys that may have signed a token with `header`: its `kid`'s (all if it names none),
    /// of the kind its `alg` needs.
    fn candidates(&self, header: &Header, now: Instant) -> Candidates {
        let keys = self.lock();
        let matching = keys
            .keys
            .iter()
            .filter(|key| header.kid.is_none() || key.kid == header.kid)
            .filter(|key| key.key.family() == header.alg.family())
            .filter(|key| key.alg.is_none_or(|alg| alg == header.alg))
            .map(|key| key.key.clone())
            .collect();
        Candidates {
            keys: matching,
            generation: keys.generation,
            fetched: keys.fetched.is_some(),
            stale: keys
                .fetched
                .is_none_or(|at| now.saturating_duration_since(at) >= self.config.keys_max_age),
        }
    }

    /// Fetches the key set, unless another request did since `generation` was seen or a fetch
    /// began less than `refetch_interval` ago.
    async fn fetch_keys(&self, generation: u64, now: Instant) -> Result<(), NotFetched> {
        let _fetching = self.fetching.lock().await;
        let jwks_uri = {
            let mut keys = self.lock();
            if keys.generation != generation {
                return Ok(());
            }
            let interval = self.config.refetch_interval;
            if keys
                .attempted
                .is_some_and(|at| now.saturating_duration_since(at) < interval)
            {
                return Err(NotFetched::TooSoon);
            }
            keys.attempted = Some(now);
            keys.jwks_uri.clone()
        };
        let outcome = self.fetch_set(jwks_uri).await;
        let mut keys = self.lock();
        match outcome {
            Ok((uri, set)) => {
                tracing::debug!(%uri, keys = set.len(), "issuer's keys fetched");
                keys.jwks_uri = Some(uri);
                keys.keys = set;
                keys.fetched = Some(now);
                keys.failure = None;
                keys.generation += 1;
                Ok(())
            }
            Err(why) => {
                tracing::warn!(issuer = %self.config.issuer, why, "the issuer's keys could not be fetched");
                keys.failure = Some(why.clone());
                Err(NotFetched::Failed(why))
            }
        }
    }

    /// The usable keys at `jwks_uri`, found from the issuer's metadata first if `None`.
    async fn fetch_set(&self, jwks_uri: Option<String>) -> Result<(String, Vec<Key>), String> {
        let uri = match jwks_uri {
            Some(uri) => uri,
            None => self.discover().await?,
        };
        let limit = self.config.max_document_bytes;
        let body = self
            .fetch
            .get(&uri, limit)
            .await
            .map_err(|error| format!("{uri}: {error}"))?;
        let set: JwkSet = serde_json::from_slice(&body)
            .map_err(|error| format!("{uri}: not a JWK set: {error}"))?;
        let keys = set
            .keys
            .iter()
            .filter(|jwk| {
                jwk.common
                    .public_key_use
                    .as_ref()
                    .is_none_or(|usage| *usage == PublicKeyUse::Signature)
            })
            // Never a shared secret, whatever the set holds.
            .filter(|jwk| {
                matches!(
                    jwk.algorithm,
                    AlgorithmParameters::RSA(_)
                        | AlgorithmParameters::EllipticCurve(_)
                        | AlgorithmParameters::OctetKeyPair(_)
                )
            })
            .filter_map(|jwk| {
                let alg = match jwk.common.key_algorithm {
                    Some(alg) => Some(alg.to_string().parse::<Algorithm>().ok()?),
                    None => None,
                };
                Some(Key {
                    kid: jwk.common.key_id.clone(),
                    alg,
                    key: DecodingKey::from_jwk(jwk).ok()?,
                })
            })
            .collect();
        Ok((uri, keys))
    }

    /// The key set's URL from the issuer's metadata (RFC 8414 §3, then OpenID Connect
    /// Discovery), checking that it is the issuer's.
    async fn discover(&self) -> Result<String, String> {
        let issuer = self.config.issuer.trim_end_matches('/');
        let (origin, path) = split_origin(issuer);
        let candidates = [
            format!("{origin}/.well-known/oauth-authorization-server{path}"),
            format!("{issuer}/.well-known/openid-configuration"),
        ];
        let mut failures = Vec::new();
        for url in candidates {
            let metadata = match self.fetch.get(&url, self.config.max_document_bytes).await {
                Ok(body) => body,
                Err(error) => {
                    failures.push(format!("{url}: {error}"));
                    continue;
                }
            };
            let metadata: Value = serde_json::from_slice(&metadata)
                .map_err(|error| format!("{url}: not JSON: {error}"))?;
            if metadata["issuer"].as_str() != Some(self.config.issuer.as_str()) {
                return Err(format!(
                    "{url} names the issuer {} instead of {}",
                    metadata["issuer"], self.config.issuer
                ));
            }
            return match metadata["jwks_uri"].as_str() {
                Some(uri) => Ok(uri.to_owned()),
                None => Err(format!("{url} has no jwks_uri")),
            };
        }
        Err(failures.join("; "))
    }

    /// The principal of `token`, if one of `keys` signed it and its claims hold.
    fn decode(
        &self,
        token: &str,
        header: &Header,
        keys: &[DecodingKey],
        now: Instant,
    ) -> Result<Principal, Refusal> {
        let mut validation = Validation::new(header.alg);
        validation.leeway = self.config.clock_skew.as_secs();
        validation.validate_nbf = true;
        validation.set_audience(&self.config.audiences);
        validation.set_issuer(&[&self.config.issuer]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        for key in keys {
            match jsonwebtoken::decode::<Map<String, Value>>(token, key, &validation) {
                Ok(data) => return principal(data.claims, now),
                Err(error) if *error.kind() == ErrorKind::InvalidSignature => continue,
                Err(error) => return Err(Refusal::Invalid(describe(error.kind()))),
            }
        }
        Err(Refusal::Invalid("bad signature".into()))
    }
}

impl Verifier for JwtVerifier {
    fn verify<'a>(&'a self, token: &'a str, now: Instant) -> VerifyFuture<'a> {
        Box::pin(self.check(token, now))
    }
}

fn no_key(header: &Header) -> Refusal {
    match &header.kid {
        Some(kid) => Refusal::Invalid(format!("no key {kid} for {:?}", header.alg)),
        None => Refusal::Invalid(format!("no key for {:?}", header.alg)),
    }
}

/// Why `jsonwebtoken` refused a token, in the words of a challenge's `error_description`.
fn describe(kind: &ErrorKind) -> String {
    match kind {
        ErrorKind::ExpiredSignature => "token expired".into(),
        ErrorKind::ImmatureSignature => "token not valid yet (nbf)".into(),
        ErrorKind::InvalidAudience => "token not issued for this resource (aud)".into(),
        ErrorKind::InvalidIssuer => "token from another issuer (iss)".into(),
        ErrorKind::InvalidSignature => "bad signature".into(),
        ErrorKind::InvalidAlgorithm => "signature algorithm not accepted".into(),
        ErrorKind::MissingRequiredClaim(claim) => format!("token without {claim}"),
        ErrorKind::InvalidClaimFormat(claim) => format!("malformed claim {claim}"),
        _ => "malformed token".into(),
    }
}

/// The principal a verified token's claims describe; its `exp` moved onto the server's clock.
fn principal(mut claims: Map<String, Value>, now: Instant) -> Result<Principal, Refusal> {
    let Some(Value::String(subject)) = claims.remove("sub") else {
        return Err(Refusal::Invalid("malformed claim sub".into()));
    };
    let client = [claims.remove("client_id"), claims.remove("azp")]
        .into_iter()
        .flatten()
        .find_map(|value| value.as_str().map(str::to_owned));
    let scopes: Vec<String> = match (claims.remove("scope"), claims.remove("scp")) {
        (Some(Value::String(scope)), _) | (None, Some(Value::String(scope))) => {
            scope.split_whitespace().map(str::to_owned).collect()
        }
        (None, Some(Value::Array(scopes))) => scopes
            .iter()
            .filter_map(|scope| scope.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    };
    let mut principal = Principal::new(subject).with_scopes(scopes);
    if let Some(client) = client {
        principal = principal.with_client_id(client);
    }
    if let Some(exp) = claims.get("exp").and_then(Value::as_f64) {
        // `exp` is wall-clock time: read the wall clock once to turn it into an instant on
        // the runtime's monotonic clock (`now`), which the core keeps time by.
        let unix_now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64();
        let left = Duration::try_from_secs_f64(exp - unix_now).unwrap_or_default();
        principal = principal.with_expiry(now + left);
    }
    principal.claims = claims;
    Ok(principal)
}

/// `https://host:port` and the rest of an absolute URL.
fn split_origin(url: &str) -> (&str, &str) {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    match url[after_scheme..].find('/') {
        Some(i) => url.split_at(after_scheme + i),
        None => (url, ""),
    }
}

mod fetch;
#[cfg(test)]
mod tests;
