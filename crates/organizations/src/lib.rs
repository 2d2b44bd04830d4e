//! cairn-organizations
