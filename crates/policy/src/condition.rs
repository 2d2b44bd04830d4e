//! The `Condition` element: operators, their pre-parsed values, and evaluation.
//!
//! Semantics (IAM UG "Condition operators", aws-facts §5.3):
//! - blocks, and keys within a block, are ANDed; values of one key are ORed;
//! - a negated operator (`StringNotEquals`, `NotIpAddress`, `ArnNotLike` …) is the negation of
//!   its positive operator: the request value must match none of the policy values;
//! - key absent: false, except negated operators (true), `…IfExists` (true), `Null`;
//! - `ForAnyValue:`: some request value satisfies the operator; false when the key is absent;
//!   `ForAllValues:`: every request value does; true when the key is absent or empty;
//! - a policy variable that cannot be substituted makes the condition false.
//!
//! Values are parsed for their operator once, at policy parse time. A policy value that does
//! not read as its operator's type (`"NumericLessThan": {"k": "ten"}`) never matches; so does a
//! request value that does not. (IAM's behaviour there is not documented.)

use base64::Engine as _;

use crate::context::{Context, Key, Value};
use crate::pattern::{self, ArnPattern, Glob, Syntax, Tok};
use crate::scalar::{self, Cidr, Decimal, Instant};

/// The operator families.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    StringEquals,
    StringEqualsIgnoreCase,
    StringLike,
    Numeric(Cmp),
    Date(Cmp),
    Bool,
    BinaryEquals,
    IpAddress,
    Arn,
    Null,
}

/// Comparisons of the numeric and date operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cmp {
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Cmp {
    fn holds<T: Ord>(self, request: &T, policy: &T) -> bool {
        match self {
            Cmp::Eq => request == policy,
            Cmp::Lt => request < policy,
            Cmp::Le => request <= policy,
            Cmp::Gt => request > policy,
            Cmp::Ge => request >= policy,
        }
    }
}

/// `ForAllValues:` / `ForAnyValue:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SetQualifier {
    None,
    ForAllValues,
    ForAnyValue,
}

/// A parsed operator name such as `ForAnyValue:StringNotLikeIfExists`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Operator {
    pub(crate) family: Family,
    pub(crate) negated: bool,
    pub(crate) if_exists: bool,
    pub(crate) qualifier: SetQualifier,
}

impl Operator {
    /// Reads an operator name (case-insensitive). `None`: unknown operator, or `Null` with a
    /// qualifier or `IfExists`.
    pub(crate) fn parse(name: &str) -> Option<Operator> {
        let (qualifier, rest) = if let Some(r) = strip_prefix_ci(name, "ForAllValues:") {
            (SetQualifier::ForAllValues, r)
        } else if let Some(r) = strip_prefix_ci(name, "ForAnyValue:") {
            (SetQualifier::ForAnyValue, r)
        } else {
            (SetQualifier::None, name)
        };
        let (if_exists, base) = match strip_suffix_ci(rest, "IfExists") {
            Some(b) => (true, b),
            None => (false, rest),
        };
        let (family, negated) = base_operator(base)?;
        if family == Family::Null && (if_exists || qualifier != SetQualifier::None) {
            return None;
        }
        Some(Operator {
            family,
            negated,
            if_exists,
            qualifier,
        })
    }

    /// Whether `${…}` in this operator's values is a policy variable (string and ARN
    /// operators only).
    fn takes_variables(&self) -> bool {
        matches!(
            self.family,
            Family::StringEquals
                | Family::StringEqualsIgnoreCase
                | Family::StringLike
                | Family::Arn
        )
    }
}

