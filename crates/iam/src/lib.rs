//! cairn-iam
