//! CBOR written by the one-pass reader ([`Output`]): [`CborOut`] writes what the reader makes
//! into one buffer, each object a span of it, a container copying its parts after its head, so
//! the bytes are [`crate::cbor::encode`] of the [`Value`] the reader would have made, with no
//! `Value` tree built. Its input side is [`super::cbor_io`].

use super::convert::Native;
use super::output::{Output, Scalar};
use crate::cbor;
use crate::error::{Error, Result};
use crate::value::Value;

/// An [`Output`] that writes CBOR: every object is a [`CborSpan`] of one buffer, and a container
/// copies its parts after its head. [`CborOut::finish`] gives the bytes of the whole.
#[derive(Debug, Default)]
pub struct CborOut {
    buf: Vec<u8>,
}

/// The converter of a binding whose native side reads this CBOR (Node's decoder): a value the
/// core's walk converts comes out inside this tag, and the binding's decoder hands the tagged
/// value to its converter's native function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CborTag(pub u64);

/// One object written by a [`CborOut`]: where its bytes are in the buffer.
#[derive(Debug, Clone, Copy)]
pub struct CborSpan {
    start: usize,
    end: usize,
}

impl CborOut {
    fn write(&mut self, f: impl FnOnce(&mut Vec<u8>)) -> CborSpan {
        let start = self.buf.len();
        f(&mut self.buf);
        CborSpan {
            start,
            end: self.buf.len(),
        }
    }

    fn copy(&mut self, part: CborSpan) {
        self.buf.extend_from_within(part.start..part.end);
    }

    /// The CBOR of `root` (an object this output made), the buffer given up.
    pub fn finish(self, root: CborSpan) -> Vec<u8> {
        let mut buf = self.buf;
        buf.truncate(root.end);
        buf.drain(..root.start);
        buf
    }
}

impl Output for CborOut {
    type Node = CborSpan;
    type Error = Error;

    fn null(&mut self) -> Option<CborSpan> {
        Some(self.write(|b| b.push(0xf6)))
    }

    fn scalar(&mut self, s: Scalar<'_>) -> Option<CborSpan> {
        Some(self.write(|b| match s {
            Scalar::Bool(v) => b.push(if v { 0xf5 } else { 0xf4 }),
            Scalar::Int(i) => cbor::int(b, i),
            Scalar::UInt(u) => cbor::head(b, 0, u),
            Scalar::BigInt(t) => cbor::bignum(b, &t),
            Scalar::Float(x) => cbor::float(b, x),
            Scalar::Str(t) => cbor::text(b, t),
            Scalar::Bytes(v) => cbor::bytes(b, v),
        }))
    }

    fn list(&mut self, items: Vec<CborSpan>) -> Option<CborSpan> {
        let start = self.buf.len();
        cbor::head(&mut self.buf, 4, items.len() as u64);
        items.into_iter().for_each(|item| self.copy(item));
        Some(CborSpan {
            start,
            end: self.buf.len(),
        })
    }

    fn map(&mut self, entries: Vec<(CborSpan, CborSpan)>) -> Option<CborSpan> {
        let start = self.buf.len();
        cbor::head(&mut self.buf, 5, entries.len() as u64);
        for (k, v) in entries {
            self.copy(k);
            self.copy(v);
        }
        Some(CborSpan {
            start,
            end: self.buf.len(),
        })
    }

    fn message<'a>(
        &mut self,
        fields: impl ExactSizeIterator<Item = (&'a str, CborSpan)>,
    ) -> Option<CborSpan> {
        let start = self.buf.len();
        cbor::head(&mut self.buf, 5, fields.len() as u64);
        for (name, v) in fields {
            cbor::text(&mut self.buf, name);
            self.copy(v);
        }
        Some(CborSpan {
            start,
            end: self.buf.len(),
        })
    }

    fn value(&mut self, v: Value) -> Result<CborSpan> {
        let start = self.buf.len();
        cbor::write(&mut self.buf, &v)?;
        Ok(CborSpan {
            start,
            end: self.buf.len(),
        })
    }

    fn convert(
        &mut self,
        native: &Native,
        node: CborSpan,
    ) -> std::result::Result<CborSpan, String> {
        let Some(CborTag(tag)) = native.downcast_ref::<CborTag>() else {
            return Ok(node);
        };
        let start = self.buf.len();
        cbor::head(&mut self.buf, 6, *tag);
        self.copy(node);
        Ok(CborSpan {
            start,
            end: self.buf.len(),
        })
    }
}
