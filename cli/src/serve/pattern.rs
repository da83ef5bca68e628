// SPDX-License-Identifier: MPL-2.0
//! The verifiable message format shared with the pages: a 4-byte big-endian sequence
//! number, a 4-byte big-endian total length, then byte `i` of the payload is
//! `(seq * 31 + i * 7) mod 256`. Any lost, reordered, truncated or altered byte shows.

/// Builds message `seq` of `len` bytes (at least 8).
pub fn message(seq: u32, len: usize) -> Vec<u8> {
    let len = len.max(8);
    let mut m = Vec::with_capacity(len);
    m.extend_from_slice(&seq.to_be_bytes());
    m.extend_from_slice(&(len as u32).to_be_bytes());
    m.extend((0..len - 8).map(|i| (seq as usize * 31 + i * 7) as u8));
    m
}

/// The sequence number of a well-formed message, or why it is not one.
pub fn check(m: &[u8]) -> Result<u32, String> {
    if m.len() < 8 {
        return Err(format!("{}-byte message is shorter than its header", m.len()));
    }
    let seq = u32::from_be_bytes([m[0], m[1], m[2], m[3]]);
    let len = u32::from_be_bytes([m[4], m[5], m[6], m[7]]) as usize;
    if len != m.len() {
        return Err(format!("message {seq}: {} bytes, header says {len}", m.len()));
    }
    match m[8..].iter().enumerate().find(|(i, b)| **b != (seq as usize * 31 + i * 7) as u8) {
        Some((i, _)) => Err(format!("message {seq}: byte {} differs", i + 8)),
        None => Ok(seq),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_damage() {
        for len in [8, 9, 100, 65536] {
            let m = message(42, len);
            assert_eq!(m.len(), len);
            assert_eq!(check(&m), Ok(42));
            let mut bad = m.clone();
            if len > 8 {
                bad[len - 1] ^= 1;
                assert!(check(&bad).is_err());
            }
            assert!(check(&m[..len - 1]).is_err());
        }
    }
}
