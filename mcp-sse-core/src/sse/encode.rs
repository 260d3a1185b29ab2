//! The encoder: events and comments as `text/event-stream` frames (docs/requirements.md E4.1–E4.5).

use std::ops::Range;

use bytes::{BufMut as _, Bytes, BytesMut};

use crate::Chunk;

/// A line of payload longer than this is framed without copying it; shorter ones are copied,
/// since a refcounted slice plus a vectored-write entry costs more than a small `memcpy`.
const COPY_LIMIT: usize = 1024;

/// Why a field could not be encoded.
///
/// Splitting these fields over several lines would change their meaning (E4.2), so the encoder
/// refuses them instead; the caller chose the value, so this is an API misuse, not peer input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldError {
    /// A CR or LF in the event name would end the field and start a new one.
    #[error("event name contains a line break")]
    LineBreakInEventName,
    /// A CR or LF in the id would end the field and start a new one.
    #[error("event id contains a line break")]
    LineBreakInId,
    /// Clients silently ignore an `id` field containing U+0000 (E2.5).
    #[error("event id contains NUL")]
    NulInId,
    /// A CR or LF in a comment would turn the rest of it into fields.
    #[error("comment contains a line break")]
    LineBreakInComment,
}

/// The fields of one event to encode.
///
/// Fields are written in the order `event`, `id`, `retry`, `data` (the order the TypeScript SDK
/// uses, S2.34). `data: None` writes no data line, so the event only updates the client's state
/// (an `id` or a `retry`) and dispatches nothing. `data: Some(empty)` writes one empty `data: `
/// line, which dispatches an event with empty data: the MCP 2025-11-25 priming event (S2.16,
/// S2.34).
#[derive(Debug, Clone, Default)]
pub struct Fields<'a> {
    /// The event type; clients use `message` when absent or empty.
    pub event: Option<&'a str>,
    /// The event id, which the client echoes as `Last-Event-ID` on reconnect.
    pub id: Option<&'a str>,
    /// The reconnection time in milliseconds.
    pub retry: Option<u64>,
    /// The payload, kept as the caller's buffer when it is large.
    pub data: Option<Bytes>,
}

/// Encodes one event, ending it with a blank line so the client dispatches it at once (E2.7).
///
/// The payload is split on every CR, LF and CRLF into one `data: ` line per piece (E4.1), so no
/// payload can inject a field or end the event early; the client joins the pieces with LF, so
/// CRLF and lone CR come back as LF. Lines longer than 1 KiB are not copied: they appear in the
/// [`Chunk`] as slices of `data`.
pub fn encode(event: &Fields<'_>) -> Result<Chunk, FieldError> {
    if let Some(name) = event.event
        && has_line_break(name.as_bytes())
    {
        return Err(FieldError::LineBreakInEventName);
    }
    if let Some(id) = event.id {
        if has_line_break(id.as_bytes()) {
            return Err(FieldError::LineBreakInId);
        }
        if id.as_bytes().contains(&0) {
            return Err(FieldError::NulInId);
        }
    }

    let mut header_len = 0;
    if let Some(name) = event.event {
        header_len += b"event: \n".len() + name.len();
    }
    if let Some(id) = event.id {
        header_len += b"id: \n".len() + id.len();
    }
    if let Some(ms) = event.retry {
        header_len += b"retry: \n".len() + decimal_len(ms);
    }

    let write_header = |buf: &mut BytesMut| {
        if let Some(name) = event.event {
            put_field(buf, b"event: ", name.as_bytes());
        }
        if let Some(id) = event.id {
            put_field(buf, b"id: ", id.as_bytes());
        }
        if let Some(ms) = event.retry {
            buf.put_slice(b"retry: ");
            put_decimal(buf, ms);
            buf.put_u8(b'\n');
        }
    };

    let Some(payload) = &event.data else {
        let mut buf = BytesMut::with_capacity(header_len + 1);
        write_header(&mut buf);
        buf.put_u8(b'\n');
        return Ok(Chunk::from(buf.freeze()));
    };

    // Fast path: compact JSON has no raw line breaks (E4.1), so one scan settles it.
    if !has_line_break(payload) {
        let framing = b"data: ".len() + b"\n\n".len();
        if payload.len() <= COPY_LIMIT {
            let mut buf = BytesMut::with_capacity(header_len + framing + payload.len());
            write_header(&mut buf);
            buf.put_slice(b"data: ");
            buf.put_slice(payload);
            buf.put_slice(b"\n\n");
            return Ok(Chunk::from(buf.freeze()));
        }
        let mut head = BytesMut::with_capacity(header_len + b"data: ".len());
        write_header(&mut head);
        head.put_slice(b"data: ");
        let mut chunk = Chunk::from(head.freeze());
        chunk.push(payload.clone());
        chunk.push(Bytes::from_static(b"\n\n"));
        return Ok(chunk);
    }

    // Size the copied part exactly, so every copied byte shares one allocation.
    let mut copied = header_len + b"\n".len();
    for line in Lines::new(payload) {
        copied += b"data: \n".len();
        if line.len() <= COPY_LIMIT {
            copied += line.len();
        }
    }
    let mut buf = BytesMut::with_capacity(copied);
    let mut chunk = Chunk::new();
    write_header(&mut buf);
    for line in Lines::new(payload) {
        buf.put_slice(b"data: ");
        if line.len() <= COPY_LIMIT {
            buf.put_slice(&payload[line]);
        } else {
            chunk.push(buf.split().freeze());
            chunk.push(payload.slice(line));
        }
        buf.put_u8(b'\n');
    }
    buf.put_u8(b'\n');
    chunk.push(buf.freeze());
    Ok(chunk)
}