fn base_operator(base: &str) -> Option<(Family, bool)> {
    const TABLE: &[(&str, Family, bool)] = &[
        ("StringEquals", Family::StringEquals, false),
        ("StringNotEquals", Family::StringEquals, true),
        (
            "StringEqualsIgnoreCase",
            Family::StringEqualsIgnoreCase,
            false,
        ),
        (
            "StringNotEqualsIgnoreCase",
            Family::StringEqualsIgnoreCase,
            true,
        ),
        ("StringLike", Family::StringLike, false),
        ("StringNotLike", Family::StringLike, true),
        ("NumericEquals", Family::Numeric(Cmp::Eq), false),
        ("NumericNotEquals", Family::Numeric(Cmp::Eq), true),
        ("NumericLessThan", Family::Numeric(Cmp::Lt), false),
        ("NumericLessThanEquals", Family::Numeric(Cmp::Le), false),
        ("NumericGreaterThan", Family::Numeric(Cmp::Gt), false),
        ("NumericGreaterThanEquals", Family::Numeric(Cmp::Ge), false),
        ("DateEquals", Family::Date(Cmp::Eq), false),
        ("DateNotEquals", Family::Date(Cmp::Eq), true),
        ("DateLessThan", Family::Date(Cmp::Lt), false),
        ("DateLessThanEquals", Family::Date(Cmp::Le), false),
        ("DateGreaterThan", Family::Date(Cmp::Gt), false),
        ("DateGreaterThanEquals", Family::Date(Cmp::Ge), false),
        ("Bool", Family::Bool, false),
        ("BinaryEquals", Family::BinaryEquals, false),
        ("IpAddress", Family::IpAddress, false),
        ("NotIpAddress", Family::IpAddress, true),
        ("ArnEquals", Family::Arn, false),
        ("ArnLike", Family::Arn, false),
        ("ArnNotEquals", Family::Arn, true),
        ("ArnNotLike", Family::Arn, true),
        ("Null", Family::Null, false),
    ];
    TABLE
        .iter()
        .find(|(name, _, _)| name.eq_ignore_ascii_case(base))
        .map(|&(_, family, negated)| (family, negated))
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    if head.eq_ignore_ascii_case(prefix) {
        s.get(prefix.len()..)
    } else {
        None
    }
}

fn strip_suffix_ci<'a>(s: &'a str, suffix: &str) -> Option<&'a str> {
    let cut = s.len().checked_sub(suffix.len())?;
    let tail = s.get(cut..)?;
    if tail.eq_ignore_ascii_case(suffix) {
        s.get(..cut)
    } else {
        None
    }
}

/// Policy values, pre-parsed for their operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Values {
    /// `StringEquals`, `StringEqualsIgnoreCase`: templates without wildcards.
    Text(Box<[Box<[Tok]>]>),
    /// `StringLike`: wildcard patterns.
    Like(Box<[Glob]>),
    Numeric(Box<[Option<Decimal>]>),
    Date(Box<[Option<Instant>]>),
    Bool(Box<[Option<bool>]>),
    /// Decoded bytes and their canonical base64 text.
    Binary(Box<[Option<BinaryValue>]>),
    Ip(Box<[Option<Cidr>]>),
    Arn(Box<[ArnPattern]>),
    Null(Box<[Option<bool>]>),
}

/// A `BinaryEquals` policy value: the decoded bytes and their canonical base64 text.
pub(crate) type BinaryValue = (Box<[u8]>, Box<str>);

/// One operator–key pair of a `Condition` block with its values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub(crate) operator_name: Box<str>,
    pub(crate) key_name: Box<str>,
    pub(crate) operator: Operator,
    pub(crate) key: Key,
    pub(crate) values: Values,
    /// Some value holds a policy variable.
    pub(crate) has_vars: bool,
    /// What decides the outcome, as text: operator, key, variable syntax and values. Two
    /// conditions with the same canonical text evaluate alike, so a decision evaluates each
    /// distinct condition once (see `eval::Memo`).
    pub(crate) canonical: Box<str>,
    /// Hash of `canonical`.
    pub(crate) fingerprint: u64,
}

