//! CBOR bytes as the one-pass walks' [`Input`] (and, in [`super::cbor_out`], their
//! [`Output`](super::Output)): a binding that hands its values over as CBOR (Node's JavaScript
//! encoder, Go's) gets protobuf from its bytes and its bytes from protobuf with no [`Value`]
//! tree in between.
//!
//! [`CborDoc::parse`] reads the bytes once into a flat table of items (each with its place in
//! the bytes and the index of its next sibling), checking them as [`crate::cbor::decode`] does;
//! bytes it refuses are refused with `decode`'s own error. Each item is shown with the [`View`]
//! that `decode`'s value would have; what only the general path can give (timestamps,
//! durations, integers beyond 64 bits, indefinite-length strings) is [`View::Other`], and its
//! [`Input::to_value`] is `decode` of its own bytes.

use std::borrow::Cow;

use super::input::{Input, View};
use crate::cbor;
use crate::error::{Code, Error, Result};
use crate::value::Value;

/// CBOR bytes read into a table of items, ready to be walked as an [`Input`].
#[derive(Debug)]
pub struct CborDoc<'a> {
    bytes: &'a [u8],
    nodes: Vec<Node<'a>>,
    max_depth: usize,
}

#[derive(Debug, Clone, Copy)]
struct Node<'a> {
    item: View<'a>,
    /// The item's bytes (a tag's included).
    start: usize,
    end: usize,
    /// The index of the item after this one and its contents.
    next: usize,
    /// A list's items, a map's entries.
    count: usize,
}

impl<'a> CborDoc<'a> {
    /// Reads one CBOR item (bytes after it are ignored, as by `decode`), nesting at most
    /// `max_depth` deep. Bytes `decode` refuses are refused with its error.
    pub fn parse(bytes: &'a [u8], max_depth: usize) -> Result<CborDoc<'a>> {
        let mut scan = Scan {
            b: bytes,
            pos: 0,
            nodes: Vec::with_capacity(bytes.len() / 4 + 1),
            max_depth,
        };
        match scan.item(0) {
            Some(()) => Ok(CborDoc {
                bytes,
                nodes: scan.nodes,
                max_depth,
            }),
            None => Err(match cbor::decode(bytes, max_depth) {
                Err(e) => e,
                Ok(_) => Error::new(Code::InvalidArgument, "invalid CBOR"),
            }),
        }
    }

    /// The item the bytes hold, as an [`Input`].
    pub fn root(&self) -> CborInput<'_, 'a> {
        CborInput { doc: self, at: 0 }
    }
}

/// One item of a [`CborDoc`].
#[derive(Debug, Clone, Copy)]
pub struct CborInput<'d, 'a> {
    doc: &'d CborDoc<'a>,
    at: usize,
}

impl CborInput<'_, '_> {
    fn node(&self) -> &Node<'_> {
        &self.doc.nodes[self.at]
    }

    /// The indices of this item's first `n` contained items.
    fn children(&self, n: usize) -> impl Iterator<Item = usize> + '_ {
        let mut next = self.at + 1;
        (0..n).map(move |_| {
            let at = next;
            next = self.doc.nodes[at].next;
            at
        })
    }
}

impl Input for CborInput<'_, '_> {
    type Error = Error;

    fn view(&self) -> View<'_> {
        self.node().item
    }

    fn items(&self) -> impl Iterator<Item = Self> + '_ {
        let n = match self.node().item {
            View::List => self.node().count,
            _ => 0,
        };
        self.children(n).map(|at| CborInput { doc: self.doc, at })
    }

    fn entries(&self) -> impl Iterator<Item = (Self, Self)> + '_ {
        let n = match self.node().item {
            View::Map => self.node().count,
            _ => 0,
        };
        let mut all = self.children(2 * n);
        std::iter::from_fn(move || {
            let (k, v) = (all.next()?, all.next()?);
            Some((
                CborInput {
                    doc: self.doc,
                    at: k,
                },
                CborInput {
                    doc: self.doc,
                    at: v,
                },
            ))
        })
    }

    fn len_hint(&self) -> usize {
        match self.node().item {
            View::Map => self.node().count,
            _ => 0,
        }
    }

    fn to_value(&self) -> Result<Cow<'_, Value>> {
        let n = self.node();
        cbor::decode(&self.doc.bytes[n.start..n.end], self.doc.max_depth).map(Cow::Owned)
    }
}

/// The reading of [`CborDoc::parse`]: `None` wherever `decode` would fail.
struct Scan<'a> {
    b: &'a [u8],
    pos: usize,
    nodes: Vec<Node<'a>>,
    max_depth: usize,
}

