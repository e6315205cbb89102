//! PHP values as the core's one-pass reader makes them ([`PhpOut`], the core's
//! `mapping::Output`): a received message's bytes become PHP arrays, ints, floats and strings
//! directly, with no `Value` tree in between (Ruby's and Python's `walk.rs` are the same for
//! their objects). The sending side is [`crate::converters::PhpIn`].
//!
//! The values are those [`crate::convert`]'s `to_php` makes from the same message: messages as
//! arrays keyed by field name, maps as arrays with their keys (bool keys `"true"`/`"false"`,
//! integers beyond `PHP_INT_MAX` as decimal text), repeated fields as lists, 64-bit integers as
//! `int` (`GMP` above `PHP_INT_MAX`), bytes as plain strings, enums by name. What the reader
//! leaves to the general path (well-known types, an empty JSON object, malformed bytes) comes as
//! a `Value` and is converted by `to_php`'s own walk; a converted value (`Money`, `Decimal`,
//! `Date`, uuid, a user's `HmsFfi\Converter`) goes through its converter's `fromMessage`, and
//! one that throws is the core's `InvalidArgument` at the value's path.

use ext_php_rs::boxed::ZBox;
use ext_php_rs::types::{ArrayKey, ZendHashTable, ZendStr, Zval};

use crate::convert::{self, Fail};
use crate::converters::Convs;
use crate::ocore::mapping::{Native, Output, Scalar};
use crate::ocore::Value;

/// Makes PHP values for the core's reader, with the converters' `fromMessage`.
pub(crate) struct PhpOut<'a> {
    convs: &'a Convs,
}

impl<'a> PhpOut<'a> {
    /// An output for received messages, converted by `convs`.
    pub(crate) fn new(convs: &'a Convs) -> Self {
        PhpOut { convs }
    }
}

fn array(ht: ZBox<ZendHashTable>) -> Zval {
    let mut z = Zval::new();
    z.set_hashtable(ht);
    z
}

/// A map key as `to_php` keys it: bool keys as `"true"`/`"false"`, a uint64 beyond
/// `PHP_INT_MAX` (a GMP number as a value) as its decimal text. `None` for any other kind.
fn key_of(k: &Zval) -> Option<ArrayKey<'_>> {
    if let Some(i) = k.long() {
        return Some(ArrayKey::Long(i));
    }
    if let Some(s) = k.str() {
        return Some(ArrayKey::from(s));
    }
    if let Some(b) = k.bool() {
        return Some(ArrayKey::Str(if b { "true" } else { "false" }));
    }
    let text = convert::gmp_text(k)?;
    Some(ArrayKey::from(text))
}

impl Output for PhpOut<'_> {
    type Node = Zval;
    type Error = Fail;

    fn null(&mut self) -> Option<Zval> {
        Some(Zval::null())
    }

    fn scalar(&mut self, s: Scalar<'_>) -> Option<Zval> {
        let mut z = Zval::new();
        match s {
            Scalar::Bool(b) => z.set_bool(b),
            Scalar::Int(i) => z.set_long(i),
            // Beyond PHP's int: a key's text or a GMP number, as `to_php` makes it.
            Scalar::UInt(u) => return convert::big_int(&u.to_string()).ok(),
            Scalar::BigInt(t) => return convert::big_int(&t).ok(),
            Scalar::Float(x) => z.set_double(x),
            Scalar::Str(t) => z.set_string(t, false).ok()?,
            // One copy, from the frame's bytes into PHP's string.
            Scalar::Bytes(b) => z.set_zend_string(ZendStr::new(b, false)),
        }
        Some(z)
    }

    fn list(&mut self, items: Vec<Zval>) -> Option<Zval> {
        let mut ht = ZendHashTable::with_capacity(u32::try_from(items.len()).ok()?);
        for x in items {
            ht.push(x).ok()?;
        }
        Some(array(ht))
    }

    fn map(&mut self, entries: Vec<(Zval, Zval)>) -> Option<Zval> {
        let mut ht = ZendHashTable::with_capacity(u32::try_from(entries.len()).ok()?);
        for (k, x) in entries {
            ht.insert(key_of(&k)?, x).ok()?;
        }
        Some(array(ht))
    }

    fn message<'f>(
        &mut self,
        fields: impl ExactSizeIterator<Item = (&'f str, Zval)>,
    ) -> Option<Zval> {
        let mut ht = ZendHashTable::with_capacity(u32::try_from(fields.len()).ok()?);
        for (name, x) in fields {
            ht.insert(name, x).ok()?;
        }
        Some(array(ht))
    }

    fn value(&mut self, v: Value) -> Result<Zval, Fail> {
        convert::received_or_core(&v, self.convs)
    }

    fn convert(&mut self, native: &Native, node: Zval) -> Result<Zval, String> {
        self.convs.native_from(native, node)
    }
}
