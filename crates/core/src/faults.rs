//! Crash points for tests: a process that dies exactly where a test needs it to (between a
//! job's claim and its work, between two steps), to show that what follows — the restart —
//! recovers. Armed only by the binary, from `CAIRN_FAULTS` in debug builds; a release build
//! has none armed, and an unarmed point costs one branch.

use std::collections::BTreeSet;
use std::sync::Arc;

/// The armed crash points (none by default).
#[derive(Debug, Clone, Default)]
pub struct Faults(Option<Arc<BTreeSet<String>>>);

impl Faults {
    /// Points from a comma-separated list (`org.create_account:claimed,…`).
    pub fn from_list(list: &str) -> Faults {
        let points: BTreeSet<String> = list
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect();
        if points.is_empty() {
            Faults(None)
        } else {
            Faults(Some(Arc::new(points)))
        }
    }

    /// Whether any point is armed (never in production).
    pub fn any(&self) -> bool {
        self.0.is_some()
    }

    pub fn is_armed(&self, point: &str) -> bool {
        self.0.as_ref().is_some_and(|p| p.contains(point))
    }

    /// Ends the process at once, as a crash would (no unwinding, no destructors, no flush),
    /// if `point` is armed.
    pub fn crash_at(&self, point: &str) {
        if self.is_armed(point) {
            eprintln!("cairn: crash point {point} reached; aborting (CAIRN_FAULTS)");
            std::process::abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Faults;

    #[test]
    fn only_listed_points_are_armed() {
        let f = Faults::from_list(" a:b , c ");
        assert!(f.is_armed("a:b") && f.is_armed("c"));
        assert!(!f.is_armed("a") && !Faults::default().is_armed("a:b"));
        assert!(!Faults::from_list(",").is_armed(""));
    }
}
