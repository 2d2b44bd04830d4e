//! The integration tests' clock: the wall clock moved forward by the milliseconds written in
//! a file (`CAIRN_TEST_CLOCK_FILE`, honoured by debug builds only — see `cli.rs`), so that a
//! test can let tokens, codes and sessions expire in a running `cairn serve` without
//! waiting. The file is read at every reading of the clock (tests write it whole, by
//! renaming a temporary file over it); a missing or unreadable file moves nothing.

use cairn_core::{Clock, SystemClock};
use std::path::PathBuf;

#[derive(Debug)]
pub struct OffsetClock {
    path: PathBuf,
}

impl OffsetClock {
    pub fn new(path: PathBuf) -> Self {
        OffsetClock { path }
    }

    fn offset_ms(&self) -> i64 {
        std::fs::read_to_string(&self.path)
            .ok()
            .and_then(|s| s.trim().parse::<i64>().ok())
            .unwrap_or(0)
    }
}

impl Clock for OffsetClock {
    fn now_millis(&self) -> i64 {
        SystemClock.now_millis().saturating_add(self.offset_ms())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_moves_the_clock_and_its_absence_does_not() {
        let dir = std::env::temp_dir().join(format!("cairn-clock-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("offset");
        let clock = OffsetClock::new(path.clone());
        assert_eq!(clock.offset_ms(), 0);
        std::fs::write(&path, "3600000\n").unwrap();
        let moved = clock.now_millis();
        assert!(moved - SystemClock.now_millis() > 3_599_000, "{moved}");
        std::fs::write(&path, "not a number").unwrap();
        assert_eq!(clock.offset_ms(), 0);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
