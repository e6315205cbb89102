//! The W3C Trace Context test suite's cases (w3c/trace-context `test/test.py`: the
//! `traceparent` and `tracestate` parsing rules a server must follow) and the Baggage rules,
//! run against the parsers.

use super::*;

const TRACE: &str = "12345678901234567890123456789012";
const PARENT: &str = "1234567890123456";

fn tp(s: &str) -> Option<TraceParent> {
    TraceParent::parse(s)
}

#[test]
fn a_version_00_traceparent_parses_and_formats_back() {
    let value = format!("00-{TRACE}-{PARENT}-01");
    let p = tp(&value).unwrap();
    assert_eq!(p.trace_id.to_string(), TRACE);
    assert_eq!(p.parent_id.to_string(), PARENT);
    assert!(p.sampled());
    assert_eq!(p.format(), value);
    let p = tp(&format!("00-{TRACE}-{PARENT}-00")).unwrap();
    assert!(!p.sampled());
}

#[test]
fn traceparent_field_rules_of_the_test_suite() {
    // test_traceparent_header_name / version_0x00 / version_0xff / illegal chars.
    for bad in [
        format!("00-{TRACE}-{PARENT}-01-what-the-future-will-be-like"),
        format!("ff-{TRACE}-{PARENT}-01"),
        format!("0-{TRACE}-{PARENT}-01"),
        format!("000-{TRACE}-{PARENT}-01"),
        format!("00-{TRACE}-{PARENT}-.1"),
        format!("00-{TRACE}-{PARENT}-1"),
        format!("00-{TRACE}-{PARENT}-001"),
        format!("00-{}-{PARENT}-01", TRACE.to_uppercase().replace('1', "A")),
        format!("00-ABCDEF78901234567890123456789012-{PARENT}-01"),
        format!("00-{TRACE}-ABCDEF7890123456-01"),
        format!("00-{TRACE}-{PARENT}-0A"),
        format!("00-.2345678901234567890123456789012-{PARENT}-01"),
        format!("00-{TRACE}-.234567890123456-01"),
        format!("00-1234567890123456789012345678901-{PARENT}-01"),
        format!("00-123456789012345678901234567890123-{PARENT}-01"),
        format!("00-{TRACE}-123456789012345-01"),
        format!("00-{TRACE}-12345678901234567-01"),
        format!("00-00000000000000000000000000000000-{PARENT}-01"),
        format!("00-{TRACE}-0000000000000000-01"),
        format!("00_{TRACE}-{PARENT}-01"),
        format!("00-{TRACE}_{PARENT}-01"),
        String::new(),
        "garbage".to_string(),
    ] {
        assert_eq!(tp(&bad), None, "{bad:?} must be refused");
    }
}

#[test]
fn a_later_version_is_read_by_its_first_fields() {
    // test_traceparent_version_0xcc.
    for ok in [
        format!("cc-{TRACE}-{PARENT}-01"),
        format!("cc-{TRACE}-{PARENT}-01-what-the-future-will-be-like"),
    ] {
        let p = tp(&ok).unwrap();
        assert_eq!(p.trace_id.to_string(), TRACE);
        assert!(p.sampled());
    }
    assert_eq!(tp(&format!("cc-{TRACE}-{PARENT}-01.what-the-future")), None);
}

#[test]
fn optional_white_space_and_flags() {
    // test_traceparent_ows_handling; test_traceparent_trace_flags_illegal_characters above.
    for ok in [
        format!(" 00-{TRACE}-{PARENT}-01"),
        format!("\t00-{TRACE}-{PARENT}-01\t "),
    ] {
        assert!(tp(&ok).is_some(), "{ok:?}");
    }
    // Unknown flags are ignored but keep the sampled bit; we propagate only `sampled`.
    let p = tp(&format!("00-{TRACE}-{PARENT}-ff")).unwrap();
    assert!(p.sampled());
    assert!(p.format().ends_with("-01"));
}

#[test]
fn two_traceparents_are_invalid() {
    // test_traceparent_duplicated.
    let a = format!("00-{TRACE}-{PARENT}-01");
    let b = format!("00-{}-{PARENT}-01", "1".repeat(32));
    assert_eq!(
        TraceParent::from_values([a.as_str(), b.as_str()].into_iter()),
        None
    );
    assert!(TraceParent::from_values([a.as_str()].into_iter()).is_some());
    assert_eq!(TraceParent::from_values(std::iter::empty()), None);
}

