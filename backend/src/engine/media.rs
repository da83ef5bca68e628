// SPDX-License-Identifier: MPL-2.0
//! The GStreamer side of RTP media: a send chain per sending transceiver (appsrc fed by the
//! track, encoder, payloader, webrtcbin's `sink_%u`) and a receive chain per incoming stream
//! (webrtcbin's `src_%u`, depayloader, decoder, appsink handing samples to the track).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use gst::prelude::*;

use super::CAT;
use crate::lock;
use crate::media::codec::{CodecSpec, MediaKind};
use crate::media::dtmf::{EventPacket, ReceivedTone, ToneAssembler, ToneOutput};
use crate::{Error, Result};

/// Frames per second over the last whole second, for getStats' `framesPerSecond`: a video
/// track's frames, an encoder's or a decoder's output, each measured where it happens.
#[derive(Debug)]
pub(crate) struct FrameRate(Mutex<(std::time::Instant, u64, f64)>);

impl Default for FrameRate {
    fn default() -> Self {
        Self(Mutex::new((std::time::Instant::now(), 0, 0.0)))
    }
}

impl FrameRate {
    /// Records that `total` frames have passed so far. The first window starts at the first
    /// frame, not when the meter was made (an element waits for media before its first one).
    pub fn tick(&self, total: u64) {
        let mut rate = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if total == 1 {
            *rate = (std::time::Instant::now(), 1, 0.0);
            return;
        }
        let elapsed = rate.0.elapsed().as_secs_f64();
        if elapsed >= 1.0 {
            *rate = (std::time::Instant::now(), total, total.saturating_sub(rate.1) as f64 / elapsed);
        }
    }

    /// The rate over the last whole second; 0 once frames stopped for two seconds.
    pub fn get(&self) -> f64 {
        let rate = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if rate.0.elapsed().as_secs_f64() > 2.0 {
            0.0
        } else {
            rate.2
        }
    }
}

/// What wkrtc measures on an encoder or a decoder for getStats: frames in and out, key
/// frames, bytes out, and the time frames spend inside (matched by timestamp).
#[derive(Debug, Default)]
pub(crate) struct CodecCounters {
    frames_in: AtomicU64,
    frames_out: AtomicU64,
    key_frames: AtomicU64,
    bytes_out: AtomicU64,
    time_ns: AtomicU64,
    /// Frames out per second.
    out_rate: FrameRate,
    /// Input timestamps with the moment they went in, oldest first.
    pending: Mutex<std::collections::VecDeque<(gst::ClockTime, std::time::Instant)>>,
    /// The GStreamer element (encoderImplementation, decoderImplementation).
    pub implementation: String,
}

/// A snapshot of [`CodecCounters`].
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CodecFigures {
    /// Frames into the element.
    pub frames_in: u64,
    /// Frames out of it.
    pub frames_out: u64,
    /// Key frames: produced (encoder) or taken in (decoder).
    pub key_frames: u64,
    /// Bytes produced (encoder).
    pub bytes_out: u64,
    /// Seconds frames spent inside, summed.
    pub total_time: f64,
    /// Frames out over the last whole second.
    pub frames_per_second: f64,
}

