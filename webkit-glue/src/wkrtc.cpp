// SPDX-License-Identifier: MPL-2.0
// wkrtc's C++ API over the cxx bridge: std::function callbacks on the bridge's interfaces.

#include "wkrtc/wkrtc.h"

#include "lib.rs.h"

namespace wkrtc {

namespace {

std::string str(rust::Str s) { return std::string(s.data(), s.size()); }
rust::Str rstr(std::string_view s) { return rust::Str(s.data(), s.size()); }
Error toError(const ffi::ErrorFfi& e) { return Error { std::string(e.name), std::string(e.message) }; }
Error toError(rust::Str name, rust::Str message) { return Error { str(name), str(message) }; }

class EventSinkImpl final : public ffi::EventSink {
public:
    explicit EventSinkImpl(PeerConnectionCallbacks callbacks) : m_callbacks(std::move(callbacks)) { }
    void on_signaling_state(rust::Str s) const override { if (m_callbacks.onSignalingState) m_callbacks.onSignalingState(str(s)); }
    void on_ice_gathering_state(rust::Str s) const override { if (m_callbacks.onIceGatheringState) m_callbacks.onIceGatheringState(str(s)); }
    void on_ice_connection_state(rust::Str s) const override { if (m_callbacks.onIceConnectionState) m_callbacks.onIceConnectionState(str(s)); }
    void on_connection_state(rust::Str s) const override { if (m_callbacks.onConnectionState) m_callbacks.onConnectionState(str(s)); }
    void on_dtls_state(rust::Str s) const override { if (m_callbacks.onDtlsState) m_callbacks.onDtlsState(str(s)); }
    void on_ice_candidate(rust::Str c, rust::Str mid, std::int32_t mline) const override
    {
        if (m_callbacks.onIceCandidate)
            m_callbacks.onIceCandidate(str(c), str(mid), mline);
    }
    void on_negotiation_needed() const override { if (m_callbacks.onNegotiationNeeded) m_callbacks.onNegotiationNeeded(); }
    void on_data_channel(rust::Box<ffi::DataChannelHandle> channel) const override;
    void on_track(rust::Box<ffi::TransceiverHandle> transceiver, rust::Box<ffi::TrackHandle> track, rust::Str mid, rust::Str stream) const override;
    void on_tone_received(std::size_t key, rust::Str tone, std::uint32_t durationMs) const override
    {
        if (m_callbacks.onToneReceived && tone.size() == 1)
            m_callbacks.onToneReceived(key, *tone.data(), durationMs);
    }
private:
    PeerConnectionCallbacks m_callbacks;
};

class SdpCallbackImpl final : public ffi::SdpCallback {
public:
    explicit SdpCallbackImpl(DescriptionCallback f) : m_f(std::move(f)) { }
    void done(rust::Str type, rust::Str sdp, rust::Str name, rust::Str message) const override
    {
        if (m_f)
            m_f(str(type), str(sdp), toError(name, message));
    }
private:
    DescriptionCallback m_f;
};

class VoidCallbackImpl final : public ffi::VoidCallback {
public:
    explicit VoidCallbackImpl(DoneCallback f) : m_f(std::move(f)) { }
    void done(rust::Str name, rust::Str message) const override
    {
        if (m_f)
            m_f(toError(name, message));
    }
private:
    DoneCallback m_f;
};

class StatsCallbackImpl final : public ffi::StatsCallback {
public:
    explicit StatsCallbackImpl(wkrtc::StatsCallback f) : m_f(std::move(f)) { }
    void done(rust::Str json, rust::Str name, rust::Str message) const override
    {
        if (m_f)
            m_f(str(json), toError(name, message));
    }
private:
    wkrtc::StatsCallback m_f;
};

class PairCallbackImpl final : public ffi::PairCallback {
public:
    explicit PairCallbackImpl(CandidatePairCallback f) : m_f(std::move(f)) { }
    void done(rust::Str local, rust::Str remote, rust::Str name, rust::Str message) const override
    {
        if (m_f)
            m_f(str(local), str(remote), toError(name, message));
    }
private:
    CandidatePairCallback m_f;
};

class ChannelSinkImpl final : public ffi::ChannelSink {
public:
    explicit ChannelSinkImpl(DataChannelCallbacks c) : m_c(std::move(c)) { }
    void on_open() const override { if (m_c.onOpen) m_c.onOpen(); }
    void on_text(rust::Str t) const override { if (m_c.onText) m_c.onText(str(t)); }
    void on_binary(rust::Slice<const std::uint8_t> d) const override { if (m_c.onBinary) m_c.onBinary(std::vector<std::uint8_t>(d.begin(), d.end())); }
    void on_buffered_amount_low() const override { if (m_c.onBufferedAmountLow) m_c.onBufferedAmountLow(); }
    void on_close() const override { if (m_c.onClose) m_c.onClose(); }
    void on_error(rust::Str name, rust::Str message) const override { if (m_c.onError) m_c.onError(toError(name, message)); }
private:
    DataChannelCallbacks m_c;
};

class FrameSinkImpl final : public ffi::FrameSink {
public:
    explicit FrameSinkImpl(FrameCallback f) : m_f(std::move(f)) { }
    void on_frame(std::size_t sample, std::int32_t w, std::int32_t h) const override
    {
        if (m_f)
            m_f(reinterpret_cast<GstSample*>(sample), w, h);
    }
private:
    FrameCallback m_f;
};

} // namespace

struct DataChannel::Impl {
    rust::Box<ffi::DataChannelHandle> handle;
};

struct Track::Impl {
    rust::Box<ffi::TrackHandle> handle;
};

struct Transceiver::Impl {
    rust::Box<ffi::TransceiverHandle> handle;
};

static std::unique_ptr<Transceiver> wrap(rust::Box<ffi::TransceiverHandle>&& handle)
{
    return std::make_unique<Transceiver>(std::make_unique<Transceiver::Impl>(Transceiver::Impl { std::move(handle) }));
}

static std::unique_ptr<Track> wrap(rust::Box<ffi::TrackHandle>&& handle)
{
    return std::make_unique<Track>(std::make_unique<Track::Impl>(Track::Impl { std::move(handle) }));
}

struct Capture::Impl {
    rust::Box<ffi::CaptureHandle> handle;
};

// OverconstrainedError carries its constraint as "constraint=NAME: message".
static Error captureError(const ffi::ErrorFfi& e, std::string* constraint)
{
    Error error = toError(e);
    if (error.name == "OverconstrainedError" && error.message.rfind("constraint=", 0) == 0) {
        auto end = error.message.find(':');
        if (constraint)
            *constraint = error.message.substr(11, end == std::string::npos ? std::string::npos : end - 11);
    }
    return error;
}

std::vector<DeviceInfo> enumerateDevices(std::string_view salt, bool fake, Error& error)
{
    ffi::ErrorFfi e;
    std::vector<DeviceInfo> result;
    for (auto& d : ffi::enumerate_devices(rstr(salt), fake, e))
        result.push_back(DeviceInfo { std::string(d.device_id), std::string(d.kind), std::string(d.label), std::string(d.group_id) });
    error = toError(e);
    return result;
}

std::unique_ptr<Capture> getUserMedia(std::string_view salt, bool fake, std::string_view constraintsJson, Error& error, std::string* constraint)
{
    ffi::ErrorFfi e;
    auto handle = ffi::get_user_media(rstr(salt), fake, rstr(constraintsJson), e);
    error = captureError(e, constraint);
    if (error)
        return nullptr;
    return std::make_unique<Capture>(std::make_unique<Capture::Impl>(Capture::Impl { std::move(handle) }));
}

Capture::Capture(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) { }
Capture::~Capture() { m_impl->handle->stop(); }
std::size_t Capture::size() const { return m_impl->handle->count(); }

std::unique_ptr<Track> Capture::track(std::size_t i) const
{
    if (i >= size())
        return nullptr;
    return wrap(m_impl->handle->track(i));
}

std::string Capture::settings(std::size_t i) const { return std::string(m_impl->handle->settings(i)); }
std::string Capture::capabilities(std::size_t i) const { return std::string(m_impl->handle->capabilities(i)); }
std::string Capture::constraints(std::size_t i) const { return std::string(m_impl->handle->constraints(i)); }

Error Capture::applyConstraints(std::size_t i, std::string_view json, std::string* constraint)
{
    return captureError(m_impl->handle->apply_constraints(i, rstr(json)), constraint);
}

void Capture::stop() { m_impl->handle->stop(); }

struct PeerConnection::Impl {
    rust::Box<ffi::PeerConnectionHandle> handle;
};

void EventSinkImpl::on_data_channel(rust::Box<ffi::DataChannelHandle> channel) const
{
    if (m_callbacks.onDataChannel)
        m_callbacks.onDataChannel(std::make_unique<DataChannel>(std::make_unique<DataChannel::Impl>(DataChannel::Impl { std::move(channel) })));
}

void EventSinkImpl::on_track(rust::Box<ffi::TransceiverHandle> transceiver, rust::Box<ffi::TrackHandle> track, rust::Str mid, rust::Str stream) const
{
    if (m_callbacks.onTrack)
        m_callbacks.onTrack(wrap(std::move(transceiver)), wrap(std::move(track)), str(mid), str(stream));
}

DataChannel::DataChannel(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) { }
DataChannel::~DataChannel() = default;
std::string DataChannel::label() const { return std::string(m_impl->handle->label()); }
std::string DataChannel::protocol() const { return std::string(m_impl->handle->protocol()); }
bool DataChannel::ordered() const { return m_impl->handle->ordered(); }
bool DataChannel::negotiated() const { return m_impl->handle->negotiated(); }

static std::optional<std::uint16_t> optionalU16(std::int32_t v)
{
    if (v < 0)
        return std::nullopt;
    return static_cast<std::uint16_t>(v);
}

std::optional<std::uint16_t> DataChannel::id() const { return optionalU16(m_impl->handle->id()); }
std::optional<std::uint16_t> DataChannel::maxRetransmits() const { return optionalU16(m_impl->handle->max_retransmits()); }
std::optional<std::uint16_t> DataChannel::maxPacketLifeTime() const { return optionalU16(m_impl->handle->max_packet_life_time()); }
void DataChannel::setBufferedAmountLowThreshold(std::uint64_t bytes) { m_impl->handle->set_buffered_amount_low_threshold(bytes); }
std::string DataChannel::readyState() const { return std::string(m_impl->handle->ready_state()); }
std::uint64_t DataChannel::bufferedAmount() const { return m_impl->handle->buffered_amount(); }
void DataChannel::setCallbacks(DataChannelCallbacks c) { m_impl->handle->set_sink(std::make_unique<ChannelSinkImpl>(std::move(c))); }
Error DataChannel::send(std::string_view text) { return toError(m_impl->handle->send_text(rstr(text))); }
Error DataChannel::send(const std::uint8_t* data, std::size_t size) { return toError(m_impl->handle->send_binary(rust::Slice<const std::uint8_t>(data, size))); }
void DataChannel::close() { m_impl->handle->close(); }

Track::Track(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) { }
Track::~Track() = default;

static std::optional<Capabilities> capabilities(std::string_view kind, bool sending)
{
    bool known = false;
    auto codecs = ffi::codec_capabilities(rstr(kind), sending, known);
    if (!known)
        return std::nullopt;
    Capabilities result;
    for (auto& c : codecs)
        result.codecs.push_back(CodecCapability { std::string(c.mime_type), c.clock_rate, c.channels, std::string(c.sdp_fmtp_line) });
    for (auto& uri : ffi::header_extension_capabilities(rstr(kind)))
        result.headerExtensions.emplace_back(uri);
    return result;
}

std::optional<Capabilities> senderCapabilities(std::string_view kind) { return capabilities(kind, true); }
std::optional<Capabilities> receiverCapabilities(std::string_view kind) { return capabilities(kind, false); }

std::unique_ptr<Track> Track::testPattern(std::string_view kind, unsigned width, unsigned height, Error& error)
{
    ffi::ErrorFfi e;
    auto handle = ffi::create_test_pattern_track(rstr(kind), width, height, e);
    error = toError(e);
    return std::make_unique<Track>(std::make_unique<Impl>(Impl { std::move(handle) }));
}

std::unique_ptr<Track> Track::external(std::string_view kind, std::string_view label, Error& error)
{
    ffi::ErrorFfi e;
    auto handle = ffi::create_external_track(rstr(kind), rstr(label), e);
    error = toError(e);
    return std::make_unique<Track>(std::make_unique<Impl>(Impl { std::move(handle) }));
}

std::string Track::kind() const { return std::string(m_impl->handle->kind()); }
std::string Track::id() const { return std::string(m_impl->handle->id()); }
std::uint64_t Track::frames() const { return m_impl->handle->frames(); }
void Track::setEnabled(bool enabled) { m_impl->handle->set_enabled(enabled); }
void Track::setFrameCallback(FrameCallback f)
{
    if (!f) {
        m_impl->handle->clear_frame_sink();
        return;
    }
    m_impl->handle->set_frame_sink(std::make_unique<FrameSinkImpl>(std::move(f)));
}
Error Track::pushSample(GstSample* sample) { return toError(m_impl->handle->push_sample(reinterpret_cast<std::size_t>(sample))); }
void Track::stop() { m_impl->handle->stop(); }

std::optional<Certificate> generateCertificate(std::string_view algorithmJson, Error& error)
{
    ffi::ErrorFfi e;
    auto c = ffi::generate_certificate(rstr(algorithmJson), e);
    error = toError(e);
    if (error)
        return std::nullopt;
    return Certificate { std::string(c.certificate_pem), std::string(c.private_key_pem), c.expires, std::string(c.fingerprint_algorithm), std::string(c.fingerprint) };
}

PeerConnection::PeerConnection(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) { }
PeerConnection::~PeerConnection() { m_impl->handle->close(); }

static ffi::ConfigFfi toFfi(const Configuration& configuration)
{
    ffi::ConfigFfi config;
    for (auto& server : configuration.iceServers) {
        ffi::IceServerFfi s;
        for (auto& url : server.urls)
            s.urls.push_back(rust::String(url));
        s.username = rust::String(server.username);
        s.credential = rust::String(server.credential);
        config.ice_servers.push_back(std::move(s));
    }
    config.relay_only = configuration.relayOnly;
    for (auto& certificate : configuration.certificates) {
        ffi::CertificateFfi c;
        c.certificate_pem = rust::String(certificate.certificatePem);
        c.private_key_pem = rust::String(certificate.privateKeyPem);
        config.certificates.push_back(std::move(c));
    }
    config.loopback = configuration.loopback;
    return config;
}

Error PeerConnection::setConfiguration(const Configuration& configuration)
{
    return toError(m_impl->handle->set_configuration(toFfi(configuration)));
}

std::unique_ptr<PeerConnection> PeerConnection::create(const Configuration& configuration, PeerConnectionCallbacks callbacks, Error& error)
{
    auto config = toFfi(configuration);
    auto handle = ffi::create_peer_connection(config, std::make_unique<EventSinkImpl>(std::move(callbacks)));
    error = toError(handle->creation_error());
    return std::unique_ptr<PeerConnection>(new PeerConnection(std::make_unique<Impl>(Impl { std::move(handle) })));
}

void PeerConnection::createOffer(DescriptionCallback f, bool iceRestart) { m_impl->handle->create_offer(iceRestart, std::make_unique<SdpCallbackImpl>(std::move(f))); }
void PeerConnection::createAnswer(DescriptionCallback f) { m_impl->handle->create_answer(std::make_unique<SdpCallbackImpl>(std::move(f))); }

void PeerConnection::setLocalDescription(std::string_view type, std::string_view sdp, DoneCallback f)
{
    m_impl->handle->set_local_description(rstr(type), rstr(sdp), std::make_unique<VoidCallbackImpl>(std::move(f)));
}

void PeerConnection::setRemoteDescription(std::string_view type, std::string_view sdp, DoneCallback f)
{
    m_impl->handle->set_remote_description(rstr(type), rstr(sdp), std::make_unique<VoidCallbackImpl>(std::move(f)));
}

void PeerConnection::addIceCandidate(std::string_view candidate, std::string_view mid, int mline, DoneCallback f)
{
    m_impl->handle->add_ice_candidate(rstr(candidate), rstr(mid), mline, std::make_unique<VoidCallbackImpl>(std::move(f)));
}

void PeerConnection::restartIce() { m_impl->handle->restart_ice(); }
void PeerConnection::getStats(StatsCallback f) { m_impl->handle->get_stats(std::make_unique<StatsCallbackImpl>(std::move(f))); }
void PeerConnection::selectedCandidatePair(CandidatePairCallback f) { m_impl->handle->selected_candidate_pair(std::make_unique<PairCallbackImpl>(std::move(f))); }

std::vector<std::vector<std::uint8_t>> PeerConnection::remoteCertificates() const
{
    std::vector<std::vector<std::uint8_t>> result;
    for (auto& certificate : m_impl->handle->remote_certificates())
        result.emplace_back(certificate.bytes.begin(), certificate.bytes.end());
    return result;
}

std::unique_ptr<DataChannel> PeerConnection::createDataChannel(std::string_view label, const DataChannelInit& init, Error& error)
{
    ffi::ChannelInitFfi i { init.ordered, init.maxRetransmits, init.maxPacketLifeTime, rust::String(init.protocol), init.negotiated, init.id };
    ffi::ErrorFfi e;
    auto handle = m_impl->handle->create_data_channel(rstr(label), i, e);
    error = toError(e);
    return std::make_unique<DataChannel>(std::make_unique<DataChannel::Impl>(DataChannel::Impl { std::move(handle) }));
}

static rust::Vec<rust::String> toRustStrings(const std::vector<std::string>& strings)
{
    rust::Vec<rust::String> result;
    for (auto& s : strings)
        result.push_back(rust::String(s));
    return result;
}

static std::unique_ptr<Transceiver> madeOrNull(rust::Box<ffi::TransceiverHandle>&& handle, const ffi::ErrorFfi& e, Error& error)
{
    error = toError(e);
    if (error)
        return nullptr;
    return wrap(std::move(handle));
}

std::unique_ptr<Transceiver> PeerConnection::addTrack(const Track& track, const std::vector<std::string>& streamIds, Error& error)
{
    ffi::ErrorFfi e;
    auto handle = m_impl->handle->add_track(*track.impl().handle, toRustStrings(streamIds), e);
    return madeOrNull(std::move(handle), e, error);
}

std::unique_ptr<Transceiver> PeerConnection::addTransceiver(std::string_view kind, std::string_view direction, const std::vector<std::string>& streamIds, Error& error)
{
    ffi::ErrorFfi e;
    auto handle = m_impl->handle->add_transceiver_of_kind(rstr(kind), rstr(direction), toRustStrings(streamIds), e);
    return madeOrNull(std::move(handle), e, error);
}

std::unique_ptr<Transceiver> PeerConnection::addTransceiver(const Track& track, std::string_view direction, const std::vector<std::string>& streamIds, Error& error)
{
    ffi::ErrorFfi e;
    auto handle = m_impl->handle->add_transceiver_with_track(*track.impl().handle, rstr(direction), toRustStrings(streamIds), e);
    return madeOrNull(std::move(handle), e, error);
}

Error PeerConnection::removeTrack(const Transceiver& transceiver) { return toError(m_impl->handle->remove_track(*transceiver.impl().handle)); }

std::vector<std::unique_ptr<Transceiver>> PeerConnection::transceivers() const
{
    std::vector<std::unique_ptr<Transceiver>> result;
    auto count = m_impl->handle->transceiver_count();
    for (std::size_t i = 0; i < count; ++i) {
        auto handle = m_impl->handle->transceiver_at(i);
        if (handle->key())
            result.push_back(wrap(std::move(handle)));
    }
    return result;
}

Transceiver::Transceiver(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) { }
Transceiver::~Transceiver() = default;
std::uintptr_t Transceiver::key() const { return m_impl->handle->key(); }
std::string Transceiver::kind() const { return std::string(m_impl->handle->kind()); }
std::string Transceiver::mid() const { return std::string(m_impl->handle->mid()); }
std::string Transceiver::direction() const { return std::string(m_impl->handle->direction()); }
std::string Transceiver::currentDirection() const { return std::string(m_impl->handle->current_direction()); }
Error Transceiver::setDirection(std::string_view direction) { return toError(m_impl->handle->set_direction(rstr(direction))); }
void Transceiver::stop() { m_impl->handle->stop(); }
bool Transceiver::stopped() const { return m_impl->handle->stopped(); }
bool Transceiver::receiving() const { return m_impl->handle->receiving(); }

std::vector<std::string> Transceiver::receiverStreamIds() const
{
    std::vector<std::string> result;
    for (auto& id : m_impl->handle->receiver_stream_ids())
        result.emplace_back(id);
    return result;
}

std::unique_ptr<Track> Transceiver::receiverTrack() const { return wrap(m_impl->handle->receiver_track()); }

Error Transceiver::setSenderStreams(const std::vector<std::string>& streamIds)
{
    return toError(m_impl->handle->set_sender_streams(toRustStrings(streamIds)));
}

static ffi::CodecCapabilityFfi toFfi(const CodecCapability& c)
{
    return ffi::CodecCapabilityFfi { rust::String(c.mimeType), c.clockRate, c.channels, rust::String(c.sdpFmtpLine) };
}

static CodecCapability fromFfi(const ffi::CodecCapabilityFfi& c)
{
    return CodecCapability { std::string(c.mime_type), c.clock_rate, c.channels, std::string(c.sdp_fmtp_line) };
}

Error Transceiver::setCodecPreferences(const std::vector<CodecCapability>& codecs)
{
    rust::Vec<ffi::CodecCapabilityFfi> list;
    for (auto& c : codecs)
        list.push_back(toFfi(c));
    return toError(m_impl->handle->set_codec_preferences(list));
}

bool Transceiver::canInsertDTMF() const
{
    return m_impl->handle->can_insert_dtmf();
}

Error Transceiver::playTone(char tone, std::uint32_t durationMs, std::function<void()> played)
{
    auto done = std::make_unique<VoidCallbackImpl>([played = std::move(played)](Error) {
        if (played)
            played();
    });
    return toError(m_impl->handle->play_tone(rust::Str(&tone, 1), durationMs, std::move(done)));
}

Error Transceiver::replaceTrack(const Track* track)
{
    if (!track)
        return toError(m_impl->handle->clear_track());
    return toError(m_impl->handle->replace_track(*track->impl().handle));
}

SendParameters Transceiver::sendParameters() const
{
    auto p = m_impl->handle->send_parameters();
    SendParameters result;
    result.transactionId = std::string(p.transaction_id);
    result.active = p.active;
    if (p.max_bitrate)
        result.maxBitrate = p.max_bitrate;
    if (p.max_framerate > 0)
        result.maxFramerate = p.max_framerate;
    if (p.scale_resolution_down_by > 0)
        result.scaleResolutionDownBy = p.scale_resolution_down_by;
    for (std::size_t i = 0; i < p.codecs.size() && i < p.payload_types.size(); ++i)
        result.codecs.emplace_back(p.payload_types[i], fromFfi(p.codecs[i]));
    return result;
}

Error Transceiver::setSendParameters(const SendParameters& parameters)
{
    ffi::SendParametersFfi p;
    p.transaction_id = rust::String(parameters.transactionId);
    p.active = parameters.active;
    p.max_bitrate = parameters.maxBitrate.value_or(0);
    p.max_framerate = parameters.maxFramerate.value_or(0);
    p.scale_resolution_down_by = parameters.scaleResolutionDownBy.value_or(0);
    return toError(m_impl->handle->set_send_parameters(p));
}
std::string PeerConnection::signalingState() const { return std::string(m_impl->handle->signaling_state()); }
std::string PeerConnection::connectionState() const { return std::string(m_impl->handle->connection_state()); }
std::string PeerConnection::localDescription() const { return std::string(m_impl->handle->local_description()); }
std::string PeerConnection::remoteDescription() const { return std::string(m_impl->handle->remote_description()); }
static std::optional<Description> toDescription(const ffi::DescriptionFfi& d)
{
    if (d.sdp_type.empty())
        return std::nullopt;
    return Description { std::string(d.sdp_type), std::string(d.sdp) };
}

std::optional<Description> PeerConnection::currentLocalDescription() const { return toDescription(m_impl->handle->current_local_description()); }
std::optional<Description> PeerConnection::pendingLocalDescription() const { return toDescription(m_impl->handle->pending_local_description()); }
std::optional<Description> PeerConnection::currentRemoteDescription() const { return toDescription(m_impl->handle->current_remote_description()); }
std::optional<Description> PeerConnection::pendingRemoteDescription() const { return toDescription(m_impl->handle->pending_remote_description()); }
std::string PeerConnection::iceGatheringState() const { return std::string(m_impl->handle->ice_gathering_state()); }
std::string PeerConnection::iceConnectionState() const { return std::string(m_impl->handle->ice_connection_state()); }

std::optional<bool> PeerConnection::canTrickleIceCandidates() const
{
    auto value = m_impl->handle->can_trickle_ice_candidates();
    if (value < 0)
        return std::nullopt;
    return value == 1;
}

std::optional<std::uint64_t> PeerConnection::sctpMaxMessageSize() const
{
    auto size = m_impl->handle->sctp_max_message_size();
    if (!size)
        return std::nullopt;
    return size;
}

void PeerConnection::close() { m_impl->handle->close(); }

} // namespace wkrtc
