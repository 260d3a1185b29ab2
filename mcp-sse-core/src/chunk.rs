//! [`Chunk`]: bytes of a response body, as one buffer or a few zero-copy pieces.

use std::collections::VecDeque;

use bytes::{Buf, Bytes, BytesMut};

/// Bytes of a response body: one SSE event, or a whole JSON body.
///
/// Small frames are one contiguous buffer. Large payloads are framed without copying them: the
/// application's `Bytes` sits between the small pieces the encoder wrote around it. `Chunk`
/// implements [`Buf`], so an adapter can hand it to its HTTP stack as a single body frame and let
/// vectored writes put it on the wire in one system call.
#[derive(Clone, Debug, Default)]
pub struct Chunk {
    /// The first piece, kept inline: most chunks are one piece, and need no other allocation.
    /// Empty exactly when the chunk is.
    first: Bytes,
    rest: VecDeque<Bytes>,
    len: usize,
}

impl Chunk {
    /// An empty chunk.
    pub fn new() -> Self {
        Self::default()
    }

    /// Total number of bytes left in the chunk.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the chunk holds no bytes.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends a piece; empty pieces are dropped.
    pub fn push(&mut self, piece: Bytes) {
        if piece.is_empty() {
            return;
        }
        self.len += piece.len();
        if self.first.is_empty() {
            self.first = piece;
        } else {
            self.rest.push_back(piece);
        }
    }

    /// Appends every piece of `other`.
    pub fn append(&mut self, other: Chunk) {
        self.push(other.first);
        for piece in other.rest {
            self.push(piece);
        }
    }

    /// Takes the first piece, without copying.
    pub fn pop_front(&mut self) -> Option<Bytes> {
        if self.first.is_empty() {
            return None;
        }
        let next = self.rest.pop_front().unwrap_or_default();
        let piece = std::mem::replace(&mut self.first, next);
        self.len -= piece.len();
        Some(piece)
    }

    /// The pieces, in order.
    pub fn pieces(&self) -> impl Iterator<Item = &Bytes> {
        let first = (!self.first.is_empty()).then_some(&self.first);
        first.into_iter().chain(self.rest.iter())
    }

    /// Copies the chunk into one contiguous buffer (no copy when it already is one piece).
    pub fn into_bytes(self) -> Bytes {
        if self.rest.is_empty() {
            return self.first;
        }
        let mut out = BytesMut::with_capacity(self.len);
        for piece in self.pieces() {
            out.extend_from_slice(piece);
        }
        out.freeze()
    }
}

impl From<Bytes> for Chunk {
    fn from(piece: Bytes) -> Self {
        let mut chunk = Chunk::new();
        chunk.push(piece);
        chunk
    }
}

impl From<Vec<u8>> for Chunk {
    fn from(piece: Vec<u8>) -> Self {
        Chunk::from(Bytes::from(piece))
    }
}

impl From<&'static str> for Chunk {
    fn from(piece: &'static str) -> Self {
        Chunk::from(Bytes::from_static(piece.as_bytes()))
    }
}

impl Buf for Chunk {
    fn remaining(&self) -> usize {
        self.len
    }

    fn chunk(&self) -> &[u8] {
        &self.first
    }

    fn advance(&mut self, mut cnt: usize) {
        assert!(cnt <= self.len, "advance past the end of a Chunk");
        while cnt > 0 {
            if cnt < self.first.len() {
                self.first.advance(cnt);
                self.len -= cnt;
                return;
            }
            cnt -= self.first.len();
            self.pop_front();
        }
    }

    fn chunks_vectored<'a>(&'a self, dst: &mut [std::io::IoSlice<'a>]) -> usize {
        let mut n = 0;
        for (slot, piece) in dst.iter_mut().zip(self.pieces()) {
            *slot = std::io::IoSlice::new(piece);
            n += 1;
        }
        n
    }

    fn copy_to_bytes(&mut self, len: usize) -> Bytes {
        if len < self.first.len() {
            self.len -= len;
            return self.first.split_to(len);
        }
        if len == self.first.len() {
            return self.pop_front().unwrap_or_default();
        }
        let mut out = BytesMut::with_capacity(len);
        out.put(self.take(len));
        out.freeze()
    }
}

use bytes::BufMut as _;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buf_walks_every_piece() {
        let mut chunk = Chunk::from("event: message\ndata: ");
        chunk.push(Bytes::from_static(b"{\"a\":1}"));
        chunk.push(Bytes::new());
        chunk.push(Bytes::from_static(b"\n\n"));
        assert_eq!(chunk.len(), 30);
        let copy = chunk.clone().into_bytes();
        assert_eq!(&copy[..], b"event: message\ndata: {\"a\":1}\n\n");
        let mut read = Vec::new();
        while chunk.has_remaining() {
            let n = chunk.chunk().len().min(5);
            read.extend_from_slice(&chunk.chunk()[..n]);
            chunk.advance(n);
        }
        assert_eq!(read, copy);
    }

    #[test]
    fn copy_to_bytes_spans_pieces() {
        let mut chunk = Chunk::from("ab");
        chunk.push(Bytes::from_static(b"cd"));
        assert_eq!(&chunk.copy_to_bytes(3)[..], b"abc");
        assert_eq!(chunk.remaining(), 1);
        assert_eq!(&chunk.copy_to_bytes(1)[..], b"d");
        assert!(chunk.is_empty());
    }
}