/// Encodes a comment frame: `:` + `text` + a blank line (E4.5).
///
/// Clients never dispatch comments, which makes them the keepalive of choice (E5.1). `text` is
/// written verbatim, so pass `" keepalive"` to get the conventional `: keepalive`. The blank line
/// keeps the frame self-contained; after a block of comments only it dispatches nothing.
pub fn encode_comment(text: &str) -> Result<Chunk, FieldError> {
    if has_line_break(text.as_bytes()) {
        return Err(FieldError::LineBreakInComment);
    }
    let mut buf = BytesMut::with_capacity(text.len() + b":\n\n".len());
    buf.put_u8(b':');
    buf.put_slice(text.as_bytes());
    buf.put_slice(b"\n\n");
    Ok(Chunk::from(buf.freeze()))
}

/// `retry: <ms>` alone, as its own block: sets the client's reconnection time, dispatches nothing.
pub fn encode_retry(ms: u64) -> Chunk {
    let mut buf = BytesMut::with_capacity(b"retry: \n\n".len() + decimal_len(ms));
    buf.put_slice(b"retry: ");
    put_decimal(&mut buf, ms);
    buf.put_slice(b"\n\n");
    Chunk::from(buf.freeze())
}

fn has_line_break(bytes: &[u8]) -> bool {
    // `<[u8]>::contains` uses the word-at-a-time memchr of `core`.
    bytes.contains(&b'\n') || bytes.contains(&b'\r')
}

fn put_field(buf: &mut BytesMut, name: &[u8], value: &[u8]) {
    buf.put_slice(name);
    buf.put_slice(value);
    buf.put_u8(b'\n');
}

fn decimal_len(mut n: u64) -> usize {
    let mut len = 1;
    while n >= 10 {
        n /= 10;
        len += 1;
    }
    len
}

fn put_decimal(buf: &mut BytesMut, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    buf.put_slice(&digits[start..]);
}

/// The lines of a payload as byte ranges, split on CRLF, lone LF and lone CR (E2.2).
///
/// A payload ending in a line break yields a final empty line, so the client rebuilds that
/// break; an empty payload is one empty line.
struct Lines<'a> {
    bytes: &'a [u8],
    pos: usize,
    done: bool,
}

impl<'a> Lines<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Self {
            bytes,
            pos: 0,
            done: false,
        }
    }
}

