//! Reading a stored `expires`: the instants the `time` crate's RFC 3339
//! and RFC 2822 parsers (0.3.55, `OffsetDateTime::parse`) accept, and the
//! same instants, without the crate's parsing machinery.
//!
//! Why by hand: that machinery was ~9 KB raw of the deployed wasm (issue
//! 14's size target) for two fixed grammars. The rules below are the
//! crate's, quirks included (any byte between date and time in RFC 3339,
//! comments and folding white space in RFC 2822, `-0030` read as
//! `+00:30`, a leap second only as the last second of a UTC month), so a
//! document that read before reads the same. The unit tests and a property
//! test (`tests/properties.rs`) compare both over generated input.

use super::document::Millis;

/// `text` as ms since the epoch (rounded down), read as RFC 3339 or, that
/// failing, RFC 2822; `None` when neither reads it.
pub(crate) fn parse(text: &str) -> Option<Millis> {
    let b = text.as_bytes();
    rfc3339(b).or_else(|| rfc2822(b))
}

/// A local date and time with its UTC offset in seconds, as parsed.
struct Fields {
    year: i32,
    month: u8,
    day: u8,
    hour: u8,
    minute: u8,
    second: u8,
    nanos: u32,
    offset_seconds: i32,
}

/// The instant in ms, or `None` when a field is out of range (day of the
/// month, hour 24, a second 60 that is not the last second of a UTC month).
fn instant(f: &Fields) -> Option<Millis> {
    let leap = f.second == 60;
    let (second, nanos) = if leap { (59, 999_999_999) } else { (f.second, f.nanos) };
    let valid = (1..=12).contains(&f.month)
        && (1..=days_in_month(f.year, f.month)).contains(&f.day)
        && f.hour <= 23
        && f.minute <= 59
        && second <= 59;
    if !valid {
        return None;
    }
    let local_seconds = days_from_civil(f.year, f.month, f.day) * 86_400
        + i64::from(f.hour) * 3600
        + i64::from(f.minute) * 60
        + i64::from(second);
    let utc_seconds = local_seconds - i64::from(f.offset_seconds);
    if leap && !is_last_second_of_a_month(utc_seconds) {
        return None;
    }
    Some(utc_seconds * 1000 + i64::from(nanos / 1_000_000))
}

/// Whether `utc_seconds` is 23:59:59 on the last day of its month (within
/// the years -9999 to 9999 the `time` crate has).
fn is_last_second_of_a_month(utc_seconds: i64) -> bool {
    let (days, second_of_day) = (utc_seconds.div_euclid(86_400), utc_seconds.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    second_of_day == 86_399 && (-9999..=9999).contains(&year) && day == days_in_month(year, month)
}

fn is_leap_year(year: i32) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
/// `days_from_civil`).
fn days_from_civil(year: i32, month: u8, day: u8) -> i64 {
    let y = i64::from(year) - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let m = i64::from(month);
    let day_of_year = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The date of `days` since 1970-01-01 (H. Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i32, u8, u8) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * mp + 2) / 5 + 1) as u8;
    let month = (if mp < 10 { mp + 3 } else { mp - 9 }) as u8;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (i32::try_from(year).unwrap_or(i32::MAX), month, day)
}

/// Exactly `N` ASCII digits at the start of `b`, as a number.
fn digits<const N: usize>(b: &[u8]) -> Option<(&[u8], u16)> {
    let (head, rest) = b.split_at_checked(N)?;
    let mut value = 0u16;
    for &d in head {
        if !d.is_ascii_digit() {
            return None;
        }
        value = value * 10 + u16::from(d - b'0');
    }
    Some((rest, value))
}

/// `b` after the byte `c`, if it starts with it.
fn byte(b: &[u8], c: u8) -> Option<&[u8]> {
    b.strip_prefix(&[c])
}

/// `+` as 1 and `-` as -1.
fn sign(b: &[u8]) -> Option<(&[u8], i32)> {
    match b {
        [b'+', rest @ ..] => Some((rest, 1)),
        [b'-', rest @ ..] => Some((rest, -1)),
        _ => None,
    }
}

