//! Property tests of the SSE encoder against the WHATWG decoder
//! (docs/requirements.md E2.1–E2.7, E4.1–E4.5).

use bytes::Bytes;
use mcp_sse_core::sse::{self, DecodedEvent, Decoder, Fields, Item};
use proptest::prelude::*;
use proptest::sample::Index;

/// Text that looks like SSE: line breaks of every kind, field names, colons, spaces, a BOM,
/// NUL, and arbitrary characters in between.
fn sse_like_text() -> impl Strategy<Value = String> {
    let atom = prop_oneof![
        Just("\r".to_owned()),
        Just("\n".to_owned()),
        Just("\r\n".to_owned()),
        Just(":".to_owned()),
        Just(" ".to_owned()),
        Just("event:".to_owned()),
        Just("data: ".to_owned()),
        Just("data".to_owned()),
        Just("id: x".to_owned()),
        Just("id\0".to_owned()),
        Just("retry: 5".to_owned()),
        Just("retry:1a".to_owned()),
        Just("\u{FEFF}".to_owned()),
        "[a-z]{0,5}",
        any::<char>().prop_map(String::from),
    ];
    prop::collection::vec(atom, 0..24).prop_map(|atoms| atoms.concat())
}

/// A payload: arbitrary strings, or SSE-like text built to trip up a naive encoder.
fn payload() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), sse_like_text()]
}

/// Bytes for the decoder: arbitrary, SSE-like, or SSE-like behind a BOM or a broken BOM.
fn stream_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..200),
        sse_like_text().prop_map(String::into_bytes),
        (
            prop_oneof![
                Just(&b"\xEF\xBB\xBF"[..]),
                Just(&b"\xEF\xBB"[..]),
                Just(&b"\xEF"[..])
            ],
            sse_like_text()
        )
            .prop_map(|(bom, text)| [bom, text.as_bytes()].concat()),
    ]
}

fn normalise(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\r', "\n")
}

fn decode_all<'a>(pieces: impl IntoIterator<Item = &'a [u8]>) -> (Vec<Item>, String, Option<u64>) {
    let mut decoder = Decoder::new();
    let mut items = Vec::new();
    for piece in pieces {
        decoder.feed_into(piece, &mut items);
    }
    (items, decoder.last_event_id().to_owned(), decoder.retry())
}

fn split_at_points<'a>(bytes: &'a [u8], points: &[Index]) -> Vec<&'a [u8]> {
    let mut cuts: Vec<usize> = points.iter().map(|p| p.index(bytes.len() + 1)).collect();
    cuts.sort_unstable();
    let mut pieces = Vec::new();
    let mut start = 0;
    for cut in cuts {
        pieces.push(&bytes[start..cut]);
        start = cut;
    }
    pieces.push(&bytes[start..]);
    pieces
}