impl CodecCounters {
    /// Counts what passes `element`; `key_on_input`: key frames are counted going in (a
    /// decoder's compressed input) rather than coming out (an encoder's output).
    pub fn attach(element: &gst::Element, key_on_input: bool) -> Arc<Self> {
        let counters = Arc::new(Self { implementation: element.factory().map(|f| f.name().to_string()).unwrap_or_default(), ..Self::default() });
        let is_key = |b: &gst::BufferRef| !b.flags().contains(gst::BufferFlags::DELTA_UNIT);
        if let Some(pad) = element.static_pad("sink") {
            let c = Arc::downgrade(&counters);
            pad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
                if let (Some(c), Some(buffer)) = (c.upgrade(), info.buffer()) {
                    c.frames_in.fetch_add(1, Ordering::Relaxed);
                    if key_on_input && is_key(buffer) {
                        c.key_frames.fetch_add(1, Ordering::Relaxed);
                    }
                    if let Some(pts) = buffer.pts() {
                        let mut pending = c.pending.lock().unwrap_or_else(|e| e.into_inner());
                        pending.push_back((pts, std::time::Instant::now()));
                        if pending.len() > 64 {
                            pending.pop_front();
                        }
                    }
                }
                gst::PadProbeReturn::Ok
            });
        }
        if let Some(pad) = element.static_pad("src") {
            let c = Arc::downgrade(&counters);
            pad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
                if let (Some(c), Some(buffer)) = (c.upgrade(), info.buffer()) {
                    let frames = c.frames_out.fetch_add(1, Ordering::Relaxed) + 1;
                    c.out_rate.tick(frames);
                    c.bytes_out.fetch_add(buffer.size() as u64, Ordering::Relaxed);
                    if !key_on_input && is_key(buffer) {
                        c.key_frames.fetch_add(1, Ordering::Relaxed);
                    }
                    if let Some(pts) = buffer.pts() {
                        let mut pending = c.pending.lock().unwrap_or_else(|e| e.into_inner());
                        while let Some((t, at)) = pending.front().copied() {
                            if t > pts {
                                break;
                            }
                            pending.pop_front();
                            if t == pts {
                                c.time_ns.fetch_add(at.elapsed().as_nanos() as u64, Ordering::Relaxed);
                                break;
                            }
                        }
                    }
                }
                gst::PadProbeReturn::Ok
            });
        }
        counters
    }

    pub fn figures(&self) -> CodecFigures {
        CodecFigures {
            frames_in: self.frames_in.load(Ordering::Relaxed),
            frames_out: self.frames_out.load(Ordering::Relaxed),
            key_frames: self.key_frames.load(Ordering::Relaxed),
            bytes_out: self.bytes_out.load(Ordering::Relaxed),
            total_time: self.time_ns.load(Ordering::Relaxed) as f64 / 1e9,
            frames_per_second: self.out_rate.get(),
        }
    }
}

/// Bitrates a sender starts at, before the embedder or congestion control changes them.
pub(crate) const DEFAULT_VIDEO_BITRATE: u32 = 1_000_000;
pub(crate) const DEFAULT_AUDIO_BITRATE: u32 = 48_000;

/// What a send chain's encoding stage may be told (`RTCRtpEncodingParameters`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct EncodingKnobs {
    pub bitrate: u32,
    pub max_framerate: Option<f64>,
    pub scale_down_by: Option<f64>,
}

/// What a negotiation settled for one sender.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SendSpec {
    /// The m-line of the sender's transceiver.
    pub mline: u32,
    /// The codec to send.
    pub codec: &'static CodecSpec,
    /// Its negotiated payload type.
    pub payload_type: u8,
    /// The sender's SSRC (as announced in `a=ssrc`).
    pub ssrc: u32,
}

/// Lets DTMF tones replace the audio packets `payloader` sends (see `media::dtmf`).
fn write_tones(payloader: &gst::Element, tones: Arc<ToneOutput>) {
    let Some(pad) = payloader.static_pad("src") else { return };
    let rewrite = move |buffer: &gst::Buffer| -> Option<gst::Buffer> {
        let map = buffer.map_readable().ok()?;
        let packet = tones.rewrite(&map, buffer.duration().map(|d| std::time::Duration::from_nanos(d.nseconds())))?;
        drop(map);
        let mut out = gst::Buffer::from_mut_slice(packet);
        {
            let out = out.get_mut()?;
            out.set_pts(buffer.pts());
            out.set_dts(buffer.dts());
            out.set_duration(buffer.duration());
            out.set_flags(buffer.flags() & !gst::BufferFlags::DISCONT);
        }
        Some(out)
    };
    pad.add_probe(gst::PadProbeType::BUFFER | gst::PadProbeType::BUFFER_LIST, move |_, info| {
        match &mut info.data {
            Some(gst::PadProbeData::Buffer(buffer)) => {
                if let Some(tone) = rewrite(buffer) {
                    *buffer = tone;
                }
            }
            Some(gst::PadProbeData::BufferList(list)) => {
                let list = list.make_mut();
                for i in 0..list.len() {
                    let tone = list.get(i).and_then(|b| rewrite(&b.to_owned()));
                    if let Some(tone) = tone {
                        list.remove(i..i + 1);
                        list.insert(i, tone);
                    }
                }
            }
            _ => {}
        }
        gst::PadProbeReturn::Ok
    });
}