/// `YYYY-MM-DD?HH:MM:SS[.fraction](Z|±HH:MM)`, `?` any one byte, `Z` of
/// either case, the offset's hours at most 23.
fn rfc3339(b: &[u8]) -> Option<Millis> {
    let (b, year) = digits::<4>(b)?;
    let (b, month) = digits::<2>(byte(b, b'-')?)?;
    let (b, day) = digits::<2>(byte(b, b'-')?)?;
    let (b, hour) = digits::<2>(b.get(1..)?)?;
    let (b, minute) = digits::<2>(byte(b, b':')?)?;
    let (mut b, second) = digits::<2>(byte(b, b':')?)?;
    let mut nanos = 0u32;
    if let Some(rest) = byte(b, b'.') {
        // One digit at least; the first nine count, the rest are read and dropped.
        let count = rest.iter().take_while(|d| d.is_ascii_digit()).count();
        if count == 0 {
            return None;
        }
        let mut scale = 100_000_000u32;
        for &d in &rest[..count] {
            nanos += u32::from(d - b'0') * scale;
            scale /= 10;
        }
        b = &rest[count..];
    }
    let offset_seconds = match b {
        [b'Z' | b'z'] => 0,
        _ => {
            let (b, sign) = sign(b)?;
            let (b, offset_hour) = digits::<2>(b)?;
            let (b, offset_minute) = digits::<2>(byte(b, b':')?)?;
            if !b.is_empty() || offset_hour > 23 || offset_minute > 59 {
                return None;
            }
            sign * (i32::from(offset_hour) * 3600 + i32::from(offset_minute) * 60)
        }
    };
    instant(&Fields {
        year: i32::from(year),
        month: month as u8,
        day: day as u8,
        hour: hour as u8,
        minute: minute as u8,
        second: second as u8,
        nanos,
        offset_seconds,
    })
}

const WEEKDAYS: [&[u8; 3]; 7] = [b"mon", b"tue", b"wed", b"thu", b"fri", b"sat", b"sun"];
const MONTHS: [&[u8; 3]; 12] =
    [b"jan", b"feb", b"mar", b"apr", b"may", b"jun", b"jul", b"aug", b"sep", b"oct", b"nov", b"dec"];

/// The index in `names` of the three letters `b` starts with, any case.
fn name<'a>(b: &'a [u8], names: &[&[u8; 3]]) -> Option<(&'a [u8], usize)> {
    let (head, rest) = b.split_at_checked(3)?;
    names.iter().position(|n| head.eq_ignore_ascii_case(*n)).map(|i| (rest, i))
}

/// `[Day,] D[D] Mon YYYY HH:MM[:SS] zone` with RFC 2822's comments and
/// folding white space where the `time` crate allows them, a two-digit
/// year (`< 50` is 20xx), `±HHMM` or a zone name (`GMT`, `UT`, US zones,
/// military letters other than `J`, all but the US zones read as UTC).
/// The weekday is not checked against the date.
fn rfc2822(b: &[u8]) -> Option<Millis> {
    let mut b = opt_cfws(b);
    if let Some((rest, _)) = name(b, &WEEKDAYS) {
        b = opt_cfws(byte(rest, b',')?);
    }
    let (b, day) = match b {
        [d1 @ b'0'..=b'9', d2 @ b'0'..=b'9', rest @ ..] => (rest, (d1 - b'0') * 10 + (d2 - b'0')),
        [d @ b'0'..=b'9', rest @ ..] => (rest, d - b'0'),
        _ => return None,
    };
    let (b, month) = name(cfws(b)?, &MONTHS)?;
    let b = cfws(b)?;
    let (b, year) = match digits::<4>(b) {
        Some((_, year)) if year < 1900 => return None,
        Some((rest, year)) => (fws(rest)?, year),
        None => {
            let (rest, year) = digits::<2>(b)?;
            (cfws(rest)?, if year < 50 { year + 2000 } else { year + 1900 })
        }
    };
    let (b, hour) = digits::<2>(b)?;
    let (b, minute) = digits::<2>(opt_cfws_colon_opt_cfws(b)?)?;
    let (b, second) = match opt_cfws_colon_opt_cfws(b) {
        Some(rest) => {
            let (rest, second) = digits::<2>(rest)?;
            (cfws(rest)?, second)
        }
        None => (cfws(b)?, 0),
    };
    let (b, offset_seconds) = match sign(b) {
        Some((rest, sign)) => {
            let (rest, offset_hour) = digits::<2>(rest)?;
            let (rest, offset_minute) = digits::<2>(rest)?;
            if offset_hour > 25 || offset_minute > 59 {
                return None;
            }
            // The minutes take the hours' sign, unless the hours are 0:
            // then they stay positive (`-0030` is +00:30).
            let minutes_sign = if offset_hour == 0 { 1 } else { sign };
            (rest, sign * i32::from(offset_hour) * 3600 + minutes_sign * i32::from(offset_minute) * 60)
        }
        None => zone_name(b)?,
    };
    if !opt_cfws(b).is_empty() {
        return None;
    }
    instant(&Fields {
        year: i32::from(year),
        month: month as u8 + 1,
        day,
        hour: hour as u8,
        minute: minute as u8,
        second: second as u8,
        nanos: 0,
        offset_seconds,
    })
}

