//! The decoder: WHATWG "interpreting an event stream", step by step
//! (docs/requirements.md E2.1–E2.7).

use std::borrow::Cow;

/// The UTF-8 byte order mark, stripped once at the start of a stream (E2.1).
const BOM: [u8; 3] = [0xEF, 0xBB, 0xBF];

/// An event as a browser's `EventSource` would dispatch it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedEvent {
    /// The `event` field, or `message` when it was absent or empty.
    pub event_type: String,
    /// The `data` lines joined with LF (the trailing LF stripped).
    pub data: String,
    /// The last event ID buffer at dispatch time: what the event's `lastEventId` would be.
    pub last_event_id: String,
}

/// What the decoder reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// A dispatched event.
    Event(DecodedEvent),
    /// A comment line's text after `:`, verbatim (a leading space is kept).
    ///
    /// Browsers ignore comments; they are reported for tests and keepalive checks.
    Comment(String),
}

/// A streaming `text/event-stream` decoder that follows the WHATWG algorithm exactly.
///
/// Bytes may be fed in any pieces: the items are the same as for the whole stream at once, since
/// a CR at the end of one piece and an LF at the start of the next are one line end (E2.2) and a
/// BOM may arrive split (E2.1). Each byte is examined once and partial lines are buffered, so
/// decoding is linear in the input.
///
/// One decoder can follow an `EventSource` across reconnects: call [`Decoder::finish`] at the end
/// of each response body, and the reconnection time and last event ID carry over.
#[derive(Debug, Default)]
pub struct Decoder {
    /// The bytes of the line being read, when a piece ended inside it.
    line: Vec<u8>,
    /// The last byte fed was a CR, which ended a line; an LF right after it belongs to it.
    after_cr: bool,
    /// Bytes of the BOM matched at the start of the stream, held back until it is settled.
    bom_matched: usize,
    /// The start of the stream (and any BOM) is behind us.
    in_body: bool,
    data: String,
    event_type: String,
    id_buffer: String,
    /// The source's last event ID: the buffer as of the last dispatch (E2.6 step 1).
    last_event_id: String,
    retry: Option<u64>,
}

impl Decoder {
    /// A decoder at the start of a stream, with no last event ID and no reconnection time.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds bytes; returns the items completed by them, in order.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Item> {
        let mut out = Vec::new();
        self.feed_into(bytes, &mut out);
        out
    }

    /// Feeds bytes, appending the items completed by them to `out`.
    pub fn feed_into(&mut self, bytes: &[u8], out: &mut Vec<Item>) {
        let mut input = bytes;
        if !self.in_body {
            // E2.1: one BOM, only at the very start, possibly split across pieces.
            while let Some((&byte, rest)) = input.split_first() {
                if byte != BOM[self.bom_matched] {
                    // Not a BOM after all: the held bytes are text (none of them is CR or LF).
                    self.line.extend_from_slice(&BOM[..self.bom_matched]);
                    self.in_body = true;
                    break;
                }
                input = rest;
                self.bom_matched += 1;
                if self.bom_matched == BOM.len() {
                    self.in_body = true;
                    break;
                }
            }
            if !self.in_body {
                return;
            }
        }

        if self.after_cr
            && let Some((&first, rest)) = input.split_first()
        {
            self.after_cr = false;
            if first == b'\n' {
                input = rest;
            }
        }

        // E2.2: CRLF, lone LF and lone CR each end a line.
        while let Some(i) = input.iter().position(|&b| b == b'\n' || b == b'\r') {
            if self.line.is_empty() {
                self.process_line(&input[..i], out);
            } else {
                let mut line = std::mem::take(&mut self.line);
                line.extend_from_slice(&input[..i]);
                self.process_line(&line, out);
                line.clear();
                self.line = line;
            }
            let mut next = i + 1;
            if input[i] == b'\r' {
                match input.get(next) {
                    Some(b'\n') => next += 1,
                    Some(_) => {}
                    None => self.after_cr = true,
                }
            }
            input = &input[next..];
        }
        self.line.extend_from_slice(input);
    }

    /// Ends the stream: an unfinished event is discarded (E2.7), and the decoder is ready for the
    /// next response body of the same source.
    ///
    /// A partial last line is discarded too: without its line end it is not a line. The
    /// reconnection time and the last event ID as of the last dispatch are kept, and the next
    /// stream's last event ID buffer starts from that ID, as in browsers.
    pub fn finish(&mut self) {
        self.line.clear();
        self.after_cr = false;
        self.bom_matched = 0;
        self.in_body = false;
        self.data.clear();
        self.event_type.clear();
        self.id_buffer.clone_from(&self.last_event_id);
    }

    /// The reconnection time set by the last valid `retry` field, if any.
    pub fn retry(&self) -> Option<u64> {
        self.retry
    }

    /// The last event ID as of the last dispatch: what a client would send as `Last-Event-ID`.
    ///
    /// An `id` field takes effect at the blank line that ends its block, whether or not the block
    /// fires an event (E2.6 step 1), so an `id` in an unfinished block does not count.
    pub fn last_event_id(&self) -> &str {
        &self.last_event_id
    }

    /// E2.4: one line, without its line end.
    fn process_line(&mut self, line: &[u8], out: &mut Vec<Item>) {
        if line.is_empty() {
            return self.dispatch(out);
        }
        // Splitting at ':' before decoding is the same as after: an ASCII byte never sits inside
        // a UTF-8 sequence, and a broken sequence before it becomes U+FFFD either way.
        let (name, value) = match line.iter().position(|&b| b == b':') {
            Some(0) => {
                out.push(Item::Comment(utf8(&line[1..]).into_owned()));
                return;
            }
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &[][..]),
        };
        // E2.5: names compared literally.
        match name {
            b"event" => self.event_type = utf8(value).into_owned(),
            b"data" => {
                self.data.push_str(&utf8(value));
                self.data.push('\n');
            }
            b"id" if !value.contains(&0) => self.id_buffer = utf8(value).into_owned(),
            b"retry" => self.retry = parse_digits(value).or(self.retry),
            // An id with NUL, and unknown fields.
            _ => {}
        }
    }

    /// E2.6.
    fn dispatch(&mut self, out: &mut Vec<Item>) {
        self.last_event_id.clone_from(&self.id_buffer);
        if self.data.is_empty() {
            self.event_type.clear();
            return;
        }
        let mut data = std::mem::take(&mut self.data);
        data.pop(); // the data buffer always ends in the LF of its last line
        let event_type = match std::mem::take(&mut self.event_type) {
            name if name.is_empty() => "message".to_owned(),
            name => name,
        };
        out.push(Item::Event(DecodedEvent {
            event_type,
            data,
            last_event_id: self.last_event_id.clone(),
        }));
    }
}

