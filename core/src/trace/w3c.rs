//! The W3C Trace Context and Baggage header values, parsed and formatted exactly as the
//! recommendations say: `traceparent` (version `00`, and the forward-compatible reading of a
//! later version), `tracestate` (list members, keys and values, at most 32 members, no
//! duplicate keys) and `baggage` (list members `key=value;properties`, at most 180 members and
//! 8192 bytes). A value that breaks a rule is refused whole (`None`), as the specifications ask:
//! a malformed `traceparent` starts a new trace, a malformed `tracestate` or `baggage` is
//! dropped. Parsing allocates nothing; only [`TraceParent::format`] returns a `String`.

use super::{SpanId, TraceId};

/// A parsed `traceparent`: the caller's trace id, its span id (the parent of ours) and flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceParent {
    /// The trace id, never all zero.
    pub trace_id: TraceId,
    /// The caller's span id, never all zero.
    pub parent_id: SpanId,
    /// The trace flags; bit 0 is `sampled`, the others are kept as received.
    pub flags: u8,
}

/// The `sampled` bit of the trace flags.
pub const SAMPLED: u8 = 0x01;

/// Lower-case hex digits only (upper case is invalid in `traceparent`).
fn hex_digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        _ => None,
    }
}

/// `2 * N` lower-case hex digits as `N` bytes.
pub(super) fn hex_bytes<const N: usize>(s: &[u8]) -> Option<[u8; N]> {
    if s.len() != 2 * N {
        return None;
    }
    let mut out = [0u8; N];
    for (i, pair) in s.chunks_exact(2).enumerate() {
        out[i] = hex_digit(pair[0])? << 4 | hex_digit(pair[1])?;
    }
    Some(out)
}

/// Writes `bytes` as lower-case hex into `out` (twice as long).
pub(crate) fn write_hex(bytes: &[u8], out: &mut [u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for (i, b) in bytes.iter().enumerate() {
        out[2 * i] = DIGITS[usize::from(b >> 4)];
        out[2 * i + 1] = DIGITS[usize::from(b & 0xf)];
    }
}

/// Optional white space around a header value (HTTP's OWS: spaces and tabs).
fn trim_ows(s: &str) -> &str {
    s.trim_matches([' ', '\t'])
}

impl TraceParent {
    /// Parses a `traceparent` value. Version `00` must be exactly
    /// `00-<32 hex>-<16 hex>-<2 hex>`; a later version (not `ff`) is read by its first four
    /// fields, which must be followed by the end or by `-`. Hex is lower case; an all-zero
    /// trace id or parent id is invalid.
    pub fn parse(value: &str) -> Option<TraceParent> {
        let s = trim_ows(value).as_bytes();
        if s.len() < 55 {
            return None;
        }
        let version = hex_bytes::<1>(&s[0..2])?[0];
        if version == 0xff || s[2] != b'-' || s[35] != b'-' || s[52] != b'-' {
            return None;
        }
        match (version, s.get(55)) {
            (0, None) => {}
            (0, Some(_)) => return None,
            (_, None | Some(b'-')) => {}
            (_, Some(_)) => return None,
        }
        let trace_id = TraceId(hex_bytes::<16>(&s[3..35])?);
        let parent_id = SpanId(hex_bytes::<8>(&s[36..52])?);
        let flags = hex_bytes::<1>(&s[53..55])?[0];
        if trace_id.is_zero() || parent_id.is_zero() {
            return None;
        }
        // Flags a later version defines mean nothing to a version-00 reader.
        let flags = if version == 0 { flags } else { flags & SAMPLED };
        Some(TraceParent {
            trace_id,
            parent_id,
            flags,
        })
    }

    /// The single valid `traceparent` among a call's values: none, or two or more (which the
    /// specification treats as invalid), is `None`.
    pub fn from_values<'a>(mut values: impl Iterator<Item = &'a str>) -> Option<TraceParent> {
        let first = values.next()?;
        if values.next().is_some() {
            return None;
        }
        TraceParent::parse(first)
    }

    /// Whether the caller sampled the trace.
    pub fn sampled(&self) -> bool {
        self.flags & SAMPLED != 0
    }

    /// The version-00 value, `00-<trace id>-<parent id>-<flags>` (only the `sampled` flag is
    /// written: the others are undefined in version 00).
    pub fn format(&self) -> String {
        let mut out = [b'-'; 55];
        out[0..2].copy_from_slice(b"00");
        write_hex(&self.trace_id.0, &mut out[3..35]);
        write_hex(&self.parent_id.0, &mut out[36..52]);
        write_hex(&[self.flags & SAMPLED], &mut out[53..55]);
        out.iter().map(|&b| char::from(b)).collect()
    }
}