/// A zone name and its offset in seconds. Three bytes or more: `GMT` or a
/// US zone, any case. Fewer: `UT` of any case, or one ASCII letter other
/// than `J` (military zones, all read as UTC).
fn zone_name(b: &[u8]) -> Option<(&[u8], i32)> {
    const ZONES: [(&[u8; 3], i32); 9] = [
        (b"gmt", 0),
        (b"est", -5),
        (b"edt", -4),
        (b"cst", -6),
        (b"cdt", -5),
        (b"mst", -7),
        (b"mdt", -6),
        (b"pst", -8),
        (b"pdt", -7),
    ];
    match b {
        [_, _, _, ..] => {
            let (head, rest) = b.split_at(3);
            ZONES.iter().find(|(n, _)| head.eq_ignore_ascii_case(*n)).map(|(_, hours)| (rest, hours * 3600))
        }
        [u, t] if [*u, *t].eq_ignore_ascii_case(b"ut") => Some((&[], 0)),
        [letter, rest @ ..] if letter.is_ascii_alphabetic() && !letter.eq_ignore_ascii_case(&b'j') => Some((rest, 0)),
        _ => None,
    }
}

/// `' '` or `'\t'`.
fn is_wsp(c: u8) -> bool {
    matches!(c, b' ' | b'\t')
}

/// `b` after one or more `' '`/`'\t'`.
fn wsp1(b: &[u8]) -> Option<&[u8]> {
    let n = b.iter().take_while(|&&c| is_wsp(c)).count();
    (n > 0).then(|| &b[n..])
}

/// Folding white space, as the `time` crate reads it: one white-space byte
/// (`'\r'` included) not followed by more white space, or a run of
/// `' '`/`'\t'` with `"\r\n"` and more of them after it, or `"\r\n"` and
/// a run.
fn fws(b: &[u8]) -> Option<&[u8]> {
    let first = *b.first()?;
    if !matches!(first, b'\r' | b' ' | b'\t') {
        return None;
    }
    if !matches!(b.get(1), Some(b' ' | b'\r' | b'\n' | b'\t')) {
        return Some(&b[1..]);
    }
    if let [b'\r', b'\n', rest @ ..] = b {
        return wsp1(rest);
    }
    let mut b = wsp1(b)?;
    while let [b'\r', b'\n', rest @ ..] = b {
        b = wsp1(rest)?;
    }
    Some(b)
}

/// Comments and folding white space, one item at least.
fn cfws(b: &[u8]) -> Option<&[u8]> {
    let first = *b.first()?;
    if first != b'(' {
        if !matches!(first, b'\r' | b' ' | b'\t') {
            return None;
        }
        if !matches!(b.get(1), Some(b'(' | b' ' | b'\r' | b'\n' | b'\t')) {
            return Some(&b[1..]);
        }
    }
    let mut b = fws(b).or_else(|| comment(b, 1))?;
    while let Some(rest) = fws(b).or_else(|| comment(b, 1)) {
        b = rest;
    }
    Some(b)
}

/// [`cfws`] if there is any.
fn opt_cfws(b: &[u8]) -> &[u8] {
    cfws(b).unwrap_or(b)
}

