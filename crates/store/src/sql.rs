//! SQL text shared by both backends.
//!
//! Range scans come in 18 shapes (3 start bounds × 3 end bounds × 2 directions). Each shape
//! is its own statement, with parameters numbered densely in the order `space, [start],
//! [end], limit`, so every statement can be prepared once per connection and the planner
//! always sees a plain index range on the `(space, key)` primary key — no `$2 IS NULL OR …`
//! tricks that defeat the index. The texts are built once per dialect.

use std::sync::LazyLock;

use crate::Bound;

#[derive(Clone, Copy)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    fn param(self, n: usize) -> String {
        match self {
            Dialect::Sqlite => format!("?{n}"),
            Dialect::Postgres => format!("${n}"),
        }
    }
}

fn bound_kind(b: &Bound<'_>) -> usize {
    match b {
        Bound::Unbounded => 0,
        Bound::Included(_) => 1,
        Bound::Excluded(_) => 2,
    }
}

/// Index of a scan shape in [`ScanSql::texts`].
pub(crate) fn scan_shape(start: &Bound<'_>, end: &Bound<'_>, reverse: bool) -> usize {
    (bound_kind(start) * 3 + bound_kind(end)) * 2 + usize::from(reverse)
}

/// The key parameters of a scan, in statement order.
pub(crate) fn scan_keys<'a>(start: &Bound<'a>, end: &Bound<'a>) -> Vec<&'a [u8]> {
    let mut keys = Vec::with_capacity(2);
    for b in [start, end] {
        match b {
            Bound::Included(k) | Bound::Excluded(k) => keys.push(*k),
            Bound::Unbounded => {}
        }
    }
    keys
}

pub(crate) struct ScanSql {
    texts: Vec<String>,
}

impl ScanSql {
    fn build(d: Dialect) -> ScanSql {
        let mut texts = Vec::with_capacity(18);
        for start in 0..3usize {
            for end in 0..3usize {
                for reverse in [false, true] {
                    let mut n = 1;
                    let mut sql = format!("SELECT key, value FROM kv WHERE space = {}", d.param(n));
                    for (kind, ops) in [(start, [">=", ">"]), (end, ["<=", "<"])] {
                        if let Some(op) = ops.get(kind.wrapping_sub(1)) {
                            n += 1;
                            sql.push_str(&format!(" AND key {op} {}", d.param(n)));
                        }
                    }
                    n += 1;
                    let dir = if reverse { "DESC" } else { "ASC" };
                    sql.push_str(&format!(" ORDER BY key {dir} LIMIT {}", d.param(n)));
                    texts.push(sql);
                }
            }
        }
        ScanSql { texts }
    }

    pub(crate) fn get(&self, shape: usize) -> &str {
        self.texts.get(shape).map_or("", String::as_str)
    }

    pub(crate) fn len(&self) -> usize {
        self.texts.len()
    }
}

pub(crate) static SQLITE_SCANS: LazyLock<ScanSql> =
    LazyLock::new(|| ScanSql::build(Dialect::Sqlite));
pub(crate) static POSTGRES_SCANS: LazyLock<ScanSql> =
    LazyLock::new(|| ScanSql::build(Dialect::Postgres));

/// `count(space, prefix)` statements: `[whole space, prefix..successor, prefix..]`.
pub(crate) fn count_sql(d: Dialect) -> [String; 3] {
    let base = format!("SELECT COUNT(*) FROM kv WHERE space = {}", d.param(1));
    [
        base.clone(),
        format!("{base} AND key >= {} AND key < {}", d.param(2), d.param(3)),
        format!("{base} AND key >= {}", d.param(2)),
    ]
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn shapes_are_distinct_and_dense() {
        let s = ScanSql::build(Dialect::Postgres);
        assert_eq!(s.len(), 18);
        assert_eq!(
            s.get(scan_shape(
                &Bound::Included(b"a"),
                &Bound::Excluded(b"b"),
                true
            )),
            "SELECT key, value FROM kv WHERE space = $1 AND key >= $2 AND key < $3 ORDER BY key DESC LIMIT $4"
        );
        assert_eq!(
            s.get(scan_shape(&Bound::Unbounded, &Bound::Included(b"b"), false)),
            "SELECT key, value FROM kv WHERE space = $1 AND key <= $2 ORDER BY key ASC LIMIT $3"
        );
        let mut all: Vec<&str> = (0..18).map(|i| s.get(i)).collect();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), 18);
    }
}
