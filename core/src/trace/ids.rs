//! Trace and span ids: fixed-size byte arrays, made without locks or allocation from a
//! per-process random seed and a counter mixed with splitmix64 (unique in the process,
//! unpredictable across processes), and written as lower-case hex.

use std::sync::atomic::{AtomicU64, Ordering};

use super::w3c::{hex_bytes, write_hex};

/// A 16-byte trace id.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TraceId(pub [u8; 16]);

/// An 8-byte span id.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SpanId(pub [u8; 8]);

static COUNTER: AtomicU64 = AtomicU64::new(1);

fn seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    static SEED: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *SEED.get_or_init(|| {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(u64::from(std::process::id()));
        h.finish()
    })
}

fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A non-zero random-looking word.
fn next_word() -> u64 {
    loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let w = mix(seed() ^ n.rotate_left(17));
        if w != 0 {
            return w;
        }
    }
}

impl TraceId {
    /// A new trace id.
    pub fn random() -> TraceId {
        let a = next_word();
        let b = mix(a ^ seed().rotate_left(32));
        let mut out = [0u8; 16];
        out[..8].copy_from_slice(&a.to_be_bytes());
        out[8..].copy_from_slice(&b.to_be_bytes());
        TraceId(out)
    }
    /// Whether every byte is zero (an invalid id).
    pub fn is_zero(&self) -> bool {
        self.0 == [0; 16]
    }
    /// 32 lower-case hex digits, not all zero.
    pub fn from_hex(s: &str) -> Option<TraceId> {
        Some(TraceId(hex_bytes::<16>(s.as_bytes())?)).filter(|t| !t.is_zero())
    }
    /// The id as 32 lower-case hex digits, without allocating.
    pub fn hex(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        write_hex(&self.0, &mut out);
        out
    }
}

impl SpanId {
    /// A new span id.
    pub fn random() -> SpanId {
        SpanId(next_word().to_be_bytes())
    }
    /// Whether every byte is zero (an invalid id).
    pub fn is_zero(&self) -> bool {
        self.0 == [0; 8]
    }
    /// The id as 16 lower-case hex digits, without allocating.
    pub fn hex(&self) -> [u8; 16] {
        let mut out = [0u8; 16];
        write_hex(&self.0, &mut out);
        out
    }
}

impl std::fmt::Debug for TraceId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(std::str::from_utf8(&self.hex()).unwrap_or_default())
    }
}

impl std::fmt::Debug for SpanId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(std::str::from_utf8(&self.hex()).unwrap_or_default())
    }
}

impl std::fmt::Display for TraceId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self, f)
    }
}

impl std::fmt::Display for SpanId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_distinct_non_zero_and_round_trip_as_hex() {
        let ids: std::collections::HashSet<TraceId> =
            (0..1000).map(|_| TraceId::random()).collect();
        assert_eq!(ids.len(), 1000);
        for id in ids.iter().take(50) {
            assert!(!id.is_zero());
            let hex = id.to_string();
            assert_eq!(TraceId::from_hex(&hex), Some(*id));
        }
        let spans: std::collections::HashSet<SpanId> =
            (0..1000).map(|_| SpanId::random()).collect();
        assert_eq!(spans.len(), 1000);
        assert!(spans.iter().all(|s| !s.is_zero()));
    }

    #[test]
    fn from_hex_refuses_what_traceparent_refuses() {
        assert_eq!(TraceId::from_hex(&"0".repeat(32)), None);
        assert_eq!(TraceId::from_hex(&"A".repeat(32)), None);
        assert_eq!(TraceId::from_hex("abc"), None);
        assert_eq!(TraceId::from_hex("not-a-trace-id-at-all"), None);
    }
}
