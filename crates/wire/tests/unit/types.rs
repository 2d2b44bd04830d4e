//! `Timestamp` and `Blob`.

use cairn_wire::{Blob, Timestamp};
use serde_json::json;

fn parse_ms(s: &str) -> Option<i64> {
    Timestamp::parse(s).map(|t| t.millis)
}

#[test]
fn parse_iso8601() {
    assert_eq!(parse_ms("1970-01-01T00:00:00Z"), Some(0));
    assert_eq!(parse_ms("2024-02-03T04:05:06Z"), Some(1_706_933_106_000));
    assert_eq!(
        parse_ms("  2024-02-03T04:05:06Z\n"),
        Some(1_706_933_106_000)
    );
    assert_eq!(parse_ms("2024-02-03t04:05:06z"), Some(1_706_933_106_000));
    // RFC 3339 lets a space separate date and time.
    assert_eq!(parse_ms("2024-02-03 04:05:06Z"), Some(1_706_933_106_000));
}

#[test]
fn parse_fractional_seconds() {
    assert_eq!(parse_ms("2024-02-03T04:05:06.1Z"), Some(1_706_933_106_100));
    assert_eq!(parse_ms("2024-02-03T04:05:06.12Z"), Some(1_706_933_106_120));
    assert_eq!(
        parse_ms("2024-02-03T04:05:06.123Z"),
        Some(1_706_933_106_123)
    );
    // Sub-millisecond digits are truncated (towards the past).
    assert_eq!(
        parse_ms("2024-02-03T04:05:06.123999999Z"),
        Some(1_706_933_106_123)
    );
    assert_eq!(parse_ms("1969-12-31T23:59:59.999Z"), Some(-1));
    assert_eq!(parse_ms("1969-12-31T23:59:59.9995Z"), Some(-1));
    assert_eq!(parse_ms("1969-12-31T23:59:59.0005Z"), Some(-1000));
}

#[test]
fn parse_offsets() {
    let utc = parse_ms("2024-02-03T04:05:06Z");
    assert_eq!(parse_ms("2024-02-03T05:05:06+01:00"), utc);
    assert_eq!(parse_ms("2024-02-02T22:35:06-05:30"), utc);
    assert_eq!(parse_ms("2024-02-03T04:05:06+00:00"), utc);
    assert_eq!(parse_ms("2024-02-03T04:05:06-00:00"), utc);
}

#[test]
fn parse_epoch_strings() {
    assert_eq!(parse_ms("0"), Some(0));
    assert_eq!(parse_ms("1706933106"), Some(1_706_933_106_000));
    assert_eq!(parse_ms("1706933106.5"), Some(1_706_933_106_500));
    assert_eq!(parse_ms("1706933106.0004"), Some(1_706_933_106_000));
    assert_eq!(parse_ms("1706933106.0006"), Some(1_706_933_106_001));
    assert_eq!(parse_ms("-1.5"), Some(-1500));
    assert_eq!(parse_ms(" 42 "), Some(42_000));
    assert_eq!(parse_ms("1e3"), Some(1_000_000));
}

#[test]
fn parse_rejects() {
    for s in [
        "",
        "   ",
        "yesterday",
        "2024-02-03",
        "2024-02-03T04:05:06",
        "2024-13-03T04:05:06Z",
        "2024-02-30T04:05:06Z",
        "2024-02-03T25:05:06Z",
        "2024-02-03T04:05:06+25:00",
        "NaN",
        "inf",
        "-inf",
        "1e14",
        "-1e14",
        "10000000000001",
    ] {
        assert_eq!(parse_ms(s), None, "{s:?}");
    }
    // Just inside the range.
    assert_eq!(parse_ms("10000000000000"), Some(10_000_000_000_000_000));
}

#[test]
fn from_f64_secs_range_and_rounding() {
    assert_eq!(
        Timestamp::from_f64_secs(1.0005).map(|t| t.millis),
        Some(1001)
    );
    assert_eq!(Timestamp::from_f64_secs(-0.0).map(|t| t.millis), Some(0));
    assert_eq!(
        Timestamp::from_f64_secs(1e13).map(|t| t.millis),
        Some(10_000_000_000_000_000)
    );
    assert_eq!(Timestamp::from_f64_secs(1e13 + 1.0), None);
    assert_eq!(Timestamp::from_f64_secs(f64::NAN), None);
    assert_eq!(Timestamp::from_f64_secs(f64::INFINITY), None);
}

#[test]
fn constructors_and_secs() {
    assert_eq!(Timestamp::from_secs(5).millis, 5000);
    assert_eq!(Timestamp::from_secs(i64::MAX).millis, i64::MAX);
    assert_eq!(Timestamp::from_secs(i64::MIN).millis, i64::MIN);
    assert_eq!(Timestamp::from_millis(1999).secs(), 1);
    assert_eq!(Timestamp::from_millis(-1).secs(), -1);
    assert_eq!(Timestamp::from_millis(-1000).secs(), -1);
    assert_eq!(Timestamp::from_millis(-1001).secs(), -2);
    assert_eq!(Timestamp::default().millis, 0);
    assert!(Timestamp::from_millis(1) < Timestamp::from_millis(2));
}

