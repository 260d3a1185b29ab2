//! The integrity of `requestState` (2026-07-28 `input_required` rounds, SEP-2322).
//!
//! Between rounds the client holds the answers it already gave, and must not be able to forge
//! or alter them. The state is `base64url(JSON) "." base64url(HMAC-SHA-256(key, JSON))`, the
//! JSON naming what it was issued for (method and tool or prompt) and when it expires. The
//! state is not encrypted: it holds only what the client itself answered.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Map, Value, json};
use sha2::Sha256;

use crate::error::Error;

type HmacSha256 = Hmac<Sha256>;

/// The key that protects `requestState`. Servers behind one load balancer must share it, so
/// that a round may land on another instance than the one that issued the state.
#[derive(Clone)]
pub struct StateKey([u8; 32]);

impl StateKey {
    /// A key of these 32 bytes (e.g. from a secret store).
    pub fn new(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// A key from the operating system's random source: states do not survive a restart and
    /// are not accepted by other instances.
    ///
    /// # Panics
    /// When the operating system has no random source.
    pub fn random() -> Self {
        let mut bytes = [0; 32];
        getrandom::fill(&mut bytes).expect("the operating system provides random bytes");
        Self(bytes)
    }

    /// `answers` sealed for `subject`, valid for `lifetime`.
    pub(crate) fn seal(
        &self,
        subject: &str,
        answers: &Map<String, Value>,
        lifetime: Duration,
    ) -> String {
        let expires = unix_seconds(SystemTime::now() + lifetime);
        let payload = json!({ "for": subject, "exp": expires, "answers": answers }).to_string();
        let tag = self.mac(payload.as_bytes()).finalize().into_bytes();
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(payload),
            URL_SAFE_NO_PAD.encode(tag)
        )
    }

    /// The answers sealed for `subject`; `-32602` when the state is not one this key issued for
    /// it, was altered, or has expired.
    pub(crate) fn open(&self, subject: &str, sealed: &str) -> Result<Map<String, Value>, Error> {
        let refused = || {
            Error::invalid_params(
                "Invalid requestState: it failed its integrity check or has expired",
            )
        };
        let (payload, tag) = sealed.split_once('.').ok_or_else(refused)?;
        let payload = URL_SAFE_NO_PAD.decode(payload).map_err(|_| refused())?;
        let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| refused())?;
        // Constant-time comparison.
        self.mac(&payload)
            .verify_slice(&tag)
            .map_err(|_| refused())?;
        let state: Value = serde_json::from_slice(&payload).map_err(|_| refused())?;
        let fresh = state["exp"]
            .as_u64()
            .is_some_and(|expires| expires >= unix_seconds(SystemTime::now()));
        if state["for"] != subject || !fresh {
            return Err(refused());
        }
        match state.get("answers") {
            Some(Value::Object(answers)) => Ok(answers.clone()),
            _ => Err(refused()),
        }
    }

    fn mac(&self, payload: &[u8]) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.0).expect("HMAC takes keys of any length");
        mac.update(payload);
        mac
    }
}

impl fmt::Debug for StateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StateKey(..)")
    }
}

fn unix_seconds(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: Duration = Duration::from_secs(3600);

    fn answers() -> Map<String, Value> {
        let mut answers = Map::new();
        answers.insert(
            "name".into(),
            json!({ "action": "accept", "content": { "name": "Ada" } }),
        );
        answers
    }

    #[test]
    fn a_sealed_state_opens_for_its_subject_under_the_same_key() {
        let key = StateKey::new([7; 32]);
        let sealed = key.seal("tools/call:greet", &answers(), HOUR);
        assert_eq!(
            key.open("tools/call:greet", &sealed).expect("opens"),
            answers()
        );
        // Another instance sharing the key accepts it too.
        let shared = StateKey::new([7; 32]);
        assert!(shared.open("tools/call:greet", &sealed).is_ok());
    }

    #[test]
    fn altered_foreign_misdirected_and_expired_states_are_refused() {
        let key = StateKey::new([7; 32]);
        let sealed = key.seal("tools/call:greet", &answers(), HOUR);
        let (payload, tag) = sealed.split_once('.').expect("two parts");
        let mut forged =
            String::from_utf8(URL_SAFE_NO_PAD.decode(payload).expect("base64")).expect("utf-8");
        forged = forged.replace("Ada", "Eve");
        let forged = format!("{}.{tag}", URL_SAFE_NO_PAD.encode(forged));
        let expired = key.seal("tools/call:greet", &answers(), Duration::ZERO);
        std::thread::sleep(Duration::from_millis(1100));
        for (what, subject, state, with) in [
            ("altered", "tools/call:greet", forged.as_str(), &key),
            (
                "other key",
                "tools/call:greet",
                sealed.as_str(),
                &StateKey::new([8; 32]),
            ),
            ("other tool", "tools/call:other", sealed.as_str(), &key),
            ("expired", "tools/call:greet", expired.as_str(), &key),
            ("garbage", "tools/call:greet", "not a state", &key),
        ] {
            let error = with.open(subject, state).expect_err(what);
            assert_eq!(error.code(), Some(-32602), "{what}");
        }
    }
}