/// `:` with optional comments and folding white space around it.
fn opt_cfws_colon_opt_cfws(b: &[u8]) -> Option<&[u8]> {
    Some(opt_cfws(byte(opt_cfws(b), b':')?))
}

/// How deep comments nest before the `time` crate stops reading them.
const COMMENT_DEPTH_LIMIT: u8 = 32;

/// A parenthesized comment: text, `\`-quoted bytes, folding white space
/// and nested comments.
fn comment(b: &[u8], depth: u8) -> Option<&[u8]> {
    if depth == COMMENT_DEPTH_LIMIT {
        return None;
    }
    let mut b = skip_fws(byte(b, b'(')?);
    while let Some(rest) = comment_item(b, depth + 1) {
        b = skip_fws(rest);
    }
    byte(b, b')')
}

fn skip_fws(mut b: &[u8]) -> &[u8] {
    while let Some(rest) = fws(b) {
        b = rest;
    }
    b
}

/// One comment byte, a quoted pair, or a nested comment.
fn comment_item(b: &[u8], depth: u8) -> Option<&[u8]> {
    match b.first()? {
        1..=8 | 11..=12 | 14..=31 | 33..=39 | 42..=91 | 93..=127 => Some(&b[1..]),
        b'\\' => Some(quoted_text(&b[1..])),
        _ => comment(b, depth),
    }
}

/// What follows a `\` in a comment: one byte of 1 to 127 other than CR
/// and LF, or else the obsolete text the `time` crate takes there (bytes
/// up to 127 but `)`, CR and LF, with LF and CR runs between them).
fn quoted_text(b: &[u8]) -> &[u8] {
    if let Some(1..=9 | 11..=12 | 14..=127) = b.first() {
        return &b[1..];
    }
    let mut b = skip_lf_cr(b);
    while let Some(0..=9 | 11..=12 | 14..=40 | 42..=127) = b.first() {
        b = skip_lf_cr(&b[1..]);
    }
    b
}

/// `b` after a run of LF, then a run of CR.
fn skip_lf_cr(b: &[u8]) -> &[u8] {
    let lf = b.iter().take_while(|&&c| c == b'\n').count();
    let b = &b[lf..];
    let cr = b.iter().take_while(|&&c| c == b'\r').count();
    &b[cr..]
}

#[cfg(test)]
mod tests {
    use super::parse;
    use time::format_description::well_known::{Rfc2822, Rfc3339};
    use time::OffsetDateTime;

    /// What `document::parse_iso` returned with the `time` crate.
    pub(crate) fn by_time(text: &str) -> Option<i64> {
        let t = OffsetDateTime::parse(text, &Rfc3339).or_else(|_| OffsetDateTime::parse(text, &Rfc2822)).ok()?;
        i64::try_from(t.unix_timestamp_nanos().div_euclid(1_000_000)).ok()
    }

