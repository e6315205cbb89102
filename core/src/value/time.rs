//! Time values as text: RFC 3339 timestamps and protobuf-JSON durations (`"1.5s"`), their
//! ranges and checks, without a date crate.
//!
//! Part of the base layer with [`Value`](super::Value) itself (whose `Debug` prints them); the
//! mapping re-exports all of it as [`mapping::wkt`](crate::mapping::wkt).

use super::{Duration, Timestamp};

/// Seconds of 0001-01-01T00:00:00Z, the smallest valid `google.protobuf.Timestamp`.
pub const MIN_TIMESTAMP_SECONDS: i64 = -62_135_596_800;
/// Seconds of 9999-12-31T23:59:59Z, the largest valid `google.protobuf.Timestamp`.
pub const MAX_TIMESTAMP_SECONDS: i64 = 253_402_300_799;
/// The largest duration protobuf allows: 10,000 years in seconds.
pub const MAX_DURATION_SECONDS: i64 = 315_576_000_000;

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// A UTC calendar time, for bindings whose native date type is built from fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Civil {
    /// Year (1..=9999 for valid timestamps).
    pub year: i64,
    /// Month, 1..=12.
    pub month: u32,
    /// Day of the month, 1..=31.
    pub day: u32,
    /// Hour, 0..=23.
    pub hour: u32,
    /// Minute, 0..=59.
    pub minute: u32,
    /// Second, 0..=59.
    pub second: u32,
    /// Nanoseconds, 0..=999_999_999.
    pub nanos: u32,
}

/// The UTC calendar fields of a timestamp.
pub fn to_civil(t: Timestamp) -> Civil {
    let days = t.seconds.div_euclid(86_400);
    let secs = t.seconds.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    Civil {
        year,
        month: month as u32,
        day: day as u32,
        hour: (secs / 3600) as u32,
        minute: (secs % 3600 / 60) as u32,
        second: (secs % 60) as u32,
        nanos: t.nanos.clamp(0, 999_999_999) as u32,
    }
}

/// A timestamp from UTC calendar fields (range-checked like any timestamp).
pub fn from_civil(c: Civil) -> Result<Timestamp, String> {
    let seconds = days_from_civil(c.year, i64::from(c.month), i64::from(c.day)) * 86_400
        + i64::from(c.hour) * 3600
        + i64::from(c.minute) * 60
        + i64::from(c.second);
    let t = Timestamp {
        seconds,
        nanos: c.nanos as i32,
    };
    check_timestamp(t)?;
    Ok(t)
}

/// Nanoseconds as 0, 3, 6 or 9 fractional digits (with the leading dot), as protobuf JSON does.
fn fraction(nanos: u32) -> String {
    if nanos == 0 {
        String::new()
    } else if nanos % 1_000_000 == 0 {
        format!(".{:03}", nanos / 1_000_000)
    } else if nanos % 1_000 == 0 {
        format!(".{:06}", nanos / 1_000)
    } else {
        format!(".{nanos:09}")
    }
}

/// Milliseconds since the Unix epoch, now (0 before it, `i64::MAX` past that).
pub fn now_unix_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Formats as RFC 3339 in UTC with `Z`: `2024-02-29T12:34:56.789Z`.
pub fn format_timestamp(t: Timestamp) -> String {
    let c = to_civil(t);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{}Z",
        c.year,
        c.month,
        c.day,
        c.hour,
        c.minute,
        c.second,
        fraction(c.nanos)
    )
}

/// Parses RFC 3339 (`2024-02-29T12:34:56.789Z`, `…+02:00`, lower-case `t`/`z` too).
pub fn parse_timestamp(s: &str) -> Result<Timestamp, String> {
    let bad = || format!("invalid RFC 3339 timestamp {s:?}");
    let b = s.as_bytes();
    if !s.is_ascii()
        || b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
    {
        return Err(bad());
    }
    let num = |r: std::ops::Range<usize>| -> Result<i64, String> {
        let part = s.get(r).ok_or_else(bad)?;
        if !part.bytes().all(|c| c.is_ascii_digit()) {
            return Err(bad());
        }
        part.parse::<i64>().map_err(|_| bad())
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if b[13] != b':' || b[16] != b':' {
        return Err(bad());
    }
    let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let month_days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=12).contains(&mo)
        || d < 1
        || d > month_days[(mo - 1) as usize]
        || h > 23
        || mi > 59
        || se > 60
    {
        return Err(bad());
    }
    let mut rest = &s[19..];
    let mut nanos: i64 = 0;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 || digits > 9 {
            return Err(bad());
        }
        nanos = frac[..digits].parse::<i64>().map_err(|_| bad())? * 10_i64.pow(9 - digits as u32);
        rest = &frac[digits..];
    }
    let rb = rest.as_bytes();
    let offset = match rest {
        "Z" | "z" => 0,
        _ if rb.len() == 6
            && matches!(rb[0], b'+' | b'-')
            && rb[3] == b':'
            && [1, 2, 4, 5].iter().all(|&i| rb[i].is_ascii_digit()) =>
        {
            let digit = |i: usize| i64::from(rb[i] - b'0');
            let (oh, om) = (digit(1) * 10 + digit(2), digit(4) * 10 + digit(5));
            if oh > 23 || om > 59 {
                return Err(bad());
            }
            let sign = if rb[0] == b'-' { -1 } else { 1 };
            sign * (oh * 3600 + om * 60)
        }
        _ => return Err(bad()),
    };
    let seconds = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + se.min(59) - offset;
    let t = Timestamp {
        seconds,
        nanos: nanos as i32,
    };
    check_timestamp(t)?;
    Ok(t)
}

