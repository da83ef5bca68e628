// SPDX-License-Identifier: MPL-2.0
// The C++ side of wkrtc's cxx bridge: the interfaces Rust calls back into. Implemented by
// wkrtc's C++ API (wkrtc/wkrtc.h) and, inside WebKit, by the adapter classes.
//
// Every method may be called on any wkrtc thread (never the caller's): implementations hop
// to their own thread (WebKit: callOnMainThread) and must not block. No exception crosses
// the bridge; WebKit builds with -fno-exceptions.
#pragma once

#include <cstddef>
#include <cstdint>

#include "rust/cxx.h"

namespace wkrtc::ffi {

struct DataChannelHandle;
struct TrackHandle;
struct TransceiverHandle;

// A peer connection's events, in order.
class EventSink {
public:
    virtual ~EventSink() = default;
    virtual void on_signaling_state(rust::Str state) const = 0;
    virtual void on_ice_gathering_state(rust::Str state) const = 0;
    virtual void on_ice_connection_state(rust::Str state) const = 0;
    virtual void on_connection_state(rust::Str state) const = 0;
    virtual void on_dtls_state(rust::Str state) const = 0;
    // An empty candidate is end-of-candidates; mline is -1 when unknown.
    virtual void on_ice_candidate(rust::Str candidate, rust::Str mid, std::int32_t mline) const = 0;
    virtual void on_negotiation_needed() const = 0;
    virtual void on_data_channel(rust::Box<DataChannelHandle> channel) const = 0;
    virtual void on_track(rust::Box<TransceiverHandle> transceiver, rust::Box<TrackHandle> track, rust::Str mid, rust::Str stream_id) const = 0;
    virtual void on_tone_received(std::size_t transceiver_key, rust::Str tone, std::uint32_t duration_ms) const = 0;
};

// Completion of createOffer/createAnswer: an empty error_name means success.
class SdpCallback {
public:
    virtual ~SdpCallback() = default;
    virtual void done(rust::Str sdp_type, rust::Str sdp, rust::Str error_name, rust::Str error_message) const = 0;
};

// Completion of getSelectedCandidatePair: candidate lines, both empty when no pair is
// selected; an empty error_name means success.
class PairCallback {
public:
    virtual ~PairCallback() = default;
    virtual void done(rust::Str local, rust::Str remote, rust::Str error_name, rust::Str error_message) const = 0;
};

// Completion of the other asynchronous operations.
class VoidCallback {
public:
    virtual ~VoidCallback() = default;
    virtual void done(rust::Str error_name, rust::Str error_message) const = 0;
};

class StatsCallback {
public:
    virtual ~StatsCallback() = default;
    virtual void done(rust::Str json, rust::Str error_name, rust::Str error_message) const = 0;
};

// A data channel's events.
class ChannelSink {
public:
    virtual ~ChannelSink() = default;
    virtual void on_open() const = 0;
    virtual void on_text(rust::Str text) const = 0;
    virtual void on_binary(rust::Slice<const std::uint8_t> data) const = 0;
    virtual void on_buffered_amount_low() const = 0;
    virtual void on_close() const = 0;
    virtual void on_error(rust::Str name, rust::Str message) const = 0;
};

// A track's frames: `sample` is a GstSample* valid for the call (take a reference to keep
// it); width and height are 0 for audio.
class FrameSink {
public:
    virtual ~FrameSink() = default;
    virtual void on_frame(std::size_t sample, std::int32_t width, std::int32_t height) const = 0;
};

} // namespace wkrtc::ffi
