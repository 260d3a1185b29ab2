//! Bearer tokens checked before a request reaches the server (S4.4–S4.6): the application's
//! [`Verifier`], the [`Authenticator`] that runs it under a deadline, and the ready verifiers
//! ([`StaticTokens`]; [`JwtVerifier`](jwt::JwtVerifier) with the feature `jwt`).
//!
//! Checking a token is IO (a key set fetched, an introspection call), so it happens here, where
//! requests come in ([`Entry`](crate::Entry)), and the core gets the outcome as
//! [`Credentials`] in the request head's extensions. The core decides what it means (which
//! paths need a token, which scopes, which sessions a principal may use). The token itself
//! never goes further: the `Authorization` header is taken off the request before the core,
//! the handlers or an SDK bridge see it (S4.5, tokens are never passed through).

use std::fmt;
use std::future::{Future, poll_fn};
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use http::header::{self, HeaderValue};
use http::request;
use mcp_sse_core::{Credentials, Principal};

use crate::runtime::Runtime;

mod tokens;

#[cfg(feature = "jwt")]
pub mod jwt;

pub use tokens::StaticTokens;

/// What a [`Verifier`] returns: a future that may borrow the verifier and the token.
pub type VerifyFuture<'a> = Pin<Box<dyn Future<Output = Result<Principal, Refusal>> + Send + 'a>>;

/// The application's token check: a bearer token in, the [`Principal`] it stands for out, or
/// why not. Called once per request that carries `Authorization: Bearer …` (never for a token
/// in a query parameter or a body: those are not looked at), before the request reaches the
/// server, under the [`Authenticator`]'s deadline.
///
/// A closure `Fn(String) -> impl Future<Output = Result<Principal, Refusal>>` is a verifier:
///
/// ```
/// use mcp_sse_app::auth::{Authenticator, Refusal};
/// use mcp_sse_app::core::Principal;
///
/// let authenticator = Authenticator::new(|token: String| async move {
///     match token.as_str() {
///         "let-me-in" => Ok(Principal::new("alice").with_scopes(["mcp"])),
///         _ => Err(Refusal::Invalid("unknown token".into())),
///     }
/// });
/// # let _ = authenticator;
/// ```
pub trait Verifier: Send + Sync + 'static {
    /// Checks `token` (what follows `Bearer `) at `now`, on the server's clock: the one
    /// [`Principal::expires`] is on.
    fn verify<'a>(&'a self, token: &'a str, now: Instant) -> VerifyFuture<'a>;
}

impl<F, Fut> Verifier for F
where
    F: Fn(String) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Principal, Refusal>> + Send + 'static,
{
    fn verify<'a>(&'a self, token: &'a str, _now: Instant) -> VerifyFuture<'a> {
        Box::pin(self(token.to_owned()))
    }
}

/// Why a verifier did not accept a token.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// The token is not good for this server (bad signature, another audience, expired,
    /// unknown): `401` with `error="invalid_token"` and this text as its `error_description`,
    /// so keep it short and free of secrets. The client should get a new token.
    #[error("invalid token: {0}")]
    Invalid(String),
    /// The token could not be checked now (the key set is unreachable, the introspection
    /// endpoint failed): `503` with `Retry-After`, and the client keeps its token.
    #[error("token not checked: {0}")]
    Unavailable(String),
}

/// How long a verifier may take, unless told otherwise.
pub const VERIFY_TIMEOUT: Duration = Duration::from_secs(10);

/// A [`Verifier`] and the bound on its time: what [`Entry`](crate::Entry) and
/// [`serve`](crate::serve) run on every request (`ServeConfig::authenticator`,
/// `Entry::with_authenticator`). Clones share the verifier.
#[derive(Clone)]
pub struct Authenticator {
    verifier: Arc<dyn Verifier>,
    timeout: Duration,
}

