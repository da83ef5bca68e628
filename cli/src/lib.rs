// SPDX-License-Identifier: MPL-2.0
//! The library half of the `wkrtc` tool: the `serve` web server, shared with the browser
//! interop tests.

pub mod media_bench;
pub mod serve;
pub mod wait;