/// The telephone events (RFC 4733) of a connection's incoming streams: counted by the RTP
/// session like every packet, then taken out before the audio depayloader, which would
/// decode them as audio, and turned into tones.
#[derive(Default)]
pub(crate) struct TelephoneEvents {
    /// Payload type to clock rate, from the negotiated descriptions.
    formats: Mutex<std::collections::HashMap<u8, u32>>,
    assembler: Mutex<ToneAssembler>,
    /// Told each tone that ended, with the SSRC of its stream.
    on_tone: Mutex<Option<Box<dyn Fn(u32, ReceivedTone) + Send + Sync>>>,
}

impl TelephoneEvents {
    pub fn set_formats(&self, formats: impl IntoIterator<Item = (u8, u32)>) {
        *lock(&self.formats) = formats.into_iter().collect();
    }

    pub fn on_tone(&self, f: impl Fn(u32, ReceivedTone) + Send + Sync + 'static) {
        *lock(&self.on_tone) = Some(Box::new(f));
    }

    /// Takes `packet` if it is a telephone event.
    fn take(&self, packet: &[u8]) -> bool {
        let Some(&second) = packet.get(1) else { return false };
        let Some(clock_rate) = lock(&self.formats).get(&(second & 0x7f)).copied() else { return false };
        if let Some(event) = EventPacket::parse(packet) {
            let tones = lock(&self.assembler).push(event, clock_rate);
            if let Some(f) = lock(&self.on_tone).as_ref() {
                for tone in tones {
                    gst::debug!(CAT, "received DTMF tone '{}' ({:?}) on SSRC {}", tone.tone, tone.duration, event.ssrc);
                    f(event.ssrc, tone);
                }
            }
        }
        true
    }

    /// Watches the payload-type demultiplexers webrtcbin's RTP bin makes for each incoming
    /// stream, after its jitter buffer.
    pub fn watch(self: &Arc<Self>, webrtcbin: &gst::Element) {
        let Some(bin) = webrtcbin.downcast_ref::<gst::Bin>() else { return };
        let this = Arc::clone(self);
        bin.connect_deep_element_added(move |_, _, element| {
            if element.factory().is_some_and(|f| f.name() == "rtpptdemux") {
                if let Some(pad) = element.static_pad("sink") {
                    let this = Arc::clone(&this);
                    pad.add_probe(gst::PadProbeType::BUFFER | gst::PadProbeType::BUFFER_LIST, move |_, info| this.filter(info));
                }
            }
        });
    }

    fn filter(&self, info: &mut gst::PadProbeInfo) -> gst::PadProbeReturn {
        let is_event = |b: &gst::BufferRef| b.map_readable().is_ok_and(|m| self.take(&m));
        match &mut info.data {
            Some(gst::PadProbeData::Buffer(buffer)) if is_event(buffer) => gst::PadProbeReturn::Handled,
            Some(gst::PadProbeData::BufferList(list)) => {
                if list.iter().any(is_event) {
                    let kept: Vec<gst::Buffer> = list.iter_owned().filter(|b| !is_event(b)).collect();
                    let mut fresh = gst::BufferList::new_sized(kept.len());
                    {
                        let fresh = fresh.get_mut().expect("a new list is writable");
                        for b in kept {
                            fresh.add(b);
                        }
                    }
                    *list = fresh;
                }
                gst::PadProbeReturn::Ok
            }
            _ => gst::PadProbeReturn::Ok,
        }
    }
}

/// One sender's elements inside a peer connection's pipeline.
pub(crate) struct SendChain {
    pub bin: gst::Bin,
    pub appsrc: gst_app::AppSrc,
    pub codec: &'static CodecSpec,
    pub payload_type: u8,
    encoder: gst::Element,
    scale: Option<gst::Element>,
    /// Smallest interval between frames in ns (`maxFramerate`); 0 lets every frame through.
    min_interval: Arc<AtomicU64>,
    /// The encoder's counters, for getStats.
    pub counters: Arc<CodecCounters>,
}

fn make(factory: &str) -> Result<gst::Element> {
    gst::ElementFactory::make(factory).build().map_err(|_| Error::NotSupported(format!("GStreamer element '{factory}' is not installed")))
}

