//! What the store keeps in Redis: the names of its keys and channels, and how a notice travels
//! on a channel (the sender's node number, `:`, the core's encoding).

use mcp_sse_core::{SessionId, StreamId};

/// The names of the store's keys and channels.
#[derive(Debug)]
pub(crate) struct Keys {
    prefix: String,
    /// The broadcast channel.
    pub(crate) all: String,
}

impl Keys {
    pub(crate) fn new(prefix: String) -> Self {
        let all = format!("{prefix}all");
        Self { prefix, all }
    }

    pub(crate) fn prefix(&self) -> &str {
        &self.prefix
    }

    pub(crate) fn epoch(&self) -> String {
        format!("{}epoch", self.prefix)
    }

    pub(crate) fn node(&self) -> String {
        format!("{}node", self.prefix)
    }

    pub(crate) fn session(&self, session: &SessionId) -> String {
        format!("{}s:{}", self.prefix, session.as_str())
    }

    pub(crate) fn channel(&self, session: &SessionId) -> String {
        format!("{}c:{}", self.prefix, session.as_str())
    }

    /// The channel of one instance: what another instance tells it alone.
    pub(crate) fn node_channel(&self, node: u32) -> String {
        format!("{}n:{node}", self.prefix)
    }

    /// Present while the instance runs (its heartbeat renews it).
    pub(crate) fn alive(&self, node: u32) -> String {
        format!("{}alive:{node}", self.prefix)
    }

    /// The events kept of a stream: a sorted set scored by sequence number.
    pub(crate) fn events(&self, stream: StreamId) -> String {
        format!("{}e:{}", self.prefix, stream.as_u64())
    }

    /// What is kept of a stream besides its events.
    pub(crate) fn meta(&self, stream: StreamId) -> String {
        format!("{}m:{}", self.prefix, stream.as_u64())
    }
}

/// A notice's bytes as they travel: `<node>:` and the notice.
pub(crate) fn frame(node: u32, notice: &[u8]) -> Vec<u8> {
    let mut payload = format!("{node}:").into_bytes();
    payload.extend_from_slice(notice);
    payload
}

/// The sender's node number and the notice's bytes; `None` for a payload [`frame`] did not make.
pub(crate) fn unframe(payload: &[u8]) -> Option<(u32, &[u8])> {
    let colon = payload.iter().position(|&byte| byte == b':')?;
    let node = std::str::from_utf8(&payload[..colon]).ok()?.parse().ok()?;
    Some((node, &payload[colon + 1..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip() {
        let payload = frame(16_777_215, br#"{"kind":"x","a":"b:c"}"#);
        assert_eq!(payload, br#"16777215:{"kind":"x","a":"b:c"}"#);
        assert_eq!(
            unframe(&payload),
            Some((16_777_215, &br#"{"kind":"x","a":"b:c"}"#[..]))
        );
        assert_eq!(unframe(b"7:"), Some((7, &b""[..])));
        for bad in [&b"{}"[..], b":{}", b"x:{}", b"-1:{}", b"99999999999:{}"] {
            assert_eq!(unframe(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn keys_live_under_the_prefix() {
        let keys = Keys::new("app:".into());
        let session = SessionId::parse("s-1").unwrap();
        assert_eq!(keys.session(&session), "app:s:s-1");
        assert_eq!(keys.channel(&session), "app:c:s-1");
        assert_eq!(keys.all, "app:all");
        assert_eq!(
            (keys.epoch(), keys.node()),
            ("app:epoch".into(), "app:node".into())
        );
    }
}
