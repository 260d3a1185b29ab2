//! [`StaticTokens`]: a fixed table of bearer tokens, for simple servers and tests.

use std::fmt;
use std::time::Instant;

use mcp_sse_core::Principal;

use super::{Refusal, Verifier, VerifyFuture};

/// A [`Verifier`] over a fixed table: each token stands for its [`Principal`], for ever (no
/// expiry). For a server with a handful of known clients (an operator's scripts, a CI job);
/// tokens from an authorization server want [`JwtVerifier`](super::jwt::JwtVerifier).
///
/// Every entry is compared with the presented token in time that does not depend on where they
/// differ, so a client cannot find a token byte by byte.
///
/// ```
/// use mcp_sse_app::auth::{Authenticator, StaticTokens};
/// use mcp_sse_app::core::Principal;
///
/// let tokens = StaticTokens::new()
///     .with("s3cret-ci-token", Principal::new("ci").with_scopes(["mcp"]));
/// let authenticator = Authenticator::new(tokens);
/// # let _ = authenticator;
/// ```
#[derive(Clone, Default)]
pub struct StaticTokens {
    entries: Vec<(String, Principal)>,
}

impl fmt::Debug for StaticTokens {
    /// The subjects only: tokens stay out of logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let subjects = self.entries.iter().map(|(_, p)| &p.subject);
        f.debug_struct("StaticTokens")
            .field("subjects", &subjects.collect::<Vec<_>>())
            .finish()
    }
}

impl StaticTokens {
    /// An empty table: every token is refused.
    pub fn new() -> Self {
        Self::default()
    }

    /// With `token` standing for `principal` (a token given twice keeps its first principal).
    pub fn with(mut self, token: impl Into<String>, principal: Principal) -> Self {
        self.entries.push((token.into(), principal));
        self
    }

    /// How many tokens it knows.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether it knows none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The principal of `token`, comparing it with every entry.
    fn lookup(&self, token: &str) -> Option<&Principal> {
        let mut found = None;
        for (known, principal) in &self.entries {
            if same(known.as_bytes(), token.as_bytes()) && found.is_none() {
                found = Some(principal);
            }
        }
        found
    }
}

impl Verifier for StaticTokens {
    fn verify<'a>(&'a self, token: &'a str, _now: Instant) -> VerifyFuture<'a> {
        let outcome = match self.lookup(token) {
            Some(principal) => Ok(principal.clone()),
            None => Err(Refusal::Invalid("unknown token".into())),
        };
        Box::pin(std::future::ready(outcome))
    }
}

/// Whether `a` and `b` are equal, in time that depends on their lengths only.
fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use futures_util::FutureExt;

    use super::*;

    #[test]
    fn each_token_stands_for_its_principal() {
        let tokens = StaticTokens::new()
            .with("alpha-token", Principal::new("alice").with_scopes(["mcp"]))
            .with("bravo-token", Principal::new("bob"))
            .with("alpha-token", Principal::new("shadow"));
        let check = |token: &str| {
            tokens
                .verify(token, Instant::now())
                .now_or_never()
                .expect("ready")
        };
        let alice = check("alpha-token").unwrap();
        assert_eq!(
            (alice.subject.as_str(), alice.scopes.as_slice()),
            ("alice", &["mcp".to_owned()][..])
        );
        assert_eq!(check("bravo-token").unwrap().subject, "bob");
        for wrong in ["alpha-toke", "alpha-tokeN", "alpha-token ", ""] {
            assert_eq!(
                check(wrong),
                Err(Refusal::Invalid("unknown token".into())),
                "{wrong:?}"
            );
        }
        assert!(!format!("{tokens:?}").contains("token\""), "{tokens:?}");
        assert!(StaticTokens::new().is_empty());
    }
}