impl SendChain {
    /// Builds the chain for `spec` and links it to the sink pad of webrtcbin's transceiver
    /// `trans`. webrtcbin 1.22 adds that pad itself when a negotiation makes the transceiver
    /// send; otherwise wkrtc requests `sink_<mline>`.
    pub fn build(
        pipeline: &gst::Pipeline,
        webrtcbin: &gst::Element,
        trans: &gst_webrtc::WebRTCRTPTransceiver,
        spec: SendSpec,
        knobs: EncodingKnobs,
        tones: Option<Arc<ToneOutput>>,
    ) -> Result<Self> {
        let SendSpec { mline, codec, payload_type: pt, ssrc } = spec;
        let encoder_name = codec.encoder().ok_or_else(|| Error::NotSupported(format!("no encoder for {}", codec.mime_type())))?;
        let bin = gst::Bin::with_name(&format!("wkrtc-send-{mline}"));
        let appsrc = gst_app::AppSrc::builder()
            .is_live(true)
            .format(gst::Format::Time)
            .do_timestamp(true)
            .max_buffers(3)
            .leaky_type(gst_app::AppLeakyType::Downstream)
            .build();
        let encoder = make(encoder_name)?;
        let payloader = make(codec.payloader)?;
        let mut chain: Vec<gst::Element> = vec![appsrc.clone().upcast()];
        let mut scale = None;
        match codec.kind {
            MediaKind::Video => {
                let convert = make("videoconvert")?;
                let videoscale = make("videoscale")?;
                let filter = make("capsfilter")?;
                chain.extend([convert, videoscale, filter.clone()]);
                scale = Some(filter);
            }
            MediaKind::Audio => {
                let convert = make("audioconvert")?;
                let resample = make("audioresample")?;
                chain.extend([convert, resample]);
                if codec.clock_rate == 8000 {
                    let filter = make("capsfilter")?;
                    filter.set_property("caps", gst::Caps::builder("audio/x-raw").field("rate", 8000i32).field("channels", 1i32).build());
                    chain.push(filter);
                }
            }
        }
        configure_encoder(&encoder, encoder_name);
        chain.push(encoder.clone());
        if encoder_name == "x264enc" || encoder_name == "openh264enc" {
            let filter = make("capsfilter")?;
            filter.set_property("caps", gst::Caps::builder("video/x-h264").field("profile", "constrained-baseline").build());
            chain.push(filter);
        }
        payloader.set_property("pt", u32::from(pt));
        payloader.set_property("ssrc", ssrc);
        payloader.set_property("mtu", 1200u32);
        match codec.payloader {
            "rtpvp8pay" | "rtpvp9pay" => payloader.set_property_from_str("picture-id-mode", "15-bit"),
            "rtph264pay" => {
                payloader.set_property("config-interval", -1i32);
                payloader.set_property_from_str("aggregate-mode", "zero-latency");
            }
            _ => {}
        }
        if let Some(tones) = tones {
            write_tones(&payloader, tones);
        }
        chain.push(payloader);
        bin.add_many(&chain).map_err(|e| Error::Operation(format!("send chain: {e}")))?;
        gst::Element::link_many(&chain).map_err(|e| Error::Operation(format!("send chain does not link: {e}")))?;
        let last = chain.last().and_then(|e| e.static_pad("src")).ok_or_else(|| Error::Operation("payloader has no src pad".into()))?;
        let ghost = gst::GhostPad::with_target(&last).map_err(|e| Error::Operation(format!("send chain: {e}")))?;
        bin.add_pad(&ghost).map_err(|e| Error::Operation(format!("send chain: {e}")))?;

        let existing = webrtcbin.sink_pads().into_iter().find(|p| {
            p.find_property("transceiver").is_some() && p.property::<Option<gst_webrtc::WebRTCRTPTransceiver>>("transceiver").as_ref() == Some(trans)
        });
        let webrtc_pad = match existing {
            Some(p) => p,
            None => webrtcbin
                .request_pad_simple(&format!("sink_{mline}"))
                .ok_or_else(|| Error::Operation(format!("webrtcbin refused a sink pad for m-line {mline}")))?,
        };
        pipeline.add(&bin).map_err(|e| Error::Operation(format!("send chain: {e}")))?;
        if let Err(e) = ghost.link(&webrtc_pad) {
            let _ = pipeline.remove(&bin);
            webrtcbin.release_request_pad(&webrtc_pad);
            return Err(Error::Operation(format!("send chain does not link to webrtcbin: {e:?}")));
        }
        let min_interval = Arc::new(AtomicU64::new(0));
        if codec.kind == MediaKind::Video {
            limit_frame_rate(&appsrc, min_interval.clone());
        }
        let counters = CodecCounters::attach(&encoder, false);
        let this = Self { bin, appsrc, codec, payload_type: pt, encoder, scale, min_interval, counters };
        this.apply(knobs);
        this.bin.sync_state_with_parent().map_err(|e| Error::Operation(format!("send chain does not start: {e}")))?;
        gst::debug!(CAT, "send chain for m-line {} with {} (pt {}, ssrc {}) via {}", mline, codec.encoding_name, pt, ssrc, encoder_name);
        Ok(this)
    }

