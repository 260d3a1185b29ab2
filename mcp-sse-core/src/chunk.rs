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
    parts: VecDeque<Bytes>,
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
        if !piece.is_empty() {
            self.len += piece.len();
            self.parts.push_back(piece);
        }
    }

    /// Appends every piece of `other`.
    pub fn append(&mut self, other: Chunk) {
        for piece in other.parts {
            self.push(piece);
        }
    }

    /// Takes the first piece, without copying.
    pub fn pop_front(&mut self) -> Option<Bytes> {
        let piece = self.parts.pop_front()?;
        self.len -= piece.len();
        Some(piece)
    }

    /// The pieces, in order.
    pub fn pieces(&self) -> impl Iterator<Item = &Bytes> {
        self.parts.iter()
    }

    /// Copies the chunk into one contiguous buffer (no copy when it already is one piece).
    pub fn into_bytes(mut self) -> Bytes {
        match self.parts.len() {
            0 => Bytes::new(),
            1 => self.parts.pop_front().expect("one piece is present"),
            _ => {
                let mut out = BytesMut::with_capacity(self.len);
                for piece in &self.parts {
                    out.extend_from_slice(piece);
                }
                out.freeze()
            }
        }
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
        self.parts.front().map_or(&[], |piece| piece.as_ref())
    }

    fn advance(&mut self, mut cnt: usize) {
        assert!(cnt <= self.len, "advance past the end of a Chunk");
        self.len -= cnt;
        while cnt > 0 {
            let front = self
                .parts
                .front_mut()
                .expect("len counts the bytes of the pieces");
            if cnt < front.len() {
                front.advance(cnt);
                return;
            }
            cnt -= front.len();
            self.parts.pop_front();
        }
    }

    fn chunks_vectored<'a>(&'a self, dst: &mut [std::io::IoSlice<'a>]) -> usize {
        let mut n = 0;
        for (slot, piece) in dst.iter_mut().zip(self.parts.iter()) {
            *slot = std::io::IoSlice::new(piece);
            n += 1;
        }
        n
    }

    fn copy_to_bytes(&mut self, len: usize) -> Bytes {
        if let Some(front) = self.parts.front_mut()
            && len <= front.len()
        {
            self.len -= len;
            let out = front.split_to(len);
            if front.is_empty() {
                self.parts.pop_front();
            }
            return out;
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