    #[test]
    fn reads_what_the_time_crate_reads() {
        let vectors = [
            "2026-11-23T06:23:27.103Z",
            "2026-11-23t06:23:27.103z",
            "2026-11-23 06:23:27Z",
            "2026-11-23x06:23:27Z",
            "2026-11-2306:23:27Z",
            "2026-11-23T06:23:27.1234567891234Z",
            "2026-11-23T06:23:27.Z",
            "2026-11-23T06:23:27+05:30",
            "2026-11-23T06:23:27-00:30",
            "2026-11-23T06:23:27+23:59",
            "2026-11-23T06:23:27+24:00",
            "2026-11-23T06:23:27+05:60",
            "2026-11-23T06:23:27+0530",
            "2026-02-29T00:00:00Z",
            "2024-02-29T00:00:00Z",
            "2000-02-29T00:00:00Z",
            "1900-02-29T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-00-01T00:00:00Z",
            "2026-01-00T00:00:00Z",
            "2026-01-01T24:00:00Z",
            "2026-01-01T23:60:00Z",
            "2026-12-31T23:59:60Z",
            "2026-12-31T23:59:60.5Z",
            "2026-11-30T23:59:60Z",
            "2026-11-29T23:59:60Z",
            "2027-01-01T00:59:60+01:00",
            "2026-12-31T23:59:61Z",
            "0000-01-01T00:00:00+23:59",
            "0000-01-01T00:59:60+01:00",
            "9999-12-31T23:59:59-23:59",
            "9999-12-31T23:59:60-00:01",
            "9999-12-31T23:59:60Z",
            "+2026-11-23T06:23:27Z",
            "2026-11-23T06:23:27Z ",
            " 2026-11-23T06:23:27Z",
            "2026-11-23T06:23:27",
            "Mon, 23 Nov 2026 06:23:27 GMT",
            "Sun, 29 Nov 2026 23:19:39 GMT",
            "mon, 23 nov 2026 06:23:27 gmt",
            "Xyz, 23 Nov 2026 06:23:27 GMT",
            "Mon 23 Nov 2026 06:23:27 GMT",
            "Mon,23 Nov 2026 06:23:27 GMT",
            "23 Nov 2026 06:23:27 GMT",
            "3 Nov 2026 06:23:27 GMT",
            "123 Nov 2026 06:23:27 GMT",
            "23 Nov 26 06:23:27 GMT",
            "23 Nov 49 06:23:27 GMT",
            "23 Nov 50 06:23:27 GMT",
            "23 Nov 1899 06:23:27 GMT",
            "23 Nov 1900 06:23:27 GMT",
            "23 Nov 202 06:23:27 GMT",
            "23 Nov 20261 06:23:27 GMT",
            "23 Nov 2026 06:23 GMT",
            "23 Nov 2026 06 : 23 : 27 GMT",
            "23 Nov 2026 06:23:27 +0530",
            "23 Nov 2026 06:23:27 -0530",
            "23 Nov 2026 06:23:27 -0030",
            "23 Nov 2026 06:23:27 +2559",
            "23 Nov 2026 06:23:27 +2600",
            "23 Nov 2026 06:23:27 +0060",
            "23 Nov 2026 06:23:27 UT",
            "23 Nov 2026 06:23:27 ut",
            "23 Nov 2026 06:23:27 UTC",
            "23 Nov 2026 06:23:27 Z",
            "23 Nov 2026 06:23:27 J",
            "23 Nov 2026 06:23:27 Z ",
            "23 Nov 2026 06:23:27 Zx",
            "23 Nov 2026 06:23:27 EST",
            "23 Nov 2026 06:23:27 pdt",
            "23 Nov 2026 06:23:27 GMT (comment)",
            "23 Nov 2026 06:23:27 GMT (nested (comment) \\) x)",
            "(c) 23 Nov 2026 06:23:27 GMT",
            "Mon, (c) 23 (c) Nov (c) 26 (c) 06:23:27 (c) GMT",
            "23 Nov 2026(c) 06:23:27 GMT",
            "23\r\n Nov 2026 06:23:27 GMT",
            "23\r\n\tNov 2026 06:23:27 GMT",
            "23\rNov 2026 06:23:27 GMT",
            "23  Nov 2026 06:23:27 GMT",
            "23 \r\n Nov 2026 06:23:27 GMT",
            "23 Nov 2026 06:23:27 GMT\r\n",
            "23 Nov 2026 06:23:27 GMT\r\n ",
            "23 Nov 2026 06:23:60 GMT",
            "31 Dec 2026 23:59:60 GMT",
            "31 Dec 2026 18:59:60 EST",
            "29 Feb 2026 06:23:27 GMT",
            "23 Nov 2026 06:23:27 GMT (\\\n\r)",
            "23 Nov 2026 06:23:27 GMT (\\\u{0})",
            "23 Nov 2026 06:23:27 GMT (\\é)",
            "23 Nov 2026 06:23:27 GMT (é)",
            "next tuesday",
            "",
        ];
        for text in vectors {
            assert_eq!(parse(text), by_time(text), "{text:?}");
        }
        let deep = format!("23 Nov 2026 06:23:27 GMT {}{}", "(".repeat(31), ")".repeat(31));
        assert_eq!(parse(&deep), by_time(&deep));
        let deeper = format!("23 Nov 2026 06:23:27 GMT {}{}", "(".repeat(32), ")".repeat(32));
        assert_eq!(parse(&deeper), by_time(&deeper));
    }
}
