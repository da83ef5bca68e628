// SPDX-License-Identifier: MPL-2.0
//! SCTP association ids that no two live connections share.
//!
//! webrtcbin 1.22 gives each SCTP transport a random association id, and GStreamer's SCTP
//! elements find their association in a process-wide table by that id. Two connections of
//! one process that draw the same id share one association: the second fails ("Association
//! already in use") and leaves an encoder task that never ends, which hangs the pipeline's
//! teardown; a closing connection can also take the association of a live one along, and
//! the live one's decoder then aborts the process. wkrtc replaces the id, before the
//! elements start, with one no live connection holds.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use gst::prelude::*;

use super::CAT;
use crate::lock;

/// Ids in use, and the last one handed out.
#[derive(Default)]
struct Ids {
    live: HashSet<u32>,
    last: u32,
}

fn ids() -> MutexGuard<'static, Ids> {
    static IDS: OnceLock<Mutex<Ids>> = OnceLock::new();
    lock(IDS.get_or_init(Mutex::default))
}

/// The ids one connection holds, given back when it is dropped.
#[derive(Default)]
pub(crate) struct AssociationIds {
    /// webrtcbin's id to wkrtc's, for the pair of elements of each transport.
    held: Mutex<HashMap<u32, u32>>,
}

impl AssociationIds {
    /// Watches the SCTP elements webrtcbin adds and gives each transport's pair one id.
    pub fn attach(self: &Arc<Self>, webrtcbin: &gst::Element) {
        let Some(bin) = webrtcbin.downcast_ref::<gst::Bin>() else { return };
        let this = Arc::clone(self);
        bin.connect_deep_element_added(move |_, _, element| {
            let is_sctp = element.factory().is_some_and(|f| matches!(f.name().as_str(), "sctpdec" | "sctpenc"));
            if is_sctp && element.find_property("sctp-association-id").is_some() {
                let drawn = element.property::<u32>("sctp-association-id");
                let id = this.id_for(drawn);
                gst::debug!(CAT, obj = element, "SCTP association id {} instead of {}", id, drawn);
                element.set_property("sctp-association-id", id);
            }
        });
    }

    fn id_for(&self, drawn: u32) -> u32 {
        let mut held = lock(&self.held);
        *held.entry(drawn).or_insert_with(|| {
            let mut ids = ids();
            // 65535 ids (sctpdec's range), 0 left out; a free one exists while fewer than
            // that many connections live.
            for _ in 0..u16::MAX {
                ids.last = ids.last % u32::from(u16::MAX) + 1;
                let candidate = ids.last;
                if ids.live.insert(candidate) {
                    return candidate;
                }
            }
            drawn
        })
    }
}

impl Drop for AssociationIds {
    fn drop(&mut self) {
        let held = self.held.get_mut().unwrap_or_else(|e| e.into_inner());
        let mut ids = ids();
        for id in held.values() {
            ids.live.remove(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_share_an_id_and_connections_never_do() {
        let (a, b) = (AssociationIds::default(), AssociationIds::default());
        // Both connections drew the same random id: they still get different ones.
        let (a1, a2, b1) = (a.id_for(77), a.id_for(77), b.id_for(77));
        assert_eq!(a1, a2, "the decoder and encoder of one transport share their id");
        assert_ne!(a1, b1);
        drop(a);
        assert!(!ids().live.contains(&a1), "a dropped connection gives its id back");
        assert!(ids().live.contains(&b1));
    }
}