/// E2.1: UTF-8 decode, invalid bytes replaced by U+FFFD.
fn utf8(bytes: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(bytes)
}

/// E2.5: ASCII digits only; a value too large for `u64` is ignored like any other invalid one.
fn parse_digits(value: &[u8]) -> Option<u64> {
    if value.is_empty() {
        return None;
    }
    value.iter().try_fold(0u64, |acc, &b| {
        let digit = b.checked_sub(b'0').filter(|d| *d < 10)?;
        acc.checked_mul(10)?.checked_add(u64::from(digit))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(event_type: &str, data: &str, id: &str) -> Item {
        Item::Event(DecodedEvent {
            event_type: event_type.to_owned(),
            data: data.to_owned(),
            last_event_id: id.to_owned(),
        })
    }

    fn message(data: &str) -> Item {
        event("message", data, "")
    }

    fn decode(input: &[u8]) -> Vec<Item> {
        Decoder::new().feed(input)
    }

    #[test]
    fn e2_4_basic_event() {
        assert_eq!(
            decode(b"event: ping\nid: 1\ndata: a\ndata: b\n\n"),
            [event("ping", "a\nb", "1")]
        );
    }

    #[test]
    fn e1_2_e2_2_all_three_line_ends() {
        assert_eq!(decode(b"data: a\r\n\r\n"), [message("a")]);
        assert_eq!(decode(b"data: a\r\r"), [message("a")]);
        assert_eq!(decode(b"data: a\n\n"), [message("a")]);
        assert_eq!(
            decode(b"data: a\rdata: b\r\ndata: c\n\r"),
            [message("a\nb\nc")]
        );
        // LF then CR is two line ends: the CR makes an empty line.
        assert_eq!(decode(b"data: a\n\r"), [message("a")]);
    }

    #[test]
    fn e2_2_cr_at_chunk_boundary_is_one_line_end() {
        let mut decoder = Decoder::new();
        assert_eq!(decoder.feed(b"data: a\r"), []);
        // If the LF were a second line end, this would dispatch.
        assert_eq!(decoder.feed(b"\ndata: b\r"), []);
        assert_eq!(decoder.feed(b""), [], "an empty piece keeps the pending CR");
        assert_eq!(decoder.feed(b"\n\r"), [message("a\nb")]);
        assert_eq!(
            decoder.feed(b"\n"),
            [],
            "LF after the dispatching CR is part of it"
        );
        assert_eq!(
            decoder.feed(b"\n"),
            [],
            "a second blank line with no data fires nothing"
        );
    }

    #[test]
    fn e2_2_cr_at_boundary_then_other_byte() {
        let mut decoder = Decoder::new();
        assert_eq!(decoder.feed(b"data: a\r"), []);
        assert_eq!(decoder.feed(b"\r"), [message("a")]);
    }

    #[test]
    fn e2_1_bom_stripped_at_start() {
        assert_eq!(decode(b"\xEF\xBB\xBFdata: a\n\n"), [message("a")]);
        // Without stripping, the field name would be "\u{FEFF}data" and nothing would fire.
    }

    #[test]
    fn e2_1_bom_split_across_chunks() {
        let mut decoder = Decoder::new();
        assert_eq!(decoder.feed(b"\xEF"), []);
        assert_eq!(decoder.feed(b""), []);
        assert_eq!(decoder.feed(b"\xBB"), []);
        assert_eq!(decoder.feed(b"\xBFdata: a\n\n"), [message("a")]);
    }

    #[test]
    fn e2_1_only_one_bom_and_only_at_start() {
        // A second BOM is part of the first line's field name, which is then unknown.
        assert_eq!(
            decode(b"\xEF\xBB\xBF\xEF\xBB\xBFdata: a\n\ndata: b\n\n"),
            [message("b")]
        );
        // A BOM later in the stream is text.
        assert_eq!(
            decode(b"data: a\n\n\xEF\xBB\xBFdata: b\n\ndata: \xEF\xBB\xBF\n\n"),
            [message("a"), message("\u{FEFF}")]
        );
    }

    #[test]
    fn e2_1_partial_bom_is_text() {
        // EF BB then 'x': an invalid sequence, decoded as one U+FFFD, in a comment here.
        let mut decoder = Decoder::new();
        assert_eq!(decoder.feed(b":\xEF"), [], "':' is not a BOM byte");
        assert_eq!(decoder.feed(b"\n"), [Item::Comment("\u{FFFD}".to_owned())]);
        let mut decoder = Decoder::new();
        assert_eq!(decoder.feed(b"\xEF\xBB"), []);
        assert_eq!(
            decoder.feed(b"x\n:\n"),
            [Item::Comment(String::new())],
            "'\u{FFFD}x' is an unknown field"
        );
    }

    #[test]
    fn e2_1_invalid_utf8_becomes_replacement() {
        assert_eq!(
            decode(b"data: a\xFFb\xE2\x82\n\n"),
            [message("a\u{FFFD}b\u{FFFD}")]
        );
        assert_eq!(
            decode(b"event: \xC3\n:\xC3(\ndata\n\n"),
            [
                Item::Comment("\u{FFFD}(".to_owned()),
                event("\u{FFFD}", "", "")
            ]
        );
    }

    #[test]
    fn e2_4_data_variants_all_give_empty() {
        for input in [&b"data\n\n"[..], b"data:\n\n", b"data: \n\n"] {
            assert_eq!(decode(input), [message("")]);
        }
        assert_eq!(
            decode(b"data:  x\n\n"),
            [message(" x")],
            "only one space is stripped"
        );
        assert_eq!(decode(b"data:x\n\n"), [message("x")]);
        assert_eq!(
            decode(b"data: a:b\n\n"),
            [message("a:b")],
            "only the first colon splits"
        );
    }

    #[test]
    fn e2_4_comments_reported_verbatim_never_dispatched() {
        assert_eq!(
            decode(b": keepalive\n\n:x\n:\n\n"),
            [
                Item::Comment(" keepalive".to_owned()),
                Item::Comment("x".to_owned()),
                Item::Comment(String::new()),
            ]
        );
    }

    #[test]
    fn e2_5_field_names_are_case_sensitive_and_unknown_ignored() {
        assert_eq!(decode(b"Data: a\nDATA: b\nfoo: c\n data: d\n\n"), []);
        assert_eq!(decode(b"Event: x\ndata: a\n\n"), [message("a")]);
    }

    #[test]
    fn e2_5_event_type() {
        assert_eq!(
            decode(b"event: a\nevent: b\ndata\n\n"),
            [event("b", "", "")]
        );
        assert_eq!(
            decode(b"event:\ndata\n\n"),
            [message("")],
            "empty type means message"
        );
        assert_eq!(decode(b"event\ndata\n\n"), [message("")]);
    }

    #[test]
    fn e2_5_id_with_nul_ignored() {
        let mut decoder = Decoder::new();
        assert_eq!(
            decoder.feed(b"id: 1\n\nid: 2\0\ndata: x\n\n"),
            [event("message", "x", "1")]
        );
        assert_eq!(decoder.last_event_id(), "1");
    }

    #[test]
    fn e2_5_empty_id_resets() {
        let mut decoder = Decoder::new();
        decoder.feed(b"id: 1\n\n");
        assert_eq!(decoder.last_event_id(), "1");
        assert_eq!(decoder.feed(b"id\ndata: x\n\n"), [message("x")]);
        assert_eq!(decoder.last_event_id(), "");
    }

    #[test]
    fn e2_5_retry_digits_only() {
        let mut decoder = Decoder::new();
        decoder.feed(b"retry: 1500\n\n");
        assert_eq!(decoder.retry(), Some(1500));
        for bad in [
            &b"retry: 12a\n\n"[..],
            b"retry:\n\n",
            b"retry\n\n",
            b"retry: -1\n\n",
            b"retry: +1\n\n",
            b"retry:  1\n\n",
            b"retry: 1 \n\n",
            b"retry: 1.5\n\n",
            b"retry: 18446744073709551616\n\n",
            b"Retry: 1\n\n",
        ] {
            decoder.feed(bad);
            assert_eq!(
                decoder.retry(),
                Some(1500),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        decoder.feed(b"retry:18446744073709551615\n");
        assert_eq!(
            decoder.retry(),
            Some(u64::MAX),
            "takes effect without a dispatch"
        );
        decoder.feed(b"retry: 0\n");
        assert_eq!(decoder.retry(), Some(0));
    }

    #[test]
    fn e2_6_id_only_block_updates_last_event_id_without_event() {
        let mut decoder = Decoder::new();
        assert_eq!(decoder.feed(b"id: 42\n"), []);
        assert_eq!(
            decoder.last_event_id(),
            "",
            "takes effect at the blank line"
        );
        assert_eq!(decoder.feed(b"\n"), []);
        assert_eq!(decoder.last_event_id(), "42");
        // The id buffer persists across events.
        assert_eq!(decoder.feed(b"data: x\n\n"), [event("message", "x", "42")]);
    }

    #[test]
    fn e2_6_event_type_cleared_by_empty_dispatch() {
        assert_eq!(decode(b"event: a\n\ndata: x\n\n"), [message("x")]);
    }

    #[test]
    fn e2_6_only_one_trailing_lf_stripped() {
        assert_eq!(decode(b"data: a\ndata\n\n"), [message("a\n")]);
        assert_eq!(decode(b"data\ndata\n\n"), [message("\n")]);
    }

    #[test]
    fn s2_16_priming_event_dispatches_empty_data() {
        let mut decoder = Decoder::new();
        assert_eq!(
            decoder.feed(b"id: x\ndata: \n\n"),
            [event("message", "", "x")]
        );
        assert_eq!(decoder.last_event_id(), "x");
    }

    #[test]
    fn e2_7_unfinished_event_discarded() {
        let mut decoder = Decoder::new();
        decoder.feed(b"data: a\n\nid: 9\nretry: 7\ndata: b\n");
        decoder.finish();
        assert_eq!(decoder.last_event_id(), "");
        assert_eq!(decoder.retry(), Some(7), "retry applies per line");
        // The next stream starts clean: no leftover data, BOM allowed again.
        assert_eq!(decoder.feed(b"\xEF\xBB\xBFdata: c\n\n"), [message("c")]);
    }

    #[test]
    fn e2_7_partial_line_discarded() {
        let mut decoder = Decoder::new();
        decoder.feed(b"data: a\n\nid: 9");
        decoder.finish();
        assert_eq!(decoder.feed(b"\n"), [], "the blank line of the new stream");
        assert_eq!(decoder.last_event_id(), "");
        let mut decoder = Decoder::new();
        decoder.feed(b"data: a\r");
        decoder.finish();
        assert_eq!(
            decoder.feed(b"\ndata: b\n\n"),
            [message("b")],
            "the CR flag is reset"
        );
    }

    #[test]
    fn e2_7_last_event_id_carries_over_finish() {
        let mut decoder = Decoder::new();
        decoder.feed(b"id: 5\n\nid: 6\n");
        decoder.finish();
        assert_eq!(decoder.last_event_id(), "5");
        assert_eq!(decoder.feed(b"data: x\n\n"), [event("message", "x", "5")]);
    }

    #[test]
    fn feed_into_appends() {
        let mut decoder = Decoder::new();
        let mut out = vec![Item::Comment("before".to_owned())];
        decoder.feed_into(b"data: a\n\n", &mut out);
        assert_eq!(out, [Item::Comment("before".to_owned()), message("a")]);
    }

    #[test]
    fn long_line_in_many_pieces() {
        let mut decoder = Decoder::new();
        decoder.feed(b"data: ");
        for _ in 0..1000 {
            assert_eq!(decoder.feed(b"abc"), []);
        }
        assert_eq!(decoder.feed(b"\n\n"), [message(&"abc".repeat(1000))]);
    }

    #[test]
    fn parse_digits_bounds() {
        assert_eq!(parse_digits(b"0"), Some(0));
        assert_eq!(parse_digits(b"007"), Some(7));
        assert_eq!(parse_digits(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_digits(b"18446744073709551616"), None);
        assert_eq!(parse_digits(b"99999999999999999999999"), None);
        assert_eq!(parse_digits(b""), None);
        assert_eq!(parse_digits(b"1/"), None);
        assert_eq!(parse_digits(b"1:"), None);
    }
}
