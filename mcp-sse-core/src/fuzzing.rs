//! Fuzz target bodies, kept in the library so that normal builds type-check them.
//!
//! Internal: enabled by the `_fuzzing` feature for the `fuzz/` crate, whose targets are shims
//! over these functions. Each function panics when it finds a bug, and never otherwise.

mod ops;

pub use ops::{CLUSTER_SCRIPT, server_ops};

// ---------------------------------------------------------------------------------------------
// SSE (`crate::sse`)
// ---------------------------------------------------------------------------------------------

/// Decoding must not depend on how the bytes are split (E2.2 line ends and the E2.1 BOM can
/// straddle pieces): the whole input, byte by byte, and two split points taken from the input
/// must give the same items, last event ID and reconnection time.
pub fn sse_decoder(data: &[u8]) {
    use crate::sse::{Decoder, Item};

    let whole = sse_decode_pieces(std::iter::once(data));
    let bytewise = sse_decode_pieces(data.chunks(1));
    assert_eq!(whole, bytewise, "whole input vs byte by byte");

    let at = |i: usize| {
        data.get(i)
            .map_or(0, |&b| usize::from(b) % (data.len() + 1))
    };
    let (first, second) = (at(0).min(at(1)), at(0).max(at(1)));
    let split = sse_decode_pieces([&data[..first], &data[first..second], &data[second..]]);
    assert_eq!(whole, split, "whole input vs split at {first} and {second}");

    // After `finish`, a decoder reads the next stream as a fresh one would, except that the
    // last event ID carries over.
    let mut decoder = Decoder::new();
    decoder.feed(data);
    decoder.finish();
    let mask_ids = |items: Vec<Item>| -> Vec<Item> {
        items
            .into_iter()
            .map(|item| match item {
                Item::Event(mut event) => {
                    event.last_event_id.clear();
                    Item::Event(event)
                }
                comment => comment,
            })
            .collect()
    };
    let again = mask_ids(decoder.feed(data));
    assert_eq!(again, mask_ids(whole.0), "items after finish");
}

fn sse_decode_pieces<'a>(
    pieces: impl IntoIterator<Item = &'a [u8]>,
) -> (Vec<crate::sse::Item>, String, Option<u64>) {
    let mut decoder = crate::sse::Decoder::new();
    let mut items = Vec::new();
    for piece in pieces {
        decoder.feed_into(piece, &mut items);
    }
    (items, decoder.last_event_id().to_owned(), decoder.retry())
}

/// Whatever the application sends, a client sees exactly the event it encoded (E4.1, E4.2).
///
/// Input layout: one flags byte (bits: event name, id, retry, no data, comment, then the retry
/// value in units of 250 ms), then the event name, the id and the payload separated by `0xFF`
/// (never valid UTF-8, so it cannot be part of a name). The name and the id are decoded lossily;
/// when they are not valid fields the encoder must refuse them, and the function checks that.
/// The payload is used as raw bytes.
pub fn sse_roundtrip(data: &[u8]) {
    use crate::sse::{self, Decoder, Item};

    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let mut parts = rest.splitn(3, |&b| b == 0xFF);
    let name = String::from_utf8_lossy(parts.next().unwrap_or_default());
    let id = String::from_utf8_lossy(parts.next().unwrap_or_default());
    let payload = parts.next().unwrap_or_default();
    let retry = u64::from(flags >> 5) * 250;

    let has_break = |s: &str| s.contains(['\r', '\n']);
    let name = (flags & 1 != 0).then_some(&*name);
    let id = (flags & 2 != 0).then_some(&*id);
    let event = sse::Fields {
        event: name,
        id,
        retry: (flags & 4 != 0).then_some(retry),
        data: (flags & 8 == 0).then(|| bytes::Bytes::copy_from_slice(payload)),
    };
    let chunk = match sse::encode(&event) {
        Ok(chunk) => chunk,
        Err(error) => {
            let name_bad = name.is_some_and(has_break);
            let id_bad = id.is_some_and(|id| has_break(id) || id.contains('\0'));
            assert!(name_bad || id_bad, "valid fields refused: {error}");
            return;
        }
    };
    assert!(
        name.is_none_or(|name| !has_break(name)),
        "bad event name accepted"
    );
    assert!(
        id.is_none_or(|id| !has_break(id) && !id.contains('\0')),
        "bad id accepted"
    );

    // A comment before the event must neither dispatch nor disturb it.
    let comment = String::from_utf8_lossy(payload);
    let comment = (flags & 16 != 0)
        .then(|| sse::encode_comment(&comment).ok())
        .flatten();

    let mut decoder = Decoder::new();
    let mut items = Vec::new();
    if let Some(comment) = &comment {
        for piece in comment.pieces() {
            decoder.feed_into(piece, &mut items);
        }
    }
    for piece in chunk.pieces() {
        decoder.feed_into(piece, &mut items);
    }

    let mut expected = Vec::new();
    if comment.is_some() {
        expected.push(Item::Comment(String::from_utf8_lossy(payload).into_owned()));
    }
    if let Some(payload) = &event.data {
        expected.push(Item::Event(sse::DecodedEvent {
            event_type: match name {
                Some(name) if !name.is_empty() => name.to_owned(),
                _ => "message".to_owned(),
            },
            data: sse_normalise_line_breaks(&String::from_utf8_lossy(payload)),
            last_event_id: id.unwrap_or_default().to_owned(),
        }));
    }
    assert_eq!(items, expected);
    assert_eq!(decoder.last_event_id(), id.unwrap_or_default());
    assert_eq!(decoder.retry(), event.retry);
}