impl Iterator for Lines<'_> {
    type Item = Range<usize>;

    fn next(&mut self) -> Option<Range<usize>> {
        if self.done {
            return None;
        }
        let start = self.pos;
        let rest = &self.bytes[start..];
        match rest.iter().position(|&b| b == b'\n' || b == b'\r') {
            Some(i) => {
                let end = start + i;
                let crlf = rest[i] == b'\r' && rest.get(i + 1) == Some(&b'\n');
                self.pos = end + if crlf { 2 } else { 1 };
                Some(start..end)
            }
            None => {
                self.done = true;
                Some(start..self.bytes.len())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(chunk: Chunk) -> String {
        String::from_utf8(chunk.into_bytes().to_vec()).expect("test frames are UTF-8")
    }

    fn data(payload: &'static str) -> Fields<'static> {
        Fields {
            data: Some(Bytes::from_static(payload.as_bytes())),
            ..Fields::default()
        }
    }

    #[test]
    fn e4_3_fields_in_order_with_colon_space() {
        let event = Fields {
            event: Some("message"),
            id: Some("7"),
            retry: Some(3000),
            data: Some(Bytes::from_static(b"{}")),
        };
        assert_eq!(
            wire(encode(&event).unwrap()),
            "event: message\nid: 7\nretry: 3000\ndata: {}\n\n"
        );
    }

    #[test]
    fn e4_3_leading_space_of_value_survives() {
        let event = Fields {
            event: Some(" spaced"),
            ..data(" x")
        };
        assert_eq!(
            wire(encode(&event).unwrap()),
            "event:  spaced\ndata:  x\n\n"
        );
    }

    #[test]
    fn e4_1_data_split_on_cr_lf_and_crlf() {
        assert_eq!(
            wire(encode(&data("a\nb\r\nc\rd")).unwrap()),
            "data: a\ndata: b\ndata: c\ndata: d\n\n"
        );
        // CR then LF is one break, LF then CR is two.
        assert_eq!(
            wire(encode(&data("a\n\rb")).unwrap()),
            "data: a\ndata: \ndata: b\n\n"
        );
    }

    #[test]
    fn e4_1_trailing_break_gives_final_empty_data_line() {
        assert_eq!(wire(encode(&data("a\r\n")).unwrap()), "data: a\ndata: \n\n");
    }

    #[test]
    fn e4_1_injection_attempt_stays_data() {
        assert_eq!(
            wire(encode(&data("x\n\nid: evil\nevent: y")).unwrap()),
            "data: x\ndata: \ndata: id: evil\ndata: event: y\n\n"
        );
    }

    #[test]
    fn s2_34_priming_event_has_one_empty_data_line() {
        let event = Fields {
            id: Some("x"),
            ..data("")
        };
        assert_eq!(wire(encode(&event).unwrap()), "id: x\ndata: \n\n");
        let event = Fields {
            id: Some("x"),
            retry: Some(0),
            ..data("")
        };
        assert_eq!(wire(encode(&event).unwrap()), "id: x\nretry: 0\ndata: \n\n");
    }

    #[test]
    fn no_data_writes_no_data_line() {
        let event = Fields {
            retry: Some(u64::MAX),
            ..Fields::default()
        };
        assert_eq!(
            wire(encode(&event).unwrap()),
            "retry: 18446744073709551615\n\n"
        );
        assert_eq!(wire(encode(&Fields::default()).unwrap()), "\n");
    }

    #[test]
    fn e4_2_bad_names_and_ids_rejected() {
        let named = |name| Fields {
            event: Some(name),
            ..data("x")
        };
        let with_id = |id| Fields {
            id: Some(id),
            ..data("x")
        };
        assert_eq!(
            encode(&named("a\nb")).unwrap_err(),
            FieldError::LineBreakInEventName
        );
        assert_eq!(
            encode(&named("a\r")).unwrap_err(),
            FieldError::LineBreakInEventName
        );
        assert_eq!(
            encode(&with_id("\r")).unwrap_err(),
            FieldError::LineBreakInId
        );
        assert_eq!(encode(&with_id("a\0")).unwrap_err(), FieldError::NulInId);
        assert!(
            encode(&with_id("")).is_ok(),
            "an empty id resets Last-Event-ID"
        );
    }

    #[test]
    fn e4_5_comments() {
        assert_eq!(
            wire(encode_comment(" keepalive").unwrap()),
            ": keepalive\n\n"
        );
        assert_eq!(wire(encode_comment("").unwrap()), ":\n\n");
        assert_eq!(
            encode_comment("a\nb").unwrap_err(),
            FieldError::LineBreakInComment
        );
        assert_eq!(
            encode_comment("a\r").unwrap_err(),
            FieldError::LineBreakInComment
        );
    }

    #[test]
    fn retry_frame() {
        assert_eq!(wire(encode_retry(0)), "retry: 0\n\n");
        assert_eq!(wire(encode_retry(1500)), "retry: 1500\n\n");
    }

    #[test]
    fn small_payload_is_one_exactly_sized_piece() {
        let event = Fields {
            event: Some("message"),
            ..data("{\"jsonrpc\":\"2.0\"}")
        };
        let chunk = encode(&event).unwrap();
        assert_eq!(chunk.pieces().count(), 1);
        let bytes = chunk.into_bytes();
        assert_eq!(
            &bytes[..],
            b"event: message\ndata: {\"jsonrpc\":\"2.0\"}\n\n"
        );
    }

    #[test]
    fn large_payload_is_not_copied() {
        let payload = Bytes::from(vec![b'x'; 4096]);
        let event = Fields {
            id: Some("1"),
            data: Some(payload.clone()),
            ..Fields::default()
        };
        let chunk = encode(&event).unwrap();
        let pieces: Vec<&Bytes> = chunk.pieces().collect();
        assert_eq!(pieces.len(), 3);
        assert_eq!(&pieces[0][..], b"id: 1\ndata: ");
        assert_eq!(
            pieces[1].as_ptr(),
            payload.as_ptr(),
            "the payload is shared"
        );
        assert_eq!(&pieces[2][..], b"\n\n");
    }

    #[test]
    fn large_lines_are_slices_small_lines_are_copied() {
        let mut raw = vec![b'a'; 2000];
        raw.extend_from_slice(b"\r\nsmall\n");
        raw.extend(std::iter::repeat_n(b'b', 3000));
        let payload = Bytes::from(raw);
        let chunk = encode(&Fields {
            data: Some(payload.clone()),
            ..Fields::default()
        })
        .unwrap();
        let pieces: Vec<&Bytes> = chunk.pieces().collect();
        assert_eq!(pieces.len(), 5);
        assert_eq!(&pieces[0][..], b"data: ");
        assert_eq!(pieces[1].as_ptr(), payload.as_ptr());
        assert_eq!(&pieces[2][..], b"\ndata: small\ndata: ");
        assert_eq!(pieces[3].as_ptr(), payload[2008..].as_ptr());
        assert_eq!(&pieces[4][..], b"\n\n");
        let mut expected = b"data: ".to_vec();
        expected.extend(std::iter::repeat_n(b'a', 2000));
        expected.extend_from_slice(b"\ndata: small\ndata: ");
        expected.extend(std::iter::repeat_n(b'b', 3000));
        expected.extend_from_slice(b"\n\n");
        assert_eq!(chunk.into_bytes(), expected);
    }

    #[test]
    fn lines_iterator() {
        let lines = |s: &str| -> Vec<String> {
            Lines::new(s.as_bytes()).map(|r| s[r].to_owned()).collect()
        };
        assert_eq!(lines(""), [""]);
        assert_eq!(lines("\n"), ["", ""]);
        assert_eq!(lines("\r\n"), ["", ""]);
        assert_eq!(lines("\r\r\n\n"), ["", "", "", ""]);
        assert_eq!(lines("a\rb"), ["a", "b"]);
    }

    #[test]
    fn decimal() {
        for n in [0, 9, 10, 99, 100, 12345, u64::MAX] {
            let mut buf = BytesMut::new();
            put_decimal(&mut buf, n);
            assert_eq!(&buf[..], n.to_string().as_bytes());
            assert_eq!(decimal_len(n), n.to_string().len());
        }
    }
}