impl<'a> Scan<'a> {
    fn take(&mut self, n: u64) -> Option<&'a [u8]> {
        let n = usize::try_from(n).ok()?;
        let end = self.pos.checked_add(n).filter(|end| *end <= self.b.len())?;
        let out = &self.b[self.pos..end];
        self.pos = end;
        Some(out)
    }

    fn byte(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }

    /// An initial byte's argument; `Some(None)`: indefinite length.
    fn arg(&mut self, info: u8) -> Option<Option<u64>> {
        Some(Some(match info {
            0..=23 => u64::from(info),
            24 => u64::from(self.byte()?),
            25 => u64::from(u16::from_be_bytes(self.take(2)?.try_into().ok()?)),
            26 => u64::from(u32::from_be_bytes(self.take(4)?.try_into().ok()?)),
            27 => u64::from_be_bytes(self.take(8)?.try_into().ok()?),
            31 => return Some(None),
            _ => return None,
        }))
    }

    /// Consumes a break byte when one is next.
    fn at_break(&mut self) -> Option<bool> {
        let brk = *self.b.get(self.pos)? == 0xff;
        self.pos += usize::from(brk);
        Some(brk)
    }

    /// The chunks of an indefinite-length string of `major` type, joined.
    fn chunks(&mut self, major: u8) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        while !self.at_break()? {
            let ib = self.byte()?;
            if ib >> 5 != major {
                return None;
            }
            let n = self.arg(ib & 0x1f)??;
            out.extend_from_slice(self.take(n)?);
        }
        Some(out)
    }

    /// Reads `n` (or, for `None`, up to a break) items of `per` nodes each; returns how many.
    fn contents(&mut self, n: Option<u64>, per: usize, depth: usize) -> Option<usize> {
        let mut count = 0;
        loop {
            match n {
                Some(n) if count as u64 == n => return Some(count),
                None if self.at_break()? => return Some(count),
                _ => {}
            }
            for _ in 0..per {
                self.item(depth + 1)?;
            }
            count += 1;
        }
    }

    /// Reads one item at `depth` and what it contains.
    fn item(&mut self, depth: usize) -> Option<()> {
        if depth > self.max_depth {
            return None;
        }
        let start = self.pos;
        let ib = self.byte()?;
        let (major, info) = (ib >> 5, ib & 0x1f);
        if major == 6 {
            return self.tagged(start, info, depth);
        }
        let at = self.nodes.len();
        self.nodes.push(Node {
            item: View::Other,
            start,
            end: start,
            next: at + 1,
            count: 0,
        });
        let (item, count) = match major {
            0 => (integer(i128::from(self.arg(info)??)), 0),
            1 => (integer(-1 - i128::from(self.arg(info)??)), 0),
            2 => match self.arg(info)? {
                Some(n) => (View::Bytes(self.take(n)?), 0),
                None => self.chunks(2).map(|_| (View::Other, 0))?,
            },
            3 => match self.arg(info)? {
                Some(n) => (View::Str(std::str::from_utf8(self.take(n)?).ok()?), 0),
                None => {
                    String::from_utf8(self.chunks(3)?).ok()?;
                    (View::Other, 0)
                }
            },
            4 | 5 => {
                let n = self.arg(info)?;
                let per = usize::from(major - 3);
                let item = if major == 4 { View::List } else { View::Map };
                (item, self.contents(n, per, depth)?)
            }
            _ => (self.simple(info)?, 0),
        };
        let next = self.nodes.len();
        let node = &mut self.nodes[at];
        (node.item, node.count, node.end, node.next) = (item, count, self.pos, next);
        Some(())
    }

    fn simple(&mut self, info: u8) -> Option<View<'a>> {
        Some(match info {
            20 => View::Bool(false),
            21 => View::Bool(true),
            24 => {
                self.byte()?;
                View::Null
            }
            25 => View::Float(cbor::half(u16::from_be_bytes(
                self.take(2)?.try_into().ok()?,
            ))),
            26 => View::Float(f64::from(f32::from_be_bytes(
                self.take(4)?.try_into().ok()?,
            ))),
            27 => View::Float(f64::from_be_bytes(self.take(8)?.try_into().ok()?)),
            28..=31 => return None,
            _ => View::Null,
        })
    }

    /// A tagged item: its content's node, starting at the tag, with the meaning `decode`'s
    /// `tagged` gives it (a tag hms-ffi gives no meaning to is its bare content).
    fn tagged(&mut self, start: usize, info: u8, depth: usize) -> Option<()> {
        let tag = self.arg(info)??;
        let at = self.nodes.len();
        self.item(depth + 1)?;
        let content = self.nodes[at].item;
        let meaning = match (tag, content) {
            (2 | 3, View::Bytes(b)) => Some(bignum(tag, b)),
            (0, View::Str(text)) => {
                crate::value::time::parse_timestamp(text).ok()?;
                Some(View::Other)
            }
            (0, _) => None,
            (1, View::Float(_) | View::Int(_) | View::UInt(_) | View::Other) => Some(View::Other),
            (1002, View::Map) => Some(View::Other),
            // Indefinite-length bytes under a bignum tag: left to the general path.
            (2 | 3, View::Other) => Some(View::Other),
            _ => None,
        };
        let node = &mut self.nodes[at];
        node.start = start;
        if let Some(item) = meaning {
            (node.item, node.count, node.next) = (item, 0, at + 1);
            self.nodes.truncate(at + 1);
        }
        Some(())
    }
}

/// An integer's item: 64-bit when it fits, else the general path's.
fn integer(n: i128) -> View<'static> {
    i64::try_from(n)
        .map(View::Int)
        .or_else(|_| u64::try_from(n).map(View::UInt))
        .unwrap_or(View::Other)
}

/// A bignum (tag 2 or 3) of magnitude `b`, as `decode` reads it.
fn bignum(tag: u64, b: &[u8]) -> View<'static> {
    let n = (b.len() <= 16)
        .then(|| b.iter().fold(0u128, |acc, x| (acc << 8) | u128::from(*x)))
        .and_then(|n| i128::try_from(n).ok());
    match n {
        Some(m) => integer(if tag == 2 { m } else { -1 - m }),
        None => View::Other,
    }
}