impl fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticator")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Authenticator {
    /// Runs `verifier` with the default timeout of 10 s.
    pub fn new(verifier: impl Verifier) -> Self {
        Self::from_arc(Arc::new(verifier))
    }

    /// Runs a shared verifier with the default timeout of 10 s.
    pub fn from_arc(verifier: Arc<dyn Verifier>) -> Self {
        Self {
            verifier,
            timeout: VERIFY_TIMEOUT,
        }
    }

    /// How long a token check may take (default 10 s). A verifier that has not answered by
    /// then is dropped, and the request is answered `503 Service Unavailable` with
    /// `Retry-After`: the token was not found bad, only not checked, so the client must not
    /// throw it away as a `401` would tell it to.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The timeout of each check.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Takes the bearer token off `head` and puts what the verifier found of it in its
    /// extensions as [`Credentials`] (none when no token came; whatever was there before is
    /// replaced): `Unchecked` when the verifier could not check it or did not answer within
    /// the timeout, which the server answers `503` with `Retry-After`.
    ///
    /// Only `Authorization: Bearer` counts (S4.5): another scheme is no token at all; two
    /// `Authorization` headers or a malformed token are refused without asking the verifier.
    /// A preflight (`OPTIONS`) is never checked: the server answers it without credentials.
    pub(crate) async fn authenticate(&self, head: &mut request::Parts, runtime: &dyn Runtime) {
        head.extensions.remove::<Credentials>();
        let presented = bearer_token(&head.headers);
        head.headers.remove(header::AUTHORIZATION);
        let token = match presented {
            Presented::Nothing => return,
            Presented::Malformed(why) => {
                tracing::debug!(uri = %head.uri, why, "bearer token refused");
                head.extensions.insert(Credentials::Invalid(why.into()));
                return;
            }
            Presented::Token(_) if head.method == http::Method::OPTIONS => return,
            Presented::Token(token) => token,
        };
        let now = runtime.now();
        let outcome = {
            let mut verify = pin!(self.verifier.verify(&token, now));
            let mut deadline = runtime.sleep_until(now + self.timeout);
            poll_fn(|cx| match verify.as_mut().poll(cx) {
                Poll::Ready(outcome) => Poll::Ready(Some(outcome)),
                Poll::Pending => deadline.as_mut().poll(cx).map(|()| None),
            })
            .await
        };
        let credentials = match outcome {
            Some(Ok(principal)) => Credentials::Valid(principal),
            Some(Err(Refusal::Invalid(why))) => {
                tracing::debug!(uri = %head.uri, why, "bearer token refused");
                Credentials::Invalid(why)
            }
            Some(Err(Refusal::Unavailable(why))) => {
                tracing::warn!(uri = %head.uri, why, "bearer token not checked: 503");
                Credentials::Unchecked(why)
            }
            None => {
                tracing::warn!(uri = %head.uri, timeout = ?self.timeout, "the token verifier did not answer in time: 503");
                Credentials::Unchecked(format!("no answer within {:?}", self.timeout))
            }
        };
        head.extensions.insert(credentials);
    }
}

/// What a request's `Authorization` headers hold.
#[derive(Debug, PartialEq)]
enum Presented {
    /// No header, or another scheme than `Bearer`.
    Nothing,
    /// A bearer token.
    Token(String),
    /// Something no verifier needs to see.
    Malformed(&'static str),
}

/// The bearer token of `headers` (RFC 6750 §2.1: `Bearer` in any case, one or more spaces,
/// then a token68).
fn bearer_token(headers: &http::HeaderMap) -> Presented {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Presented::Nothing;
    };
    if values.next().is_some() {
        return Presented::Malformed("more than one Authorization header");
    }
    let Some((scheme, token)) = split_scheme(value) else {
        return Presented::Nothing;
    };
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Presented::Nothing;
    }
    let token = token.trim_start_matches(' ');
    let token68 = |b: u8| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b);
    let body = token.trim_end_matches('=');
    if body.is_empty() || !body.bytes().all(token68) {
        return Presented::Malformed("malformed bearer token");
    }
    Presented::Token(token.to_owned())
}