#[test]
fn tracestate_rules_of_the_test_suite() {
    for ok in [
        "foo=1",
        "foo=1,bar=2",
        "foo=1 , bar=2",
        "foo=1,,bar=2",
        ",foo=1,",
        "foo=bar baz",
        "foo@bar=1",
        "0foo@bar=1",
        "foo*/_-=1",
        "a=!\"#$%&'()*+-./:;<>?@[]^_`{|}~",
    ] {
        assert!(tracestate_valid(ok), "{ok:?} must be kept");
    }
    let long_key = "a".repeat(257);
    let long_value = format!("foo={}", "v".repeat(257));
    let long_tenant = format!("{}@b=1", "t".repeat(242));
    let long_system = format!("t@{}=1", "s".repeat(15));
    for bad in [
        "foo=1,foo=2",
        "foo",
        "foo=",
        "Foo=1",
        "foo=1=2",
        "foo=bar\u{7f}",
        "foo=\u{1}",
        "@bar=1",
        "foo@=1",
        "foo@Bar=1",
        "foo@bar@baz=1",
        "_foo=1",
        long_key.as_str(),
        long_value.as_str(),
        long_tenant.as_str(),
        long_system.as_str(),
    ] {
        let bad = if bad == long_key {
            format!("{bad}=1")
        } else {
            bad.to_string()
        };
        assert!(!tracestate_valid(&bad), "{bad:?} must be dropped");
    }
}

#[test]
fn tracestate_keeps_32_members_and_drops_33() {
    // test_tracestate_member_count_limit.
    let list = |n: usize| {
        (0..n)
            .map(|i| format!("k{i}=v"))
            .collect::<Vec<_>>()
            .join(",")
    };
    assert!(tracestate_valid(&list(32)));
    assert!(!tracestate_valid(&list(33)));
    assert_eq!(MAX_TRACESTATE_MEMBERS, 32);
}

#[test]
fn baggage_rules() {
    for ok in [
        "userId=alice",
        "userId=alice,serverNode=DF%2028,isProduction=false",
        "key1=value1;property1;property2, key2 = value2, key3=value3; propertyKey=propertyValue",
        "k=",
    ] {
        assert!(baggage_valid(ok), "{ok:?} must be kept");
    }
    for bad in ["novalue", "=v", "k=a b", "k=\"q\"", "k=v;=p", "k=v\\"] {
        assert!(!baggage_valid(bad), "{bad:?} must be dropped");
    }
    let many = (0..181)
        .map(|i| format!("k{i}=v"))
        .collect::<Vec<_>>()
        .join(",");
    assert!(!baggage_valid(&many));
    let big = format!("k={}", "v".repeat(MAX_BAGGAGE_BYTES));
    assert!(!baggage_valid(&big));
}

#[test]
fn incoming_trace_follows_the_parent_or_starts_one() {
    let mut md = crate::metadata::Metadata::new();
    md.insert(TRACEPARENT, format!("00-{TRACE}-{PARENT}-01"));
    md.insert(TRACESTATE, "foo=1");
    md.insert(TRACESTATE, "bar=2");
    md.insert(BAGGAGE, "k=v");
    let t = CallTrace::incoming(&md, "");
    assert_eq!(t.trace_id.to_string(), TRACE);
    assert_eq!(t.parent.unwrap().to_string(), PARENT);
    assert_ne!(t.span_id.to_string(), PARENT);
    assert!(t.sampled);
    assert_eq!(t.state.as_deref(), Some("foo=1,bar=2"));
    assert_eq!(t.baggage.as_deref(), Some("k=v"));

    // A malformed traceparent starts a new trace, and its tracestate is dropped.
    let mut md = crate::metadata::Metadata::new();
    let lower = "4bf92f3577b34da6a3ce929d0e0e4736";
    md.insert(
        TRACEPARENT,
        format!("00-{}-{PARENT}-01", lower.to_uppercase()),
    );
    md.insert(TRACESTATE, "foo=1");
    let t = CallTrace::incoming(&md, "");
    assert_ne!(t.trace_id.to_string(), lower);
    assert_eq!((t.parent, t.state), (None, None));

    // The legacy id is read when it is a valid trace id, and ignored otherwise.
    let mut md = crate::metadata::Metadata::new();
    md.insert(LEGACY_TRACE_ID, TRACE);
    assert_eq!(CallTrace::incoming(&md, "").trace_id.to_string(), TRACE);
    assert_eq!(
        CallTrace::incoming(&crate::metadata::Metadata::new(), TRACE)
            .trace_id
            .to_string(),
        TRACE
    );
    let mut md = crate::metadata::Metadata::new();
    md.insert(LEGACY_TRACE_ID, "not-hex");
    assert!(!CallTrace::incoming(&md, "").trace_id.is_zero());
}

#[test]
fn a_child_carries_the_trace_and_names_its_own_span() {
    let mut md = crate::metadata::Metadata::new();
    md.insert(TRACEPARENT, format!("00-{TRACE}-{PARENT}-00"));
    md.insert(TRACESTATE, "foo=1");
    let server = CallTrace::incoming(&md, "");
    let child = CallTrace::child_of(Some(&server)).unwrap();
    assert_eq!(child.trace_id, server.trace_id);
    assert_eq!(child.parent, Some(server.span_id));
    assert!(!child.sampled);
    let mut out = crate::metadata::Metadata::new();
    out.insert(TRACEPARENT, "stale");
    child.inject(&mut out);
    assert_eq!(out.get_all(TRACEPARENT).count(), 1);
    let sent = TraceParent::parse(out.get(TRACEPARENT).unwrap()).unwrap();
    assert_eq!(
        (sent.trace_id, sent.parent_id),
        (server.trace_id, child.span_id)
    );
    assert_eq!(out.get(TRACESTATE), Some("foo=1"));
}