    /// Applies bitrate, frame-rate cap and down-scaling.
    pub fn apply(&self, knobs: EncodingKnobs) {
        set_bitrate(&self.encoder, knobs.bitrate);
        let interval = knobs.max_framerate.map(|f| (1e9 / f.clamp(0.001, 1000.0)) as u64).unwrap_or(0);
        self.min_interval.store(interval, Ordering::Relaxed);
        if let Some(scale) = &self.scale {
            // The down-scaled size follows the source's: read it from what arrives.
            let caps = match (knobs.scale_down_by.filter(|s| *s > 1.0), self.appsrc.caps()) {
                (Some(by), Some(src)) => src.structure(0).and_then(|s| {
                    let (w, h) = (s.get::<i32>("width").ok()?, s.get::<i32>("height").ok()?);
                    let scaled = |v: i32| (((f64::from(v) / by) as i32) & !1).max(2);
                    Some(gst::Caps::builder("video/x-raw").field("width", scaled(w)).field("height", scaled(h)).build())
                }),
                _ => None,
            };
            scale.set_property("caps", caps.unwrap_or_else(gst::Caps::new_any));
        }
    }

    /// Asks the encoder for a key frame (a PLI or FIR from the peer does this inside
    /// webrtcbin; this is for a new receiver or a replaced track).
    pub fn request_key_frame(&self) {
        let event = gst_video_force_key_unit();
        let _ = self.encoder.send_event(event);
    }
}

/// Drops frames that come sooner than `min_interval` after the last one let through (with
/// 10% slack, so that a source at exactly the cap is not halved by jitter).
fn limit_frame_rate(appsrc: &gst_app::AppSrc, min_interval: Arc<AtomicU64>) {
    let Some(pad) = appsrc.static_pad("src") else { return };
    let last = Mutex::new(None::<gst::ClockTime>);
    pad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
        let interval = min_interval.load(Ordering::Relaxed);
        let pts = info.buffer().and_then(|b| b.pts());
        let (Some(pts), true) = (pts, interval > 0) else { return gst::PadProbeReturn::Ok };
        let mut last = last.lock().unwrap_or_else(|e| e.into_inner());
        match *last {
            Some(prev) if pts.nseconds().saturating_sub(prev.nseconds()) < interval * 9 / 10 => gst::PadProbeReturn::Drop,
            _ => {
                *last = Some(pts);
                gst::PadProbeReturn::Ok
            }
        }
    });
}

/// An upstream force-key-unit event (GstVideo's, built by hand to avoid the dependency).
fn gst_video_force_key_unit() -> gst::Event {
    let s = gst::Structure::builder("GstForceKeyUnit").field("all-headers", true).build();
    gst::event::CustomUpstream::new(s)
}

fn configure_encoder(encoder: &gst::Element, name: &str) {
    match name {
        "vp8enc" | "vp9enc" => {
            // Real-time: no look-ahead, fastest deadline, constant bitrate, error resilient.
            encoder.set_property("deadline", 1i64);
            encoder.set_property("cpu-used", 8i32);
            encoder.set_property("lag-in-frames", 0i32);
            encoder.set_property_from_str("end-usage", "cbr");
            encoder.set_property("keyframe-max-dist", 3000i32);
            encoder.set_property_from_str("error-resilient", "default");
            encoder.set_property("threads", 2i32);
            if name == "vp9enc" {
                encoder.set_property("row-mt", true);
            }
        }
        "x264enc" => {
            encoder.set_property_from_str("tune", "zerolatency");
            encoder.set_property_from_str("speed-preset", "ultrafast");
            encoder.set_property("key-int-max", 3000u32);
        }
        "opusenc" => {
            encoder.set_property("inband-fec", true);
            encoder.set_property_from_str("frame-size", "20");
        }
        _ => {}
    }
}

