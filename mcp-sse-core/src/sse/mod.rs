//! Server-Sent Events framing (WHATWG HTML §9.2): an encoder and a streaming decoder.