impl Condition {
    /// Compiles one operator–key pair. `variables`: the policy's `Version` allows them.
    pub(crate) fn compile(
        operator_name: &str,
        operator: Operator,
        key_name: &str,
        raw: &[&str],
        variables: bool,
    ) -> Condition {
        let syntax_text = Syntax {
            wildcards: false,
            variables: variables && operator.takes_variables(),
        };
        let syntax_like = Syntax {
            wildcards: true,
            variables: variables && operator.takes_variables(),
        };
        let values = match operator.family {
            Family::StringEquals | Family::StringEqualsIgnoreCase => Values::Text(
                raw.iter()
                    .map(|v| pattern::tokenize(v, syntax_text).into_boxed_slice())
                    .collect(),
            ),
            Family::StringLike => Values::Like(
                raw.iter()
                    .map(|v| Glob::new(pattern::tokenize(v, syntax_like)))
                    .collect(),
            ),
            Family::Numeric(_) => {
                Values::Numeric(raw.iter().map(|v| scalar::parse_decimal(v)).collect())
            }
            Family::Date(_) => Values::Date(raw.iter().map(|v| scalar::parse_date(v)).collect()),
            Family::Bool => Values::Bool(raw.iter().map(|v| scalar::parse_bool(v)).collect()),
            Family::Null => Values::Null(raw.iter().map(|v| scalar::parse_bool(v)).collect()),
            Family::BinaryEquals => Values::Binary(
                raw.iter()
                    .map(|v| {
                        let engine = base64::engine::general_purpose::STANDARD;
                        let bytes = engine.decode(v).ok()?;
                        let canonical = engine.encode(&bytes);
                        Some((bytes.into_boxed_slice(), canonical.into_boxed_str()))
                    })
                    .collect(),
            ),
            Family::IpAddress => Values::Ip(raw.iter().map(|v| Cidr::parse(v)).collect()),
            Family::Arn => Values::Arn(
                raw.iter()
                    .map(|v| ArnPattern::from_tokens(pattern::tokenize(v, syntax_like)))
                    .collect(),
            ),
        };
        let has_vars = match &values {
            Values::Text(t) => t.iter().any(|v| pattern::has_vars(v)),
            Values::Like(g) => g.iter().any(|v| pattern::has_vars(v.tokens())),
            Values::Arn(patterns) => patterns.iter().any(ArnPattern::has_vars),
            _ => false,
        };
        let mut canonical = format!(
            "{}\u{0}{}\u{0}{}",
            operator_name.to_ascii_lowercase(),
            key_name.to_ascii_lowercase(),
            u8::from(variables && operator.takes_variables())
        );
        for v in raw {
            canonical.push('\u{0}');
            canonical.push_str(v);
        }
        let fingerprint = crate::context::key_hash(&canonical);
        Condition {
            operator_name: operator_name.into(),
            key_name: key_name.into(),
            operator,
            key: Key::new(key_name),
            values,
            has_vars,
            canonical: canonical.into_boxed_str(),
            fingerprint,
        }
    }

    /// The operator as written in the policy.
    pub fn operator_name(&self) -> &str {
        &self.operator_name
    }

    /// The condition key as written in the policy.
    pub fn key_name(&self) -> &str {
        &self.key_name
    }

    /// The condition's values as written in the policy.
    pub fn value_texts(&self) -> impl Iterator<Item = &str> {
        // `canonical` is operator, key, variable flag, then each value, NUL-separated.
        self.canonical.split('\u{0}').skip(3)
    }

    /// Evaluates the condition against the request context.
    pub(crate) fn eval(&self, ctx: &Context) -> bool {
        if self.has_vars && !self.vars_resolvable(ctx) {
            return false;
        }
        let op = self.operator;
        let request = ctx.lookup(&self.key);
        if let Values::Null(expect) = &self.values {
            let absent = request.is_none();
            return expect.contains(&Some(absent));
        }
        let Some(request) = request else {
            if op.if_exists {
                return true;
            }
            return match op.qualifier {
                SetQualifier::ForAllValues => true,
                SetQualifier::ForAnyValue => false,
                SetQualifier::None => op.negated,
            };
        };
        let satisfies = |value: &Value| self.matches_any(value, ctx) != op.negated;
        match op.qualifier {
            SetQualifier::None => {
                request.iter().any(|value| self.matches_any(value, ctx)) != op.negated
            }
            SetQualifier::ForAnyValue => request.iter().any(satisfies),
            SetQualifier::ForAllValues => request.iter().all(satisfies),
        }
    }

    fn vars_resolvable(&self, ctx: &Context) -> bool {
        match &self.values {
            Values::Text(t) => t.iter().all(|v| pattern::vars_resolvable(v, ctx)),
            Values::Like(g) => g.iter().all(|v| pattern::vars_resolvable(v.tokens(), ctx)),
            Values::Arn(patterns) => patterns.iter().all(|p| p.vars_resolvable(ctx)),
            _ => true,
        }
    }