#[test]
fn iso8601_formatting() {
    let iso = |ms: i64| Timestamp::from_millis(ms).to_iso8601();
    assert_eq!(iso(0), "1970-01-01T00:00:00Z");
    assert_eq!(iso(1_706_933_106_000), "2024-02-03T04:05:06Z");
    assert_eq!(iso(1_706_933_106_007), "2024-02-03T04:05:06.007Z");
    assert_eq!(iso(1_706_933_106_250), "2024-02-03T04:05:06.250Z");
    assert_eq!(iso(-1), "1969-12-31T23:59:59.999Z");
    assert_eq!(iso(-1000), "1969-12-31T23:59:59Z");
    assert_eq!(iso(951_782_400_000), "2000-02-29T00:00:00Z");
    assert_eq!(iso(253_402_300_799_999), "9999-12-31T23:59:59.999Z");
    assert_eq!(iso(-62_135_596_800_000), "0001-01-01T00:00:00Z");
    // Beyond what the calendar can show: never a panic.
    assert_eq!(iso(i64::MAX), "1970-01-01T00:00:00Z");
    assert_eq!(iso(i64::MIN), "1970-01-01T00:00:00Z");
}

#[test]
fn iso8601_round_trip() {
    for ms in [
        0,
        1,
        999,
        1_000,
        1_706_933_106_123,
        -1,
        -999,
        -86_400_001,
        4_102_444_799_999,
    ] {
        let t = Timestamp::from_millis(ms);
        assert_eq!(Timestamp::parse(&t.to_iso8601()), Some(t), "{ms}");
    }
}

#[test]
fn json_numbers() {
    assert_eq!(Timestamp::from_millis(5000).to_json(), json!(5));
    assert_eq!(Timestamp::from_millis(5500).to_json(), json!(5.5));
    assert_eq!(Timestamp::from_millis(-1500).to_json(), json!(-1.5));
    assert_eq!(Timestamp::from_millis(1).to_json(), json!(0.001));
    assert_eq!(
        serde_json::to_value(Timestamp::from_millis(5000)).unwrap(),
        json!(5)
    );
    assert_eq!(
        serde_json::to_value(Timestamp::from_millis(-2250)).unwrap(),
        json!(-2.25)
    );
}

#[test]
fn deserialize_forms() {
    let de = |v: serde_json::Value| serde_json::from_value::<Timestamp>(v).map(|t| t.millis);
    assert_eq!(de(json!(5)).unwrap(), 5000);
    assert_eq!(de(json!(-5)).unwrap(), -5000);
    assert_eq!(de(json!(5.25)).unwrap(), 5250);
    assert_eq!(de(json!("1970-01-01T00:00:05Z")).unwrap(), 5000);
    assert_eq!(de(json!("5")).unwrap(), 5000);
    assert!(de(json!(u64::MAX)).is_err());
    assert!(de(json!(1e300)).is_err());
    assert!(de(json!("nope")).is_err());
    assert!(de(json!(true)).is_err());
    assert!(de(json!(null)).is_err());
    assert!(de(json!([1])).is_err());
    let t: Timestamp = serde_json::from_str("1706933106.25").unwrap();
    assert_eq!(t.millis, 1_706_933_106_250);
}

#[test]
fn blob_base64_round_trip() {
    for bytes in [
        &b""[..],
        b"f",
        b"fo",
        b"foo",
        b"foob",
        b"\x00\xff\xfe\x80",
        b"hello, world",
    ] {
        let blob = Blob(bytes.to_vec());
        let v = serde_json::to_value(&blob).unwrap();
        let back: Blob = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(back, blob, "{v}");
    }
    assert_eq!(
        serde_json::to_value(Blob(b"foob".to_vec())).unwrap(),
        json!("Zm9vYg==")
    );
    assert_eq!(
        serde_json::to_value(Blob(vec![0xfb, 0xff])).unwrap(),
        json!("+/8="),
        "standard alphabet, padded"
    );
}

#[test]
fn blob_rejects_bad_base64() {
    for s in ["Zm9vYg", "Zm9v!g==", "-_8=", "Zm9vYg===", "Z"] {
        assert!(serde_json::from_value::<Blob>(json!(s)).is_err(), "{s}");
    }
    assert!(serde_json::from_value::<Blob>(json!(5)).is_err());
}

#[test]
fn blob_debug_hides_content() {
    assert_eq!(format!("{:?}", Blob(b"secret".to_vec())), "Blob(6 bytes)");
    assert_eq!(Blob::default().0.len(), 0);
}