fn split_scheme(value: &HeaderValue) -> Option<(&str, &str)> {
    let text = value.to_str().ok()?;
    match text.split_once(' ') {
        Some((scheme, rest)) => Some((scheme, rest)),
        None => Some((text, "")),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use futures_util::FutureExt;
    use http::Request;

    use super::*;
    use crate::testing::FakeRuntime;

    fn head(authorization: &[&str]) -> request::Parts {
        let mut request = Request::post("/mcp");
        for value in authorization {
            request = request.header(header::AUTHORIZATION, *value);
        }
        request.body(()).unwrap().into_parts().0
    }

    fn alice() -> Authenticator {
        Authenticator::new(|token: String| async move {
            match token.as_str() {
                "good" => Ok(Principal::new("alice")),
                "down" => Err(Refusal::Unavailable("key set unreachable".into())),
                _ => Err(Refusal::Invalid("unknown token".into())),
            }
        })
    }

    fn run(auth: &Authenticator, head: &mut request::Parts) {
        let clock = FakeRuntime::default();
        auth.authenticate(head, &clock)
            .now_or_never()
            .expect("ready at once")
    }

    fn credentials(head: &request::Parts) -> Option<&Credentials> {
        head.extensions.get::<Credentials>()
    }

    #[test]
    fn only_the_bearer_header_counts_and_it_goes_no_further_s4_5() {
        let auth = alice();
        for value in ["Bearer good", "bearer good", "BEARER   good"] {
            let mut head = head(&[value]);
            run(&auth, &mut head);
            assert!(
                matches!(credentials(&head), Some(Credentials::Valid(p)) if p.subject == "alice"),
                "{value}"
            );
            assert!(head.headers.get(header::AUTHORIZATION).is_none(), "{value}");
        }
        // No header, another scheme, a token in the query: no token at all.
        for mut head in [
            head(&[]),
            head(&["Basic Z29vZA=="]),
            Request::post("/mcp?access_token=good")
                .body(())
                .unwrap()
                .into_parts()
                .0,
        ] {
            run(&auth, &mut head);
            assert!(credentials(&head).is_none(), "{:?}", head.uri);
            assert!(head.headers.get(header::AUTHORIZATION).is_none());
        }
        // Refused without the verifier: two headers, a malformed or empty token.
        for values in [
            &["Bearer good", "Bearer good"][..],
            &["Bearer go od"],
            &["Bearer"],
            &["Bearer ===="],
        ] {
            let mut head = head(values);
            run(&auth, &mut head);
            assert!(
                matches!(credentials(&head), Some(Credentials::Invalid(_))),
                "{values:?}"
            );
        }
        let mut head = head(&["Bearer bad"]);
        run(&auth, &mut head);
        assert!(
            matches!(credentials(&head), Some(Credentials::Invalid(why)) if why == "unknown token")
        );
    }

    #[test]
    fn what_a_layer_in_front_put_there_is_replaced() {
        let mut head = head(&[]);
        head.extensions
            .insert(Credentials::Valid(Principal::new("mallory")));
        run(&alice(), &mut head);
        assert!(credentials(&head).is_none());
    }

    #[test]
    fn a_token_not_checked_is_no_refusal() {
        let mut head = head(&["Bearer down"]);
        run(&alice(), &mut head);
        assert!(matches!(
            credentials(&head),
            Some(Credentials::Unchecked(why)) if why == "key set unreachable"
        ));
    }

    #[test]
    fn a_preflight_is_not_checked() {
        let calls = Arc::new(AtomicUsize::new(0));
        let counted = calls.clone();
        let auth = Authenticator::new(move |_: String| {
            counted.fetch_add(1, Ordering::Relaxed);
            async { Ok(Principal::new("alice")) }
        });
        let mut head = head(&["Bearer good"]);
        head.method = http::Method::OPTIONS;
        run(&auth, &mut head);
        assert_eq!(calls.load(Ordering::Relaxed), 0);
        assert!(credentials(&head).is_none());
        assert!(head.headers.get(header::AUTHORIZATION).is_none());
    }

    /// A verifier that never answers holds the request only until the timeout.
    #[test]
    fn a_verifier_that_hangs_is_given_up_on() {
        let auth = Authenticator::new(|_: String| std::future::pending())
            .with_timeout(Duration::from_secs(3));
        let clock = FakeRuntime::default();
        let mut head = head(&["Bearer good"]);
        {
            let mut check = pin!(auth.authenticate(&mut head, &clock));
            assert!((&mut check).now_or_never().is_none());
            clock.advance(Duration::from_secs(2));
            assert!((&mut check).now_or_never().is_none());
            clock.advance(Duration::from_secs(1));
            check.now_or_never().expect("given up at the timeout");
        }
        assert!(matches!(
            credentials(&head),
            Some(Credentials::Unchecked(why)) if why == "no answer within 3s"
        ));
    }
}