/// A member list of `tracestate` or `baggage`: the members between commas, white space trimmed,
/// empty members skipped (both specifications allow them).
fn members(value: &str) -> impl Iterator<Item = &str> {
    value.split(',').map(trim_ows).filter(|m| !m.is_empty())
}

/// The largest number of `tracestate` members.
pub const MAX_TRACESTATE_MEMBERS: usize = 32;

fn key_char(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'-' | b'*' | b'/')
}

/// A `tracestate` key: `simple-key` (a lower-case letter then up to 255 key characters) or
/// `tenant-id@system-id` (a letter or digit then up to 240; a letter then up to 13).
fn tracestate_key(key: &str) -> bool {
    let k = key.as_bytes();
    let tail_ok = |s: &[u8], max: usize| s.len() <= max && s.iter().all(|&b| key_char(b));
    match key.split_once('@') {
        None => k.first().is_some_and(u8::is_ascii_lowercase) && tail_ok(&k[1..], 255),
        Some((tenant, system)) => {
            let (t, s) = (tenant.as_bytes(), system.as_bytes());
            t.first()
                .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
                && tail_ok(&t[1..], 240)
                && s.first().is_some_and(u8::is_ascii_lowercase)
                && tail_ok(&s[1..], 13)
        }
    }
}

/// A `tracestate` value: up to 256 printable characters other than `,` and `=`, spaces allowed
/// except at the end.
fn tracestate_value(value: &str) -> bool {
    let v = value.as_bytes();
    let chr = |b: u8| (0x20..=0x7e).contains(&b) && b != b',' && b != b'=';
    !v.is_empty() && v.len() <= 256 && v.iter().all(|&b| chr(b)) && v[v.len() - 1] != b' '
}

/// Checks a `tracestate` value (several header values joined with `,` are one list). `true`
/// when every member is `key=value` with a valid key and value, no key repeats, and there are
/// at most [`MAX_TRACESTATE_MEMBERS`] members.
pub fn tracestate_valid(value: &str) -> bool {
    let mut count = 0;
    for (i, member) in members(value).enumerate() {
        let Some((key, val)) = member.split_once('=') else {
            return false;
        };
        if !tracestate_key(key) || !tracestate_value(val) {
            return false;
        }
        if members(value)
            .take(i)
            .any(|m| m.split_once('=').map(|p| p.0) == Some(key))
        {
            return false;
        }
        count += 1;
    }
    count <= MAX_TRACESTATE_MEMBERS
}

/// The largest number of `baggage` members, and of bytes in the header.
pub const MAX_BAGGAGE_MEMBERS: usize = 180;
/// See [`MAX_BAGGAGE_MEMBERS`].
pub const MAX_BAGGAGE_BYTES: usize = 8192;

/// An HTTP token (RFC 7230 `tchar`s).
fn token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// `baggage-octet`s: printable ASCII other than space, `"`, `,`, `;` and `\`.
fn baggage_octets(s: &str) -> bool {
    s.bytes()
        .all(|b| matches!(b, 0x21 | 0x23..=0x2b | 0x2d..=0x3a | 0x3c..=0x5b | 0x5d..=0x7e))
}

/// Checks a `baggage` value: members `key=value` with optional `;property` parts (a key, or
/// `key=value`), at most [`MAX_BAGGAGE_MEMBERS`] members and [`MAX_BAGGAGE_BYTES`] bytes.
pub fn baggage_valid(value: &str) -> bool {
    if value.len() > MAX_BAGGAGE_BYTES {
        return false;
    }
    let mut count = 0;
    for member in members(value) {
        let mut parts = member.split(';');
        let Some((key, val)) = parts.next().and_then(|kv| kv.split_once('=')) else {
            return false;
        };
        if !token(trim_ows(key)) || !baggage_octets(trim_ows(val)) {
            return false;
        }
        let property_ok = |p: &str| match p.split_once('=') {
            None => token(trim_ows(p)),
            Some((k, v)) => token(trim_ows(k)) && baggage_octets(trim_ows(v)),
        };
        if !parts.all(property_ok) {
            return false;
        }
        count += 1;
    }
    count <= MAX_BAGGAGE_MEMBERS
}
