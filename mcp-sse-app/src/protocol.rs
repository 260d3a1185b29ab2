//! Which HTTP version a new connection speaks, from its first bytes.
//!
//! [`serve`](crate::serve) serves HTTP/1.1 with hyper's `http1` connection and HTTP/2 (prior knowledge, "h2c")
//! with its `http2` connection, chosen per socket, instead of one connection type that can do
//! both: that one is sized for HTTP/2's state, which an idle HTTP/1.1 stream would carry for its
//! whole life (about 7 KiB each).

/// The HTTP version of a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Protocol {
    /// HTTP/1.x.
    Http1,
    /// HTTP/2 with prior knowledge.
    Http2,
}

/// The HTTP/2 connection preface starts so (RFC 9113 §3.4); no HTTP/1.1 method is `PRI`.
const PREFACE: &[u8] = b"PRI ";

/// How many bytes [`sniff`] needs at most.
pub(crate) const SNIFF_LEN: usize = PREFACE.len();

/// The protocol of a connection whose first bytes are `first`, or `None` if they are too few to
/// tell. No bytes at all (the client closed) is HTTP/1.1: hyper answers it.
pub(crate) fn sniff(first: &[u8]) -> Option<Protocol> {
    let n = first.len().min(PREFACE.len());
    if first.is_empty() || first[..n] != PREFACE[..n] {
        return Some(Protocol::Http1);
    }
    (n == PREFACE.len()).then_some(Protocol::Http2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_preface_is_http2_and_anything_else_http1() {
        assert_eq!(sniff(b"PRI * HTTP/2.0\r\n"), Some(Protocol::Http2));
        assert_eq!(sniff(b"POST /mcp HTTP/1.1"), Some(Protocol::Http1));
        assert_eq!(sniff(b"PROPFIND"), Some(Protocol::Http1));
        assert_eq!(sniff(b"GET"), Some(Protocol::Http1));
        assert_eq!(sniff(b""), Some(Protocol::Http1));
        assert_eq!(sniff(b"PR"), None, "could still be either");
    }
}