/// CRLF and lone CR as LF: what a client makes of a payload's line breaks (E4.1).
fn sse_normalise_line_breaks(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\r', "\n")
}

// ---------------------------------------------------------------------------------------------
// JSON-RPC (`crate::jsonrpc`)
// ---------------------------------------------------------------------------------------------

/// Whatever a client posts, classification answers it (S5.1–S5.9, table 6.3): an accepted
/// message encodes and classifies back to the same message (method, id, params, result and
/// error data byte for byte), and a refusal has an error body that is itself a JSON-RPC error
/// response with its code and echoed id.
pub fn jsonrpc_classify(data: &[u8]) {
    use crate::jsonrpc::{self, Body};

    match jsonrpc::classify(data) {
        Ok(Body::Single(message)) => jsonrpc_reencode(&message),
        Ok(Body::Batch(items)) => {
            assert!(!items.is_empty(), "S5.5: [] is a single error");
            let mut encoded = Vec::new();
            for item in &items {
                match item {
                    Ok(message) => {
                        jsonrpc_reencode(message);
                        encoded.push(jsonrpc::encode_message(message));
                    }
                    Err(invalid) => {
                        assert_eq!(invalid.code, jsonrpc::INVALID_REQUEST, "{invalid}");
                        jsonrpc_error_body(invalid);
                        encoded.push(invalid.to_error_body());
                    }
                }
            }
            // The answers joined as a batch read back one for one.
            match jsonrpc::classify(&jsonrpc::encode_batch(&encoded)) {
                Ok(Body::Batch(back)) => {
                    assert_eq!(back.len(), items.len());
                    assert!(back.iter().all(Result::is_ok), "batch element refused");
                }
                other => panic!("encoded batch not a batch: {other:?}"),
            }
        }
        Err(invalid) => jsonrpc_error_body(&invalid),
    }
}

fn jsonrpc_reencode(message: &crate::jsonrpc::Message) {
    use crate::jsonrpc::{self, Body};

    let bytes = jsonrpc::encode_message(message);
    match jsonrpc::classify(&bytes) {
        Ok(Body::Single(back)) => assert_eq!(&back, message),
        other => panic!("re-encoded {message:?} classified as {other:?}"),
    }
}

fn jsonrpc_error_body(invalid: &crate::jsonrpc::Invalid) {
    use crate::jsonrpc::{self, Body, Message};

    assert!(
        invalid.code == jsonrpc::PARSE_ERROR || invalid.code == jsonrpc::INVALID_REQUEST,
        "{invalid}"
    );
    let body = invalid.to_error_body();
    let value: serde_json::Value = serde_json::from_slice(&body).expect("error body is JSON");
    assert_eq!(value["error"]["code"], invalid.code);
    match jsonrpc::classify(&body) {
        Ok(Body::Single(Message::Error(error))) => {
            assert_eq!(error.id, invalid.id);
            assert_eq!(error.error.code, invalid.code);
            assert_eq!(error.error.message, invalid.message);
        }
        other => panic!("error body classified as {other:?}"),
    }
}
