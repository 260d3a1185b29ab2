//! The JWT verifier against a key set served from memory: tokens signed here with test keys
//! (`keys/`, made for these tests only).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures_util::FutureExt;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{EncodingKey, encode};
use serde_json::json;

use super::*;

const ISSUER: &str = "https://auth.example.com";
const RESOURCE: &str = "https://mcp.example.com/mcp";
const JWKS: &str = "https://auth.example.com/jwks";

/// Documents by URL; counts every GET.
#[derive(Default)]
struct Documents {
    served: Mutex<HashMap<String, Bytes>>,
    gets: AtomicUsize,
}

impl Documents {
    fn serve(&self, url: &str, document: Value) {
        let body = Bytes::from(document.to_string());
        self.served.lock().unwrap().insert(url.to_owned(), body);
    }

    fn withdraw(&self, url: &str) {
        self.served.lock().unwrap().remove(url);
    }

    fn gets(&self) -> usize {
        self.gets.load(Ordering::SeqCst)
    }
}

impl Fetch for Documents {
    fn get<'a>(&'a self, url: &'a str, limit: usize) -> FetchFuture<'a> {
        self.gets.fetch_add(1, Ordering::SeqCst);
        let outcome = match self.served.lock().unwrap().get(url) {
            Some(body) if body.len() <= limit => Ok(body.clone()),
            Some(_) => Err(FetchError("too long".into())),
            None => Err(FetchError("404 Not Found".into())),
        };
        Box::pin(std::future::ready(outcome))
    }
}

struct SigningKey {
    kid: &'static str,
    alg: Algorithm,
    key: EncodingKey,
}

impl SigningKey {
    fn rsa(kid: &'static str, pem: &[u8]) -> Self {
        let key = EncodingKey::from_rsa_pem(pem).unwrap();
        Self {
            kid,
            alg: Algorithm::RS256,
            key,
        }
    }

    fn a() -> Self {
        Self::rsa("a", include_bytes!("keys/rsa-a.pem"))
    }

    fn b() -> Self {
        Self::rsa("b", include_bytes!("keys/rsa-b.pem"))
    }

    fn ec() -> Self {
        let key = EncodingKey::from_ec_pem(include_bytes!("keys/ec.pem")).unwrap();
        Self {
            kid: "ec",
            alg: Algorithm::ES256,
            key,
        }
    }

    fn jwk(&self) -> Value {
        let mut jwk = Jwk::from_encoding_key(&self.key, self.alg).unwrap();
        jwk.common.key_id = Some(self.kid.to_owned());
        serde_json::to_value(jwk).unwrap()
    }

    /// A token with `claims` over the defaults (issuer, audience, subject, an hour to live).
    fn sign(&self, claims: Value) -> String {
        self.sign_as(self.kid, claims)
    }

