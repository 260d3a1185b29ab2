//! Server-Sent Events framing (WHATWG HTML §9.2): an encoder and a streaming decoder.
//!
//! The encoder is what the server writes: [`encode`] frames one event, [`encode_comment`] a
//! keepalive, [`encode_retry`] a reconnection hint. Each frame ends with a blank line, so it is
//! complete on its own and can be flushed as one body chunk (E2.7, E4.4). Values that would break
//! the framing are split (`data`, E4.1) or refused with a [`FieldError`] (`event`, `id`, comments,
//! E4.2, E4.5); a payload can never inject a field.
//!
//! The [`Decoder`] is what a browser's `EventSource` does with those bytes (E2.1–E2.7), kept here
//! for tests, fuzzing and clients: feeding it what the encoder wrote must give back exactly the
//! events that were encoded.
//!
//! ```
//! use bytes::Bytes;
//! use mcp_sse_core::sse::{self, Decoder, Fields, Item};
//!
//! let chunk = sse::encode(&Fields {
//!     id: Some("7"),
//!     data: Some(Bytes::from_static(b"line one\r\nline two")),
//!     ..Fields::default()
//! })
//! .expect("the id has no line break");
//! let wire = chunk.into_bytes();
//! assert_eq!(&wire[..], b"id: 7\ndata: line one\ndata: line two\n\n");
//!
//! let mut decoder = Decoder::new();
//! let Item::Event(event) = &decoder.feed(&wire)[0] else { unreachable!() };
//! assert_eq!(event.data, "line one\nline two");
//! assert_eq!(decoder.last_event_id(), "7");
//! ```

mod decode;
mod encode;

pub use decode::{DecodedEvent, Decoder, Item};
pub use encode::{FieldError, Fields, encode, encode_comment, encode_retry};