fn set_bitrate(encoder: &gst::Element, bps: u32) {
    let factory = encoder.factory().map(|f| f.name().to_string()).unwrap_or_default();
    match factory.as_str() {
        "vp8enc" | "vp9enc" => encoder.set_property("target-bitrate", bps as i32),
        "x264enc" => encoder.set_property("bitrate", (bps / 1000).max(1)),
        "openh264enc" => encoder.set_property("bitrate", bps),
        "opusenc" => encoder.set_property("bitrate", (bps as i32).clamp(4000, 650_000)),
        _ => {}
    }
}

/// Builds the receive chain for one of webrtcbin's src pads and links it. `deliver` gets
/// each decoded sample, on the decoder's streaming thread.
pub(crate) fn link_receive_chain(
    pipeline: &gst::Pipeline,
    pad: &gst::Pad,
    deliver: impl Fn(&gst::Sample) + Send + Sync + 'static,
) -> Result<(gst::Bin, Arc<CodecCounters>)> {
    let caps = pad.current_caps().unwrap_or_else(|| pad.query_caps(None));
    let s = caps.structure(0).ok_or_else(|| Error::Operation("incoming stream without caps".into()))?;
    let name = s.get::<&str>("encoding-name").unwrap_or_default();
    let rate = s.get::<i32>("clock-rate").unwrap_or_default() as u32;
    let codec = CodecSpec::find(name, rate).ok_or_else(|| Error::NotSupported(format!("incoming {name}/{rate} is not a codec wkrtc decodes")))?;
    let decoder_name = codec.decoder().ok_or_else(|| Error::NotSupported(format!("no decoder for {}", codec.mime_type())))?;
    let bin = gst::Bin::with_name(&format!("wkrtc-recv-{}", pad.name()));
    let depay = make(codec.depayloader)?;
    // After a loss a video decoder can only resume at a key frame: ask the sender for one
    // (PLI) and drop what cannot be decoded until it comes, as browsers do.
    for property in ["request-keyframe", "wait-for-keyframe"] {
        if depay.find_property(property).is_some() {
            depay.set_property(property, true);
        }
    }
    let mut chain = vec![depay];
    if let Some(parser) = codec.parser {
        chain.push(make(parser)?);
    }
    let decoder = make(decoder_name)?;
    let counters = CodecCounters::attach(&decoder, true);
    chain.push(decoder);
    let sink = gst_app::AppSink::builder().sync(false).async_(false).enable_last_sample(false).build();
    sink.set_callbacks(
        gst_app::AppSinkCallbacks::builder()
            .new_sample(move |sink| {
                let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                deliver(&sample);
                Ok(gst::FlowSuccess::Ok)
            })
            .build(),
    );
    chain.push(sink.upcast());
    bin.add_many(&chain).map_err(|e| Error::Operation(format!("receive chain: {e}")))?;
    gst::Element::link_many(&chain).map_err(|e| Error::Operation(format!("receive chain does not link: {e}")))?;
    let first = chain[0].static_pad("sink").ok_or_else(|| Error::Operation("depayloader without sink pad".into()))?;
    let ghost = gst::GhostPad::with_target(&first).map_err(|e| Error::Operation(format!("receive chain: {e}")))?;
    bin.add_pad(&ghost).map_err(|e| Error::Operation(format!("receive chain: {e}")))?;
    pipeline.add(&bin).map_err(|e| Error::Operation(format!("receive chain: {e}")))?;
    bin.sync_state_with_parent().map_err(|e| Error::Operation(format!("receive chain does not start: {e}")))?;
    pad.link(&ghost).map_err(|e| Error::Operation(format!("receive chain does not link to webrtcbin: {e:?}")))?;
    gst::debug!(CAT, "receiving {} on {} via {}", codec.encoding_name, pad.name(), decoder_name);
    Ok((bin, counters))
}

/// Sinks a stream wkrtc cannot decode, so that webrtcbin's other streams keep flowing.
pub(crate) fn discard(pipeline: &gst::Pipeline, pad: &gst::Pad) {
    if let Ok(sink) = gst::ElementFactory::make("fakesink").property("async", false).property("sync", false).build() {
        if pipeline.add(&sink).is_ok() {
            let _ = sink.sync_state_with_parent();
            if let Some(sinkpad) = sink.static_pad("sink") {
                let _ = pad.link(&sinkpad);
            }
        }
    }
}
