//! Topics and topic patterns, NATS style: dot-separated tokens; in a pattern `*` stands for one
//! token and a final `>` for one or more. The same rules on the in-process bus and on NATS.

use crate::error::{Code, Error, Result};

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