    /// Whether one request value matches at least one policy value (positive operator).
    fn matches_any(&self, request: &Value, ctx: &Context) -> bool {
        let value = request.text();
        match (&self.values, self.operator.family) {
            (Values::Text(templates), Family::StringEqualsIgnoreCase) => templates
                .iter()
                .any(|t| pattern::template_eq_fold(t, value, ctx).unwrap_or(false)),
            (Values::Text(templates), _) => templates
                .iter()
                .any(|t| pattern::template_eq(t, value, ctx).unwrap_or(false)),
            (Values::Like(globs), _) => globs
                .iter()
                .any(|g| g.matches(value, ctx, false).unwrap_or(false)),
            (Values::Numeric(policy), Family::Numeric(cmp)) => match request.number() {
                Some(v) => policy.iter().flatten().any(|p| cmp.holds(&v, p)),
                None => false,
            },
            (Values::Date(policy), Family::Date(cmp)) => match request.date() {
                Some(v) => policy.iter().flatten().any(|p| cmp.holds(&v, p)),
                None => false,
            },
            (Values::Bool(policy), _) => match scalar::parse_bool(value) {
                Some(v) => policy.iter().flatten().any(|p| *p == v),
                None => false,
            },
            (Values::Binary(policy), _) => policy
                .iter()
                .flatten()
                .any(|(bytes, text)| **bytes == *value.as_bytes() || **text == *value),
            (Values::Ip(policy), _) => match request.ip() {
                Some(ip) => policy.iter().flatten().any(|c| c.contains(ip)),
                None => false,
            },
            (Values::Arn(patterns), _) => {
                let split = request.arn_split();
                patterns
                    .iter()
                    .any(|p| p.matches(value, &split, ctx, true).unwrap_or(false))
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {

    use super::*;

    /// Evaluates `{op: {key: values}}` (2012-10-17 semantics) against `ctx`.
    fn check(op: &str, key: &str, values: &[&str], ctx: &Context) -> bool {
        let operator = Operator::parse(op).unwrap_or_else(|| panic!("operator {op}"));
        Condition::compile(op, operator, key, values, true).eval(ctx)
    }

    fn ctx1(key: &str, value: &str) -> Context {
        Context::new().with(key, value)
    }

    #[test]
    fn operator_names() {
        let o = Operator::parse("ForAnyValue:StringNotLikeIfExists").unwrap();
        assert_eq!(o.family, Family::StringLike);
        assert!(o.negated && o.if_exists);
        assert_eq!(o.qualifier, SetQualifier::ForAnyValue);
        assert!(Operator::parse("stringequals").is_some());
        assert!(Operator::parse("StringEqualz").is_none());
        assert!(Operator::parse("NullIfExists").is_none());
        assert!(Operator::parse("ForAllValues:Null").is_none());
        assert!(Operator::parse("ForSomeValues:StringEquals").is_none());
        assert!(Operator::parse("IfExists").is_none());
    }

    #[test]
    fn string_equals_family() {
        let c = ctx1("aws:username", "alice");
        assert!(check("StringEquals", "aws:username", &["bob", "alice"], &c));
        assert!(!check("StringEquals", "aws:username", &["Alice"], &c));
        assert!(
            check("StringEquals", "AWS:UserName", &["alice"], &c),
            "key names are case-insensitive"
        );
        assert!(
            !check("StringEquals", "aws:username", &["ali*"], &c),
            "no wildcards"
        );
        assert!(check("StringNotEquals", "aws:username", &["bob"], &c));
        assert!(!check(
            "StringNotEquals",
            "aws:username",
            &["bob", "alice"],
            &c
        ));
        assert!(check(
            "StringEqualsIgnoreCase",
            "aws:username",
            &["ALICE"],
            &c
        ));
        assert!(!check(
            "StringNotEqualsIgnoreCase",
            "aws:username",
            &["ALICE"],
            &c
        ));
        assert!(check(
            "StringNotEqualsIgnoreCase",
            "aws:username",
            &["bob"],
            &c
        ));
        // Absent key.
        assert!(!check("StringEquals", "aws:other", &["x"], &c));
        assert!(check("StringNotEquals", "aws:other", &["x"], &c));
        assert!(check("StringEqualsIfExists", "aws:other", &["x"], &c));
        assert!(!check("StringEqualsIfExists", "aws:username", &["x"], &c));
    }

    #[test]
    fn string_like_family() {
        let c = ctx1("s3:prefix", "home/alice/docs");
        assert!(check("StringLike", "s3:prefix", &["home/*"], &c));
        assert!(check("StringLike", "s3:prefix", &["home/?lice/*"], &c));
        assert!(!check("StringLike", "s3:prefix", &["Home/*"], &c));
        assert!(check("StringNotLike", "s3:prefix", &["tmp/*"], &c));
        assert!(!check(
            "StringNotLike",
            "s3:prefix",
            &["tmp/*", "home/*"],
            &c
        ));
        let c = c.with("aws:username", "alice");
        assert!(check(
            "StringLike",
            "s3:prefix",
            &["home/${aws:username}/*"],
            &c
        ));
        assert!(!check(
            "StringLike",
            "s3:prefix",
            &["home/${aws:userid}/*"],
            &c
        ));
        assert!(
            !check(
                "StringNotLike",
                "s3:prefix",
                &["nothing/${aws:userid}/*"],
                &c
            ),
            "an unresolvable variable makes even a negated condition false"
        );
        assert!(check(
            "StringLike",
            "s3:prefix",
            &["home/${aws:userid, 'alice'}/*"],
            &c
        ));
    }

    #[test]
    fn numeric_family() {
        let c = ctx1("aws:MultiFactorAuthAge", "3600");
        assert!(check(
            "NumericEquals",
            "aws:MultiFactorAuthAge",
            &["3600.0"],
            &c
        ));
        assert!(check(
            "NumericNotEquals",
            "aws:MultiFactorAuthAge",
            &["3601"],
            &c
        ));
        assert!(!check(
            "NumericNotEquals",
            "aws:MultiFactorAuthAge",
            &["3600"],
            &c
        ));
        assert!(check(
            "NumericLessThan",
            "aws:MultiFactorAuthAge",
            &["3601"],
            &c
        ));
        assert!(!check(
            "NumericLessThan",
            "aws:MultiFactorAuthAge",
            &["3600"],
            &c
        ));
        assert!(check(
            "NumericLessThanEquals",
            "aws:MultiFactorAuthAge",
            &["3600"],
            &c
        ));
        assert!(check(
            "NumericGreaterThan",
            "aws:MultiFactorAuthAge",
            &["-1"],
            &c
        ));
        assert!(!check(
            "NumericGreaterThan",
            "aws:MultiFactorAuthAge",
            &["3600"],
            &c
        ));
        assert!(check(
            "NumericGreaterThanEquals",
            "aws:MultiFactorAuthAge",
            &["3600"],
            &c
        ));
        assert!(!check(
            "NumericLessThan",
            "aws:MultiFactorAuthAge",
            &["ten"],
            &c
        ));
        assert!(!check(
            "NumericLessThan",
            "aws:MultiFactorAuthAge",
            &["${aws:x}"],
            &c
        ));
        assert!(!check(
            "NumericLessThan",
            "k:nonnumeric",
            &["1"],
            &ctx1("k:nonnumeric", "abc")
        ));
        assert!(!check("NumericLessThan", "aws:absent", &["1"], &c));
        assert!(check("NumericLessThanIfExists", "aws:absent", &["1"], &c));
        assert!(check("NumericNotEquals", "aws:absent", &["1"], &c));
    }

    #[test]
    fn date_family() {
        let c = ctx1("aws:CurrentTime", "2024-06-01T12:00:00Z");
        assert!(check(
            "DateGreaterThan",
            "aws:CurrentTime",
            &["2024-01-01T00:00:00Z"],
            &c
        ));
        assert!(!check(
            "DateGreaterThan",
            "aws:CurrentTime",
            &["2025-01-01"],
            &c
        ));
        assert!(check(
            "DateLessThan",
            "aws:CurrentTime",
            &["2025-01-01"],
            &c
        ));
        assert!(check(
            "DateLessThanEquals",
            "aws:CurrentTime",
            &["2024-06-01T12:00:00Z"],
            &c
        ));
        assert!(check(
            "DateGreaterThanEquals",
            "aws:CurrentTime",
            &["1717243200"],
            &c
        ));
        assert!(check(
            "DateEquals",
            "aws:CurrentTime",
            &["2024-06-01T14:00:00+02:00"],
            &c
        ));
        assert!(check(
            "DateNotEquals",
            "aws:CurrentTime",
            &["2024-06-01"],
            &c
        ));
        assert!(!check(
            "DateNotEquals",
            "aws:CurrentTime",
            &["1717243200"],
            &c
        ));
        let c = ctx1("aws:EpochTime", "1717243200");
        assert!(check(
            "DateEquals",
            "aws:EpochTime",
            &["2024-06-01T12:00:00Z"],
            &c
        ));
        assert!(!check("DateLessThan", "aws:EpochTime", &["not a date"], &c));
    }

    #[test]
    fn bool_family() {
        let c = ctx1("aws:SecureTransport", "true");
        assert!(check("Bool", "aws:SecureTransport", &["true"], &c));
        assert!(check("Bool", "aws:SecureTransport", &["TRUE"], &c));
        assert!(!check("Bool", "aws:SecureTransport", &["false"], &c));
        assert!(!check("Bool", "aws:MultiFactorAuthPresent", &["false"], &c));
        assert!(check(
            "BoolIfExists",
            "aws:MultiFactorAuthPresent",
            &["false"],
            &c
        ));
        assert!(!check("Bool", "aws:SecureTransport", &["maybe"], &c));
    }

    #[test]
    fn binary_family() {
        // "hello" in base64.
        let c = ctx1("k:bin", "hello");
        assert!(check("BinaryEquals", "k:bin", &["aGVsbG8="], &c));
        assert!(!check("BinaryEquals", "k:bin", &["aGVsbG9="], &c));
        let c = ctx1("k:bin", "aGVsbG8=");
        assert!(check("BinaryEquals", "k:bin", &["aGVsbG8="], &c));
        assert!(!check("BinaryEquals", "k:bin", &["!!!"], &c));
        assert!(!check("BinaryEquals", "k:absent", &["aGVsbG8="], &c));
    }

    #[test]
    fn ip_family() {
        let c = ctx1("aws:SourceIp", "203.0.113.10");
        assert!(check("IpAddress", "aws:SourceIp", &["203.0.113.0/24"], &c));
        assert!(check(
            "IpAddress",
            "aws:SourceIp",
            &["10.0.0.0/8", "203.0.113.10"],
            &c
        ));
        assert!(!check("IpAddress", "aws:SourceIp", &["10.0.0.0/8"], &c));
        assert!(check("NotIpAddress", "aws:SourceIp", &["10.0.0.0/8"], &c));
        assert!(!check("NotIpAddress", "aws:SourceIp", &["203.0.0.0/8"], &c));
        let c6 = ctx1("aws:SourceIp", "2001:db8::5");
        assert!(check("IpAddress", "aws:SourceIp", &["2001:db8::/64"], &c6));
        assert!(!check(
            "IpAddress",
            "aws:SourceIp",
            &["203.0.113.0/24"],
            &c6
        ));
        assert!(check(
            "NotIpAddress",
            "aws:SourceIp",
            &["203.0.113.0/24"],
            &c6
        ));
        assert!(!check("IpAddress", "aws:SourceIp", &["garbage"], &c));
        assert!(check(
            "NotIpAddress",
            "aws:SourceIp",
            &["1.1.1.1"],
            &Context::new()
        ));
    }

    #[test]
    fn arn_family() {
        let c = ctx1("aws:PrincipalArn", "arn:aws:iam::111122223333:role/Admin");
        for op in ["ArnEquals", "ArnLike"] {
            assert!(check(
                op,
                "aws:PrincipalArn",
                &["arn:aws:iam::111122223333:role/Admin"],
                &c
            ));
            assert!(check(
                op,
                "aws:PrincipalArn",
                &["arn:aws:iam::*:role/Adm?n"],
                &c
            ));
            assert!(!check(
                op,
                "aws:PrincipalArn",
                &["arn:aws:iam::*:role/admin"],
                &c
            ));
            assert!(!check(
                op,
                "aws:PrincipalArn",
                &["arn:aws:iam::*:user/*"],
                &c
            ));
        }
        for op in ["ArnNotEquals", "ArnNotLike"] {
            assert!(check(
                op,
                "aws:PrincipalArn",
                &["arn:aws:iam::*:role/Other"],
                &c
            ));
            assert!(!check(
                op,
                "aws:PrincipalArn",
                &["arn:aws:iam::*:role/*"],
                &c
            ));
        }
        assert!(!check(
            "ArnLike",
            "aws:PrincipalArn",
            &["*"],
            &ctx1("aws:PrincipalArn", "notanarn")
        ));
        assert!(check("ArnLike", "aws:PrincipalArn", &["arn:*:*:*:*:*"], &c));
        let c = c.with("aws:PrincipalAccount", "111122223333");
        assert!(check(
            "ArnLike",
            "aws:PrincipalArn",
            &["arn:aws:iam::${aws:PrincipalAccount}:role/*"],
            &c
        ));
        assert!(!check(
            "ArnNotLike",
            "aws:PrincipalArn",
            &["arn:aws:iam::${aws:Nope}:role/*"],
            &c
        ));
    }

    #[test]
    fn null_operator() {
        let c = ctx1("aws:TokenIssueTime", "2024-01-01T00:00:00Z");
        assert!(check("Null", "aws:TokenIssueTime", &["false"], &c));
        assert!(!check("Null", "aws:TokenIssueTime", &["true"], &c));
        assert!(check("Null", "aws:MultiFactorAuthAge", &["true"], &c));
        assert!(!check("Null", "aws:MultiFactorAuthAge", &["false"], &c));
        let empty = Context::new().with_multi("aws:TagKeys", Vec::<String>::new());
        assert!(check("Null", "aws:TagKeys", &["true"], &empty));
    }

    #[test]
    fn set_qualifiers() {
        let c = Context::new().with_multi("aws:TagKeys", ["env", "team"]);
        assert!(check(
            "ForAllValues:StringEquals",
            "aws:TagKeys",
            &["env", "team", "cost"],
            &c
        ));
        assert!(!check(
            "ForAllValues:StringEquals",
            "aws:TagKeys",
            &["env"],
            &c
        ));
        assert!(check(
            "ForAnyValue:StringEquals",
            "aws:TagKeys",
            &["env"],
            &c
        ));
        assert!(!check(
            "ForAnyValue:StringEquals",
            "aws:TagKeys",
            &["cost"],
            &c
        ));
        // Negated with qualifiers.
        assert!(check(
            "ForAnyValue:StringNotEquals",
            "aws:TagKeys",
            &["env"],
            &c
        ));
        assert!(!check(
            "ForAnyValue:StringNotEquals",
            "aws:TagKeys",
            &["env", "team"],
            &c
        ));
        assert!(check(
            "ForAllValues:StringNotEquals",
            "aws:TagKeys",
            &["cost"],
            &c
        ));
        assert!(!check(
            "ForAllValues:StringNotEquals",
            "aws:TagKeys",
            &["env"],
            &c
        ));
        assert!(check("ForAnyValue:StringLike", "aws:TagKeys", &["te*"], &c));
        // Absent and empty keys.
        let none = Context::new();
        let empty = Context::new().with_multi("aws:TagKeys", Vec::<String>::new());
        for ctx in [&none, &empty] {
            assert!(check(
                "ForAllValues:StringEquals",
                "aws:TagKeys",
                &["env"],
                ctx
            ));
            assert!(!check(
                "ForAnyValue:StringEquals",
                "aws:TagKeys",
                &["env"],
                ctx
            ));
            assert!(check(
                "ForAllValues:StringNotEquals",
                "aws:TagKeys",
                &["env"],
                ctx
            ));
            assert!(!check(
                "ForAnyValue:StringNotEquals",
                "aws:TagKeys",
                &["env"],
                ctx
            ));
            assert!(check(
                "ForAnyValue:StringEqualsIfExists",
                "aws:TagKeys",
                &["env"],
                ctx
            ));
        }
        // Unqualified operator over a multivalued key: any value matches.
        assert!(check("StringEquals", "aws:TagKeys", &["team"], &c));
        assert!(!check("StringNotEquals", "aws:TagKeys", &["team"], &c));
    }

    #[test]
    fn variables_only_for_string_and_arn_operators() {
        let c = ctx1("k:n", "${aws:x}").with("aws:x", "5");
        // Numeric values never read variables: "${aws:x}" is not a number.
        assert!(!check(
            "NumericEquals",
            "k:n",
            &["${aws:x}"],
            &ctx1("k:n", "5").with("aws:x", "5")
        ));
        // Version 2008: no variables, `${…}` is literal text.
        let op = Operator::parse("StringEquals").unwrap();
        let cond = Condition::compile("StringEquals", op, "k:n", &["${aws:x}"], false);
        assert!(cond.eval(&c));
    }
}
