// SPDX-License-Identifier: MPL-2.0
//! Incoming RTCP BYE packets are removed before webrtcbin's RTP session sees them.
//!
//! webrtcbin 1.22 forgets a stream's SSRC mapping when a BYE for it arrives. Firefox sends a
//! BYE for its video SSRC when it applies a renegotiation, then goes on sending with the same
//! SSRC; rtpbin adds a pad for it again, webrtcbin finds no transceiver for it and
//! dereferences a null pointer (`on_rtpbin_pad_added`: "code should not be reached", then
//! SIGSEGV). Seen in a call where Firefox added its camera and wkrtc then added tracks.
//! Without BYEs, a stream that really ended simply times out in the RTP session.

use gst::prelude::*;

use super::CAT;

/// RTCP packet type of BYE (RFC 3550, section 6.6).
const BYE: u8 = 203;

/// Watches every `dtlssrtpdec` inside `webrtcbin` and filters its decrypted RTCP.
pub(crate) fn filter_byes(webrtcbin: &gst::Element) {
    let Some(bin) = webrtcbin.downcast_ref::<gst::Bin>() else { return };
    bin.connect_deep_element_added(|_, _, element| {
        if element.factory().is_none_or(|f| f.name() != "dtlssrtpdec") {
            return;
        }
        for pad in element.src_pads() {
            probe(&pad);
        }
        element.connect_pad_added(|_, pad| probe(pad));
    });
}

fn probe(pad: &gst::Pad) {
    if pad.direction() != gst::PadDirection::Src || !pad.name().starts_with("rtcp") {
        return;
    }
    pad.add_probe(gst::PadProbeType::BUFFER, |_, info| {
        let Some(gst::PadProbeData::Buffer(buffer)) = info.data.as_mut() else { return gst::PadProbeReturn::Ok };
        let kept = {
            let Ok(map) = buffer.map_readable() else { return gst::PadProbeReturn::Ok };
            match without_byes(&map) {
                None => return gst::PadProbeReturn::Ok,
                Some(kept) => kept,
            }
        };
        gst::debug!(CAT, "removed an RTCP BYE ({} bytes of the compound packet left)", kept.len());
        if kept.is_empty() {
            return gst::PadProbeReturn::Drop;
        }
        let mut out = gst::Buffer::from_mut_slice(kept);
        if let Some(out_mut) = out.get_mut() {
            out_mut.set_pts(buffer.pts());
            out_mut.set_dts(buffer.dts());
        }
        *buffer = out;
        gst::PadProbeReturn::Ok
    });
}

/// The compound RTCP packet without its BYE packets; `None` when it has none (or is not
/// well-formed RTCP, which is left to the RTP session to judge).
pub(crate) fn without_byes(compound: &[u8]) -> Option<Vec<u8>> {
    let mut packets = Vec::new();
    let mut at = 0;
    while at < compound.len() {
        let header = compound.get(at..at + 4)?;
        if header[0] >> 6 != 2 {
            return None;
        }
        let len = (usize::from(u16::from_be_bytes([header[2], header[3]])) + 1) * 4;
        let packet = compound.get(at..at + len)?;
        packets.push(packet);
        at += len;
    }
    if !packets.iter().any(|p| p[1] == BYE) {
        return None;
    }
    Some(packets.into_iter().filter(|p| p[1] != BYE).flatten().copied().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(pt: u8, words: u16) -> Vec<u8> {
        let mut p = vec![0x80, pt];
        p.extend_from_slice(&words.to_be_bytes());
        p.extend(std::iter::repeat_n(pt, usize::from(words) * 4));
        p
    }

    #[test]
    fn byes_are_cut_out_of_compound_packets() {
        let rr = packet(201, 1);
        let sdes = packet(202, 2);
        let bye = packet(203, 1);
        let compound: Vec<u8> = [rr.clone(), sdes.clone(), bye.clone()].concat();
        assert_eq!(without_byes(&compound), Some([rr.clone(), sdes.clone()].concat()));
        assert_eq!(without_byes(&bye), Some(Vec::new()));
        assert_eq!(without_byes(&[rr.clone(), sdes].concat()), None);
        // Truncated or not RTCP: left alone.
        assert_eq!(without_byes(&compound[..compound.len() - 1]), None);
        assert_eq!(without_byes(&[0x00, 203, 0, 0]), None);
        assert_eq!(without_byes(&[]), None);
    }
}