    fn sign_as(&self, kid: &str, claims: Value) -> String {
        let mut all = json!({
            "iss": ISSUER, "aud": RESOURCE, "sub": "alice",
            "iat": unix_now(), "exp": unix_now() + 3600,
        });
        for (name, value) in claims.as_object().unwrap() {
            all[name] = value.clone();
        }
        let mut header = Header::new(self.alg);
        header.kid = Some(kid.to_owned());
        encode(&header, &all, &self.key).unwrap()
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn jwks(keys: &[&SigningKey]) -> Value {
    json!({ "keys": keys.iter().map(|k| k.jwk()).collect::<Vec<_>>() })
}

/// A verifier of tokens from `ISSUER` for `RESOURCE` whose key set holds `keys`.
fn verifier(keys: &[&SigningKey]) -> (JwtVerifier, Arc<Documents>) {
    let documents = Arc::new(Documents::default());
    documents.serve(JWKS, jwks(keys));
    let config = JwtConfig::new(ISSUER, RESOURCE).with_jwks_uri(JWKS);
    (
        JwtVerifier::new(config, documents.clone()).unwrap(),
        documents,
    )
}

fn check(verifier: &JwtVerifier, token: &str, now: Instant) -> Result<Principal, Refusal> {
    verifier
        .verify(token, now)
        .now_or_never()
        .expect("the fetch is ready at once")
}

fn invalid(why: &str) -> Result<Principal, Refusal> {
    Err(Refusal::Invalid(why.into()))
}

#[test]
fn a_good_token_gives_its_subject_client_scopes_expiry_and_claims() {
    let a = SigningKey::a();
    let (verifier, _) = verifier(&[&a]);
    let now = Instant::now();
    let token = a.sign(json!({"client_id": "app-1", "scope": "mcp tools:call", "tenant": 7}));
    let principal = check(&verifier, &token, now).unwrap();
    assert_eq!(principal.subject, "alice");
    assert_eq!(principal.client_id.as_deref(), Some("app-1"));
    assert_eq!(principal.scopes, ["mcp", "tools:call"]);
    let expires = principal.expires.expect("exp").duration_since(now);
    assert!(
        (Duration::from_secs(3590)..=Duration::from_secs(3600)).contains(&expires),
        "{expires:?}"
    );
    assert_eq!(principal.claims["tenant"], 7);
    assert_eq!(principal.claims["iss"], ISSUER);
    assert!(!principal.claims.contains_key("sub"));

    // `scp` as a list and `azp` when there is no `scope` and no `client_id`.
    let token = a.sign(json!({"azp": "app-2", "scp": ["read", "write"]}));
    let principal = check(&verifier, &token, now).unwrap();
    assert_eq!(principal.client_id.as_deref(), Some("app-2"));
    assert_eq!(principal.scopes, ["read", "write"]);
    // Another of several audiences is fine.
    let token = a.sign(json!({"aud": ["https://other.example.com", RESOURCE]}));
    assert!(check(&verifier, &token, now).is_ok());
}

#[test]
fn a_token_for_another_resource_or_from_another_issuer_is_refused_s4_5() {
    let a = SigningKey::a();
    let (verifier, _) = verifier(&[&a]);
    let now = Instant::now();
    let token = a.sign(json!({"aud": "https://other.example.com/mcp"}));
    assert_eq!(
        check(&verifier, &token, now),
        invalid("token not issued for this resource (aud)")
    );
    let token = a.sign(json!({"iss": "https://evil.example.com"}));
    assert_eq!(
        check(&verifier, &token, now),
        invalid("token from another issuer (iss)")
    );
    let mut claims = json!({"iss": ISSUER, "sub": "alice", "exp": unix_now() + 60});
    let no_audience = {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some("a".into());
        encode(&header, &claims, &a.key).unwrap()
    };
    assert_eq!(
        check(&verifier, &no_audience, now),
        invalid("token without aud")
    );
    claims["aud"] = json!(RESOURCE);
    claims.as_object_mut().unwrap().remove("sub");
    let no_subject = encode(&Header::new(Algorithm::RS256), &claims, &a.key).unwrap();
    assert_eq!(
        check(&verifier, &no_subject, now),
        invalid("token without sub")
    );
}

#[test]
fn expiry_and_not_before_hold_within_the_clock_skew() {
    let a = SigningKey::a();
    let (verifier, _) = verifier(&[&a]);
    let now = Instant::now();
    let expired = a.sign(json!({"exp": unix_now() - 120}));
    assert_eq!(check(&verifier, &expired, now), invalid("token expired"));
    let just_expired = a.sign(json!({"exp": unix_now() - 30}));
    let principal = check(&verifier, &just_expired, now).expect("within the 60 s skew");
    assert_eq!(principal.expires, Some(now), "already due on this clock");
    let early = a.sign(json!({"nbf": unix_now() + 120}));
    assert_eq!(
        check(&verifier, &early, now),
        invalid("token not valid yet (nbf)")
    );
    let no_expiry = {
        let claims = json!({"iss": ISSUER, "aud": RESOURCE, "sub": "alice"});
        encode(&Header::new(Algorithm::RS256), &claims, &a.key).unwrap()
    };
    assert_eq!(
        check(&verifier, &no_expiry, now),
        invalid("token without exp")
    );
}

#[test]
fn only_the_allowed_asymmetric_algorithms_verify() {
    let a = SigningKey::a();
    let ec = SigningKey::ec();
    let (verifier, _) = verifier(&[&a, &ec]);
    let now = Instant::now();
    assert!(check(&verifier, &ec.sign(json!({})), now).is_ok());

    // The classic confusion: HMAC keyed with the public key the set publishes.
    let public = serde_json::to_vec(&a.jwk()).unwrap();
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("a".into());
    let claims = json!({"iss": ISSUER, "aud": RESOURCE, "sub": "alice", "exp": unix_now() + 60});
    let hmac = encode(
        &header,
        &claims,
        &EncodingKey::from_secret(&public).unwrap(),
    )
    .unwrap();
    assert_eq!(
        check(&verifier, &hmac, now),
        invalid("signature algorithm HS256 not accepted")
    );
    // `none` is no algorithm at all.
    let b64 = |v: Value| {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let unsigned = format!(
        "{}.{}.",
        b64(json!({"alg": "none", "kid": "a"})),
        b64(claims)
    );
    assert_eq!(check(&verifier, &unsigned, now), invalid("malformed token"));
    // An RSA key named for an EC token does not verify it.
    let mislabelled = ec.sign_as("a", json!({}));
    assert_eq!(
        check(&verifier, &mislabelled, now),
        invalid("no key a for ES256")
    );
    // Signed by a key the set does not hold, under the id of one it does.
    let forged = SigningKey::b().sign_as("a", json!({}));
    assert_eq!(check(&verifier, &forged, now), invalid("bad signature"));

    // A verifier that allows RS256 only refuses ES256.
    let documents = Arc::new(Documents::default());
    documents.serve(JWKS, jwks(&[&a, &ec]));
    let mut config = JwtConfig::new(ISSUER, RESOURCE).with_jwks_uri(JWKS);
    config.algorithms = vec![Algorithm::RS256];
    let rs256_only = JwtVerifier::new(config.clone(), documents).unwrap();
    assert_eq!(
        check(&rs256_only, &ec.sign(json!({})), now),
        invalid("signature algorithm ES256 not accepted")
    );
    config.algorithms = vec![Algorithm::RS256, Algorithm::HS256];
    let error = JwtVerifier::new(config.clone(), Arc::new(Documents::default())).unwrap_err();
    assert_eq!(error, JwtConfigError::Symmetric(Algorithm::HS256));
    config.algorithms.clear();
    let error = JwtVerifier::new(config, Arc::new(Documents::default())).unwrap_err();
    assert_eq!(error, JwtConfigError::NoAlgorithm);
}

/// A new key is fetched when a token names it, at most once per refetch interval.
#[test]
fn a_rotated_key_is_fetched_when_a_token_names_it() {
    let (a, b) = (SigningKey::a(), SigningKey::b());
    let (verifier, documents) = verifier(&[&a]);
    let start = Instant::now();
    assert!(check(&verifier, &a.sign(json!({})), start).is_ok());
    assert_eq!(documents.gets(), 1);
    assert!(check(&verifier, &a.sign(json!({})), start).is_ok());
    assert_eq!(documents.gets(), 1, "kept");

    // The issuer rotates to b. Within the refetch interval of the last fetch, an unknown key
    // is refused without a fetch, however many tokens name one.
    documents.serve(JWKS, jwks(&[&a, &b]));
    let soon = start + Duration::from_secs(5);
    for kid in ["b", "made-up-1", "made-up-2"] {
        let token = b.sign_as(kid, json!({}));
        assert_eq!(
            check(&verifier, &token, soon),
            invalid(&format!("no key {kid} for RS256"))
        );
    }
    assert_eq!(documents.gets(), 1);
    let later = start + Duration::from_secs(10);
    assert!(check(&verifier, &b.sign(json!({})), later).is_ok());
    assert_eq!(documents.gets(), 2, "fetched again for b");
    assert!(check(&verifier, &a.sign(json!({})), later).is_ok());
    // Made-up ids right after: no fetch.
    let token = b.sign_as("made-up-3", json!({}));
    assert!(check(&verifier, &token, later + Duration::from_secs(1)).is_err());
    assert_eq!(documents.gets(), 2);

    // Once the keys are older than their max age they are fetched again: a is gone.
    documents.serve(JWKS, jwks(&[&b]));
    let old = later + Duration::from_secs(300);
    assert_eq!(
        check(&verifier, &a.sign(json!({})), old),
        invalid("no key a for RS256")
    );
    assert_eq!(documents.gets(), 3);
    assert!(check(&verifier, &b.sign(json!({})), old).is_ok());
}

#[test]
fn keys_that_cannot_be_fetched_leave_tokens_unchecked_not_invalid() {
    let a = SigningKey::a();
    let (verifier, documents) = verifier(&[&a]);
    documents.withdraw(JWKS);
    let start = Instant::now();
    let token = a.sign(json!({}));
    let unavailable = check(&verifier, &token, start);
    assert!(
        matches!(&unavailable, Err(Refusal::Unavailable(why)) if why.contains("404 Not Found")),
        "{unavailable:?}"
    );
    // Within the refetch interval: still unchecked, and no second fetch.
    let soon = check(&verifier, &token, start + Duration::from_secs(1));
    assert!(matches!(soon, Err(Refusal::Unavailable(_))), "{soon:?}");
    assert_eq!(documents.gets(), 1);

    // Once fetched, keys past their age go on being used while the issuer is unreachable.
    documents.serve(JWKS, jwks(&[&a]));
    let later = start + Duration::from_secs(10);
    assert!(check(&verifier, &token, later).is_ok());
    documents.withdraw(JWKS);
    let old = later + Duration::from_secs(600);
    assert!(check(&verifier, &token, old).is_ok());
    assert_eq!(documents.gets(), 3);
}

#[test]
fn the_key_set_is_found_from_the_issuers_metadata() {
    let a = SigningKey::a();
    let documents = Arc::new(Documents::default());
    let issuer = "https://auth.example.com/tenant";
    let metadata = "https://auth.example.com/.well-known/oauth-authorization-server/tenant";
    documents.serve(metadata, json!({"issuer": issuer, "jwks_uri": JWKS}));
    documents.serve(JWKS, jwks(&[&a]));
    let verifier = JwtVerifier::new(JwtConfig::new(issuer, RESOURCE), documents.clone()).unwrap();
    let token = a.sign(json!({"iss": issuer}));
    let now = Instant::now();
    assert!(check(&verifier, &token, now).is_ok());
    assert_eq!(documents.gets(), 2);

    // OpenID Connect's document when there is no RFC 8414 one; its issuer must be the one
    // configured.
    let documents = Arc::new(Documents::default());
    let openid = format!("{ISSUER}/.well-known/openid-configuration");
    documents.serve(
        &openid,
        json!({"issuer": "https://evil.example.com", "jwks_uri": JWKS}),
    );
    documents.serve(JWKS, jwks(&[&a]));
    let verifier = JwtVerifier::new(JwtConfig::new(ISSUER, RESOURCE), documents.clone()).unwrap();
    let refused = check(&verifier, &a.sign(json!({})), now);
    assert!(
        matches!(&refused, Err(Refusal::Unavailable(why)) if why.contains("names the issuer")),
        "{refused:?}"
    );
    documents.serve(&openid, json!({"issuer": ISSUER, "jwks_uri": JWKS}));
    let later = now + Duration::from_secs(10);
    assert!(check(&verifier, &a.sign(json!({})), later).is_ok());
}

/// Requests that need the keys while they are fetched wait for that one fetch.
#[test]
fn one_fetch_at_a_time() {
    struct Gated {
        documents: Documents,
        open: futures_util::future::Shared<futures_channel::oneshot::Receiver<()>>,
    }
    impl Fetch for Gated {
        fn get<'a>(&'a self, url: &'a str, limit: usize) -> FetchFuture<'a> {
            let open = self.open.clone();
            Box::pin(async move {
                let _ = open.await;
                self.documents.get(url, limit).await
            })
        }
    }
    let a = SigningKey::a();
    let (release, open) = futures_channel::oneshot::channel();
    let gated = Arc::new(Gated {
        documents: Documents::default(),
        open: open.shared(),
    });
    gated.documents.serve(JWKS, jwks(&[&a]));
    let config = JwtConfig::new(ISSUER, RESOURCE).with_jwks_uri(JWKS);
    let verifier = JwtVerifier::new(config, gated.clone()).unwrap();
    let token = a.sign(json!({}));
    let now = Instant::now();
    let mut first = verifier.verify(&token, now);
    let mut second = verifier.verify(&token, now);
    assert!((&mut first).now_or_never().is_none());
    assert!((&mut second).now_or_never().is_none());
    release.send(()).unwrap();
    assert!(first.now_or_never().expect("fetched").is_ok());
    assert!(second.now_or_never().expect("woken").is_ok());
    assert_eq!(gated.documents.gets(), 1);
}
