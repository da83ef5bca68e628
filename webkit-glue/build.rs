// SPDX-License-Identifier: MPL-2.0
//! Generates the C++ half of the bridge (`target/cxxbridge/wkrtc-webkit/src/lib.rs.h`) and
//! compiles it into the static library.

fn main() {
    cxx_build::bridge("src/lib.rs").include("include").std("c++17").flag_if_supported("-fno-exceptions").compile("wkrtc-webkit-bridge");
    println!("cargo:rerun-if-changed=src/lib.rs");
    println!("cargo:rerun-if-changed=include/wkrtc/bridge.h");
}