/// Checks the range protobuf allows for a Timestamp.
pub fn check_timestamp(t: Timestamp) -> Result<(), String> {
    if !(MIN_TIMESTAMP_SECONDS..=MAX_TIMESTAMP_SECONDS).contains(&t.seconds) {
        return Err("timestamp out of range 0001-01-01..9999-12-31".to_string());
    }
    if !(0..1_000_000_000).contains(&t.nanos) {
        return Err(format!("timestamp nanos {} out of range", t.nanos));
    }
    Ok(())
}

/// Checks the range and sign rules protobuf sets for a Duration.
pub fn check_duration(d: Duration) -> Result<(), String> {
    if d.seconds.abs() > MAX_DURATION_SECONDS {
        return Err("duration out of range ±10000 years".to_string());
    }
    if d.nanos.abs() >= 1_000_000_000
        || (d.seconds > 0 && d.nanos < 0)
        || (d.seconds < 0 && d.nanos > 0)
    {
        return Err(format!(
            "duration nanos {} invalid for seconds {}",
            d.nanos, d.seconds
        ));
    }
    Ok(())
}

/// Formats as protobuf JSON: `1.500s`, `-0.250s`, `2s`.
pub fn format_duration(d: Duration) -> String {
    let negative = d.seconds < 0 || d.nanos < 0;
    format!(
        "{}{}{}s",
        if negative { "-" } else { "" },
        d.seconds.unsigned_abs(),
        fraction(d.nanos.unsigned_abs())
    )
}

/// Parses protobuf JSON durations: `1.5s`, `-0.25s`, `3s`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("invalid duration {s:?} (expected e.g. \"1.5s\")");
    let body = s.strip_suffix('s').ok_or_else(bad)?;
    let (negative, body) = match body.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, body),
    };
    let (whole, frac) = body.split_once('.').unwrap_or((body, ""));
    if whole.is_empty() || !whole.bytes().all(|c| c.is_ascii_digit()) {
        return Err(bad());
    }
    if frac.len() > 9
        || !frac.bytes().all(|c| c.is_ascii_digit())
        || (body.contains('.') && frac.is_empty())
    {
        return Err(bad());
    }
    let seconds: i64 = whole.parse().map_err(|_| bad())?;
    let nanos: i64 = if frac.is_empty() {
        0
    } else {
        frac.parse::<i64>().map_err(|_| bad())? * 10_i64.pow(9 - frac.len() as u32)
    };
    let sign = if negative { -1 } else { 1 };
    let d = Duration {
        seconds: sign * seconds,
        nanos: (sign * nanos) as i32,
    };
    check_duration(d)?;
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip() {
        for (text, secs, nanos) in [
            ("1970-01-01T00:00:00Z", 0, 0),
            ("2024-02-29T12:34:56.789Z", 1_709_210_096, 789_000_000),
            ("0001-01-01T00:00:00Z", MIN_TIMESTAMP_SECONDS, 0),
            (
                "9999-12-31T23:59:59.999999999Z",
                MAX_TIMESTAMP_SECONDS,
                999_999_999,
            ),
            ("1969-12-31T23:59:59.000001Z", -1, 1000),
        ] {
            let t = parse_timestamp(text).expect(text);
            assert_eq!((t.seconds, t.nanos), (secs, nanos), "{text}");
            assert_eq!(format_timestamp(t), text);
        }
        let t = parse_timestamp("2024-01-01T02:00:00+02:00").expect("offset");
        assert_eq!(format_timestamp(t), "2024-01-01T00:00:00Z");
        for bad in [
            "2024-01-01T00:00:00+0\u{e9}12",
            "2024-01-01T00:00:00+99:00",
            "",
            "2024-13-01T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2024-01-01 00:00:00",
            "x",
        ] {
            assert!(parse_timestamp(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn durations_round_trip() {
        for (text, secs, nanos) in [
            ("1.500s", 1, 500_000_000),
            ("-0.250s", 0, -250_000_000),
            ("2s", 2, 0),
            ("0s", 0, 0),
        ] {
            let d = parse_duration(text).expect(text);
            assert_eq!((d.seconds, d.nanos), (secs, nanos));
            assert_eq!(format_duration(d), text);
        }
        assert_eq!(
            parse_duration("1.5s").map(format_duration),
            Ok("1.500s".to_string())
        );
        for bad in ["1", "s", "1.s", "-s", "1.0000000001s", "abc"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