proptest! {
    /// E4.1, E4.2: any payload comes back as exactly one event with the encoded type and id and
    /// the payload's line breaks normalised to LF; nothing in it becomes a field.
    #[test]
    fn e4_1_encode_then_decode_is_one_event(
        name in prop::option::of("[^\r\n]{0,12}"),
        id in prop::option::of("[^\r\n\0]{0,12}"),
        retry in prop::option::of(any::<u64>()),
        payload in payload(),
    ) {
        let event = Fields {
            event: name.as_deref(),
            id: id.as_deref(),
            retry,
            data: Some(Bytes::from(payload.clone())),
        };
        let chunk = sse::encode(&event).expect("the fields are valid");
        let wire = chunk.clone().into_bytes();
        prop_assert!(wire.ends_with(b"\n\n"));

        // Feed the Chunk's pieces as they would leave the socket.
        let mut decoder = Decoder::new();
        let mut items = Vec::new();
        for piece in chunk.pieces() {
            decoder.feed_into(piece, &mut items);
        }
        let expected = DecodedEvent {
            event_type: match name.as_deref() {
                Some(name) if !name.is_empty() => name.to_owned(),
                _ => "message".to_owned(),
            },
            data: normalise(&payload),
            last_event_id: id.clone().unwrap_or_default(),
        };
        prop_assert_eq!(items, vec![Item::Event(expected)]);
        prop_assert_eq!(decoder.last_event_id(), id.unwrap_or_default());
        prop_assert_eq!(decoder.retry(), retry);

        // The stream goes on: the event left no state behind but the id and retry.
        prop_assert_eq!(decoder.feed(b"data: next\n\n").len(), 1);
    }

    /// E4.1: a run of events decodes to the same run, each unaffected by its neighbours.
    #[test]
    fn e4_1_events_do_not_bleed_into_each_other(payloads in prop::collection::vec(payload(), 1..6)) {
        let mut wire = Vec::new();
        for payload in &payloads {
            let event = Fields { data: Some(Bytes::from(payload.clone())), ..Fields::default() };
            wire.extend_from_slice(&sse::encode(&event).expect("no fields").into_bytes());
        }
        let datas: Vec<String> = Decoder::new()
            .feed(&wire)
            .into_iter()
            .map(|item| match item {
                Item::Event(event) => event.data,
                Item::Comment(text) => panic!("unexpected comment {text:?}"),
            })
            .collect();
        let expected: Vec<String> = payloads.iter().map(|p| normalise(p)).collect();
        prop_assert_eq!(datas, expected);
    }

    /// E4.2: names and ids with line breaks (and ids with NUL) are refused, never split.
    #[test]
    fn e4_2_bad_fields_refused(
        prefix in "[a-z]{0,4}",
        bad in prop_oneof![Just("\r"), Just("\n"), Just("\r\n")],
        suffix in "[a-z]{0,4}",
    ) {
        let value = format!("{prefix}{bad}{suffix}");
        let named = Fields { event: Some(&value), ..Fields::default() };
        prop_assert_eq!(sse::encode(&named).unwrap_err(), sse::FieldError::LineBreakInEventName);
        let with_id = Fields { id: Some(&value), ..Fields::default() };
        prop_assert_eq!(sse::encode(&with_id).unwrap_err(), sse::FieldError::LineBreakInId);
        prop_assert_eq!(sse::encode_comment(&value).unwrap_err(), sse::FieldError::LineBreakInComment);
        let nul = format!("{prefix}\0{suffix}");
        let with_id = Fields { id: Some(&nul), ..Fields::default() };
        prop_assert_eq!(sse::encode(&with_id).unwrap_err(), sse::FieldError::NulInId);
    }

    /// E2.2, E2.1: the items do not depend on how the bytes are split: a CR/LF pair or a BOM
    /// across a boundary is read as if it were not split.
    #[test]
    fn e2_2_decoding_is_independent_of_chunking(
        bytes in stream_bytes(),
        points in prop::collection::vec(any::<Index>(), 0..8),
    ) {
        let whole = decode_all([&bytes[..]]);
        prop_assert_eq!(&decode_all(split_at_points(&bytes, &points)), &whole);
        prop_assert_eq!(&decode_all(bytes.chunks(1)), &whole);
    }

    /// E4.5: comments come back verbatim and never dispatch or touch the decoder's state.
    #[test]
    fn e4_5_comments_round_trip_and_never_dispatch(
        texts in prop::collection::vec(prop_oneof!["[^\r\n]{0,16}", Just(" keepalive".to_owned())], 1..5),
        payload in payload(),
    ) {
        let mut decoder = Decoder::new();
        decoder.feed(b"id: 1\nretry: 10\n\n");
        let mut wire = Vec::new();
        for text in &texts {
            wire.extend_from_slice(&sse::encode_comment(text).expect("no line break").into_bytes());
        }
        let expected: Vec<Item> = texts.iter().cloned().map(Item::Comment).collect();
        prop_assert_eq!(decoder.feed(&wire), expected.clone());
        prop_assert_eq!(decoder.last_event_id(), "1");
        prop_assert_eq!(decoder.retry(), Some(10));

        // A comment frame before an event leaves the event whole.
        let event = Fields { data: Some(Bytes::from(payload.clone())), ..Fields::default() };
        let mut wire = wire.clone();
        wire.extend_from_slice(&sse::encode(&event).expect("no fields").into_bytes());
        let items = Decoder::new().feed(&wire);
        prop_assert_eq!(&items[..texts.len()], &expected[..]);
        prop_assert_eq!(items.len(), texts.len() + 1);
        let Item::Event(decoded) = &items[texts.len()] else {
            return Err(TestCaseError::fail("the event is missing"));
        };
        prop_assert_eq!(&decoded.data, &normalise(&payload));
    }
}
