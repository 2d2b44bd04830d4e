//! Scalar types the generated API uses beyond serde's defaults.

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// An instant with millisecond precision. On the awsJson wire it is epoch seconds (a JSON
/// number, fractional when there are milliseconds); in XML it is ISO 8601.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp {
    pub millis: i64,
}

impl Timestamp {
    pub const fn from_millis(millis: i64) -> Self {
        Self { millis }
    }

    pub const fn from_secs(secs: i64) -> Self {
        Self {
            millis: secs.saturating_mul(1000),
        }
    }

    pub const fn secs(self) -> i64 {
        self.millis.div_euclid(1000)
    }

    /// Epoch seconds as a JSON number: an integer when whole, else fractional.
    pub fn to_json(self) -> serde_json::Value {
        if self.millis % 1000 == 0 {
            serde_json::Value::from(self.millis / 1000)
        } else {
            serde_json::Number::from_f64(self.millis as f64 / 1000.0)
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::Null)
        }
    }

    /// `2024-01-02T03:04:05Z`, or with `.123` when there are milliseconds.
    pub fn to_iso8601(self) -> String {
        let Ok(dt) =
            time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.millis) * 1_000_000)
        else {
            return String::from("1970-01-01T00:00:00Z");
        };
        let ms = self.millis.rem_euclid(1000);
        if ms == 0 {
            format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
                dt.year(),
                u8::from(dt.month()),
                dt.day(),
                dt.hour(),
                dt.minute(),
                dt.second()
            )
        } else {
            format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
                dt.year(),
                u8::from(dt.month()),
                dt.day(),
                dt.hour(),
                dt.minute(),
                dt.second(),
                ms
            )
        }
    }

    /// Parses ISO 8601 / RFC 3339 (`Z` or offset, optional fraction) or epoch seconds.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        if let Ok(secs) = s.parse::<f64>() {
            return Self::from_f64_secs(secs);
        }
        let dt =
            time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()?;
        // Floor, not truncation towards zero: sub-millisecond digits are cut the same way
        // before 1970 as after.
        let millis = i64::try_from(dt.unix_timestamp_nanos().div_euclid(1_000_000)).ok()?;
        Some(Self { millis })
    }

    pub fn from_f64_secs(secs: f64) -> Option<Self> {
        if !secs.is_finite() || secs.abs() > 1e13 {
            return None;
        }
        Some(Self {
            millis: (secs * 1000.0).round() as i64,
        })
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.millis % 1000 == 0 {
            serializer.serialize_i64(self.millis / 1000)
        } else {
            serializer.serialize_f64(self.millis as f64 / 1000.0)
        }
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Timestamp;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a timestamp (epoch seconds or ISO 8601)")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Timestamp, E> {
                Ok(Timestamp::from_secs(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Timestamp, E> {
                i64::try_from(v)
                    .map(Timestamp::from_secs)
                    .map_err(|_| E::custom("timestamp out of range"))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Timestamp, E> {
                Timestamp::from_f64_secs(v).ok_or_else(|| E::custom("timestamp out of range"))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Timestamp, E> {
                Timestamp::parse(v).ok_or_else(|| E::custom("invalid timestamp"))
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// Binary data; base64 on the wire.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Blob(pub Vec<u8>);

impl fmt::Debug for Blob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Blob({} bytes)", self.0.len())
    }
}

impl Serialize for Blob {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use base64::Engine;
        serializer.serialize_str(&base64::engine::general_purpose::STANDARD.encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for Blob {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use base64::Engine;
        let s = String::deserialize(deserializer)?;
        base64::engine::general_purpose::STANDARD
            .decode(s.as_bytes())
            .map(Blob)
            .map_err(|_| de::Error::custom("invalid base64"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_round_trips() {
        let t = Timestamp::parse("2024-02-03T04:05:06Z").unwrap();
        assert_eq!(t.to_iso8601(), "2024-02-03T04:05:06Z");
        assert_eq!(serde_json::to_string(&t).unwrap(), "1706933106");
        let f: Timestamp = serde_json::from_str("1706933106.25").unwrap();
        assert_eq!(f.millis, 1_706_933_106_250);
        assert_eq!(f.to_iso8601(), "2024-02-03T04:05:06.250Z");
    }
}
