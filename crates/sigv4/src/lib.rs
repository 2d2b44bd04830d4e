//! cairn-sigv4
