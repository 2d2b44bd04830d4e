//! cairn-trail
