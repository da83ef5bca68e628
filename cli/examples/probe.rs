use gst::prelude::*;
fn main() {
    gst::init().unwrap();
    for t in ["GstWebRTCNiceTransport", "GstWebRTCNiceStream", "GstWebRTCICETransport", "GstWebRTCICEStream"] {
        if let Some(ty) = glib::Type::from_name(t) {
            let klass = glib::object::ObjectClass::from_type(ty);
            if let Some(k) = klass { for p in k.list_properties() { println!("{t} prop {} {}", p.name(), p.value_type().name()); } }
        } else { println!("{t}: type not registered yet"); }
    }
    let w = gst::ElementFactory::make("webrtcbin").build().unwrap();
    let _ = w;
    for t in ["GstWebRTCNiceTransport", "GstWebRTCNiceStream"] {
        if let Some(ty) = glib::Type::from_name(t) {
            let klass = glib::object::ObjectClass::from_type(ty);
            if let Some(k) = klass { for p in k.list_properties() { println!("{t} prop {} {}", p.name(), p.value_type().name()); } }
        }
    }
}
