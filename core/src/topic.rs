//! Topics and topic patterns, NATS style: dot-separated tokens; in a pattern `*` stands for one
//! token and a final `>` for one or more. The same rules on the in-process bus and on NATS.
//!
//! A schema declares its topics on the message types they carry, with the message option of
//! `hms/ffi/v1/options.proto`:
//!
//! ```proto
//! import "hms/ffi/v1/options.proto";
//! message OrderPlaced {
//!   option (hms.ffi.v1.topic) = "orders.>";
//!   string id = 1;
//! }
//! ```
//!
//! [`declared`] reads them when the schema loads: a bad pattern, or one pattern given to two
//! message types, is the schema's `InvalidArgument` (`SCHEMA_INVALID`), so every bus over that
//! schema, in any language, starts with the same declarations.

use prost_reflect::{DescriptorPool, MessageDescriptor};

use crate::error::{Code, Error, Result};

/// The message option that declares the topics of a message type.
pub const TOPIC_OPTION: &str = "hms.ffi.v1.topic";

/// A topic pattern and the message type its events carry.
pub type Declared = (String, MessageDescriptor);

/// The topic patterns `pool` declares with [`TOPIC_OPTION`], in file and declaration order.
pub(crate) fn declared(pool: &DescriptorPool) -> Result<Vec<Declared>> {
    let Some(ext) = pool.get_extension_by_name(TOPIC_OPTION) else {
        return Ok(Vec::new());
    };
    let invalid = |m: &MessageDescriptor, why: String| {
        Error::new(
            Code::InvalidArgument,
            format!("message {}: option ({TOPIC_OPTION}): {why}", m.full_name()),
        )
        .with_reason("SCHEMA_INVALID")
    };
    let mut out: Vec<Declared> = Vec::new();
    for m in pool.all_messages() {
        let options = m.options();
        if !options.has_extension(&ext) {
            continue;
        }
        let value = options.get_extension(&ext);
        for pattern in value.as_list().unwrap_or_default().iter() {
            let Some(pattern) = pattern.as_str() else {
                continue;
            };
            check_pattern(pattern).map_err(|e| invalid(&m, e.message().to_string()))?;
            match out.iter().find(|(p, _)| p == pattern) {
                Some((_, other)) if other.full_name() != m.full_name() => {
                    let why = format!("{pattern:?} is already the topic of {}", other.full_name());
                    return Err(invalid(&m, why));
                }
                Some(_) => {}
                None => out.push((pattern.to_string(), m.clone())),
            }
        }
    }
    Ok(out)
}

fn bad(topic: &str, why: &str) -> Error {
    Error::new(Code::InvalidArgument, format!("topic {topic:?}: {why}")).with_reason("BAD_TOPIC")
}

fn check_tokens(topic: &str) -> Result<()> {
    if topic.is_empty() {
        return Err(bad(topic, "empty"));
    }
    for t in topic.split('.') {
        if t.is_empty() {
            return Err(bad(topic, "empty token (two dots, or a dot at an end)"));
        }
        if t.contains(|c: char| c.is_whitespace() || c.is_control()) {
            return Err(bad(topic, "tokens have no spaces or control characters"));
        }
    }
    Ok(())
}

/// Checks a topic to publish on: tokens, no wildcard.
pub(crate) fn check_topic(topic: &str) -> Result<()> {
    check_tokens(topic)?;
    if topic.split('.').any(|t| t == "*" || t == ">") {
        return Err(bad(topic, "a published topic has no wildcard"));
    }
    Ok(())
}

/// Checks a pattern to subscribe with: `*` is a whole token, `>` a whole last token.
pub(crate) fn check_pattern(pattern: &str) -> Result<()> {
    check_tokens(pattern)?;
    let tokens: Vec<&str> = pattern.split('.').collect();
    for (i, t) in tokens.iter().enumerate() {
        if t.contains(['*', '>']) && *t != "*" && *t != ">" {
            return Err(bad(pattern, "'*' and '>' are whole tokens"));
        }
        if *t == ">" && i + 1 != tokens.len() {
            return Err(bad(pattern, "'>' is the last token only"));
        }
    }
    Ok(())
}

/// Whether `topic` (no wildcards) matches `pattern`.
pub(crate) fn matches(pattern: &str, topic: &str) -> bool {
    let mut p = pattern.split('.');
    let mut t = topic.split('.');
    loop {
        match (p.next(), t.next()) {
            (Some(">"), Some(_)) => return true,
            (Some("*"), Some(_)) => {}
            (Some(a), Some(b)) if a == b => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_like_nats() {
        assert!(matches("orders.*", "orders.eu"));
        assert!(!matches("orders.*", "orders.eu.paris"));
        assert!(matches("orders.>", "orders.eu.paris"));
        assert!(!matches("orders.>", "orders"));
        assert!(matches("*.eu.*", "orders.eu.paris"));
        assert!(matches("orders.eu", "orders.eu"));
        assert!(!matches("orders.eu", "orders.us"));
        assert!(!matches("orders", "orders.eu"));
    }

    #[test]
    fn bad_topics_and_patterns_are_invalid_argument() {
        for t in ["", "a..b", ".a", "a.", "a b", "a.*", "a.>"] {
            assert_eq!(
                check_topic(t).unwrap_err().code(),
                Code::InvalidArgument,
                "{t}"
            );
        }
        for p in ["a.>.b", "a.b*", "x>", ""] {
            assert_eq!(
                check_pattern(p).unwrap_err().code(),
                Code::InvalidArgument,
                "{p}"
            );
        }
        check_pattern("a.*.>").unwrap();
        check_topic("orders.eu").unwrap();
    }
}
