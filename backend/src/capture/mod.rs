// SPDX-License-Identifier: MPL-2.0
//! getUserMedia: devices, constraints and capture tracks
//! (<https://w3c.github.io/mediacapture-main/>).

pub mod constraints;
