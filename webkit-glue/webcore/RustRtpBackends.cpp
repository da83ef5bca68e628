// SPDX-License-Identifier: MPL-2.0
#include "config.h"
#include "RustRtpBackends.h"

#if ENABLE(WEB_RTC) && USE(RUST_WEBRTC)

#include "ContextDestructionObserverInlines.h"
#include "JSDOMPromiseDeferred.h"
#include "MediaStreamTrack.h"
#include "RTCDtlsTransportBackend.h"
#include "RTCRtpCodecCapability.h"
#include "RTCRtpSendParameters.h"
#include "RTCRtpSender.h"
#include "RustMediaSources.h"
#include "RustGlue.h"
#include "RustPeerConnectionBackend.h"
#include "RustTransports.h"
#include <wtf/TZoneMallocInlines.h>
#include <wtf/text/CString.h>

namespace WebCore {

using namespace RustGlue;

WTF_MAKE_TZONE_ALLOCATED_IMPL(RustRtpTransceiverBackend);
WTF_MAKE_TZONE_ALLOCATED_IMPL(RustRtpSenderBackend);
WTF_MAKE_TZONE_ALLOCATED_IMPL(RustRtpReceiverBackend);
WTF_MAKE_TZONE_ALLOCATED_IMPL(RustDTMFSenderBackend);

RustRtpTransceiverBackend::RustRtpTransceiverBackend(std::shared_ptr<wkrtc::Transceiver> transceiver)
    : m_transceiver(WTFMove(transceiver))
{
}

RTCRtpTransceiverDirection RustRtpTransceiverBackend::direction() const
{
    return valueNamed(directions, m_transceiver->direction()).value_or(RTCRtpTransceiverDirection::Inactive);
}

std::optional<RTCRtpTransceiverDirection> RustRtpTransceiverBackend::currentDirection() const
{
    auto current = m_transceiver->currentDirection();
    if (current.empty())
        return std::nullopt;
    return valueNamed(directions, current).value_or(RTCRtpTransceiverDirection::Inactive);
}

void RustRtpTransceiverBackend::setDirection(RTCRtpTransceiverDirection direction)
{
    // WebCore checks the transceiver is not stopping before; wkrtc asks for negotiation.
    m_transceiver->setDirection(nameOf(directions, direction));
}

String RustRtpTransceiverBackend::mid()
{
    auto mid = m_transceiver->mid();
    return mid.empty() ? String { } : toString(mid);
}

void RustRtpTransceiverBackend::stop()
{
    m_transceiver->stop();
}

bool RustRtpTransceiverBackend::stopped() const
{
    return m_transceiver->stopped();
}

ExceptionOr<void> RustRtpTransceiverBackend::setCodecPreferences(const Vector<RTCRtpCodecCapability>& codecs)
{
    std::vector<wkrtc::CodecCapability> list;
    for (auto& codec : codecs)
        list.push_back(wkrtc::CodecCapability { toStdString(codec.mimeType), static_cast<unsigned>(codec.clockRate), codec.channels.value_or(0), toStdString(codec.sdpFmtpLine) });
    if (auto error = m_transceiver->setCodecPreferences(list))
        return RustPeerConnectionBackend::toException(error);
    return { };
}

RustRtpSenderBackend::RustRtpSenderBackend(std::shared_ptr<wkrtc::Transceiver> transceiver, Ref<RustTransportHub>&& hub)
    : m_transceiver(WTFMove(transceiver))
    , m_hub(WTFMove(hub))
{
}

RustRtpSenderBackend::~RustRtpSenderBackend() = default;

void RustRtpSenderBackend::setSource(std::unique_ptr<RustOutgoingSource>&& source)
{
    m_source = WTFMove(source);
}

void RustRtpSenderBackend::clearSource()
{
    m_source = nullptr;
}

bool RustRtpSenderBackend::replaceTrack(RTCRtpSender&, MediaStreamTrack* track)
{
    if (!track) {
        if (m_transceiver->replaceTrack(nullptr))
            return false;
        m_source = nullptr;
        return true;
    }
    wkrtc::Error error;
    auto source = RustOutgoingSource::create(*track, error);
    if (!source || m_transceiver->replaceTrack(&source->wkrtcTrack()))
        return false;
    m_source = WTFMove(source);
    return true;
}

RTCRtpSendParameters RustRtpSenderBackend::getParameters() const
{
    auto parameters = m_transceiver->sendParameters();
    RTCRtpSendParameters result;
    result.transactionId = toString(parameters.transactionId);
    RTCRtpEncodingParameters encoding;
    encoding.active = parameters.active;
    if (parameters.maxBitrate)
        encoding.maxBitrate = *parameters.maxBitrate;
    if (parameters.maxFramerate)
        encoding.maxFramerate = static_cast<unsigned long>(*parameters.maxFramerate);
    encoding.scaleResolutionDownBy = parameters.scaleResolutionDownBy;
    result.encodings.append(WTFMove(encoding));
    for (auto& [payloadType, codec] : parameters.codecs) {
        RTCRtpCodecParameters codecParameters;
        codecParameters.payloadType = payloadType;
        codecParameters.mimeType = toString(codec.mimeType);
        codecParameters.clockRate = codec.clockRate;
        codecParameters.channels = codec.channels ? codec.channels : 1;
        codecParameters.sdpFmtpLine = toString(codec.sdpFmtpLine);
        result.codecs.append(WTFMove(codecParameters));
    }
    return result;
}

void RustRtpSenderBackend::setParameters(const RTCRtpSendParameters& parameters, DOMPromiseDeferred<void>&& promise)
{
    if (parameters.encodings.size() != 1) {
        promise.reject(Exception { ExceptionCode::InvalidModificationError, "wkrtc sends one encoding"_s });
        return;
    }
    auto& encoding = parameters.encodings[0];
    wkrtc::SendParameters next;
    next.transactionId = toStdString(parameters.transactionId);
    next.active = encoding.active;
    if (encoding.maxBitrate)
        next.maxBitrate = static_cast<std::uint32_t>(*encoding.maxBitrate);
    if (encoding.maxFramerate)
        next.maxFramerate = static_cast<double>(*encoding.maxFramerate);
    next.scaleResolutionDownBy = encoding.scaleResolutionDownBy;
    if (auto error = m_transceiver->setSendParameters(next)) {
        promise.reject(RustPeerConnectionBackend::toException(error));
        return;
    }
    promise.resolve();
}

std::unique_ptr<RTCDTMFSenderBackend> RustRtpSenderBackend::createDTMFBackend()
{
    return makeUnique<RustDTMFSenderBackend>(m_transceiver);
}

RustDTMFSenderBackend::RustDTMFSenderBackend(std::shared_ptr<wkrtc::Transceiver> transceiver)
    : m_transceiver(WTFMove(transceiver))
    , m_onTonePlayed(std::make_shared<Function<void()>>())
{
}

RustDTMFSenderBackend::~RustDTMFSenderBackend()
{
    *m_onTonePlayed = nullptr;
}

bool RustDTMFSenderBackend::canInsertDTMF()
{
    return m_transceiver->canInsertDTMF();
}

void RustDTMFSenderBackend::playTone(const char tone, size_t duration, size_t interToneGap)
{
    m_duration = duration;
    m_interToneGap = interToneGap;
    auto done = [onTonePlayed = m_onTonePlayed] {
        callOnMainThread([onTonePlayed] {
            if (*onTonePlayed)
                (*onTonePlayed)();
        });
    };
    // WebCore checked canInsertDTMF and the tone: an error here means the transceiver
    // stopped meanwhile. The tone counts as played; WebCore's next check ends the buffer.
    if (m_transceiver->playTone(tone, static_cast<std::uint32_t>(std::min<size_t>(duration, 6000)), done))
        done();
}

void RustDTMFSenderBackend::onTonePlayed(Function<void()>&& callback)
{
    *m_onTonePlayed = WTFMove(callback);
}

Ref<RTCRtpTransformBackend> RustRtpSenderBackend::rtcRtpTransformBackend()
{
    if (!m_transformBackend) {
        auto mediaType = m_transceiver->kind() == "audio" ? RTCRtpTransformBackend::MediaType::Audio : RTCRtpTransformBackend::MediaType::Video;
        m_transformBackend = RustRtpTransformBackend::create(mediaType, RTCRtpTransformBackend::Side::Sender);
    }
    return *m_transformBackend;
}

// The stream ids are announced with the track when it is added (addTrack, addTransceiver);
// wkrtc does not change them afterwards, so setStreams() has no effect on the next offer.
// RTCRtpSender.setStreams(): wkrtc announces them from the next description on and
// raises negotiationneeded. WebCore has checked the connection is open; wkrtc's only other
// refusal, an id with a NUL character, leaves the streams as they were.
void RustRtpSenderBackend::setMediaStreamIds(const FixedVector<String>& streamIds)
{
    std::vector<std::string> ids;
    for (auto& id : streamIds)
        ids.push_back(toStdString(id));
    m_transceiver->setSenderStreams(ids);
}

// Every negotiated transceiver shares the connection's one (bundled) DTLS transport.
std::unique_ptr<RTCDtlsTransportBackend> RustRtpSenderBackend::dtlsTransportBackend()
{
    if (m_transceiver->mid().empty())
        return nullptr;
    return makeUnique<RustDtlsTransportBackend>(m_hub.copyRef());
}

RustRtpReceiverBackend::RustRtpReceiverBackend(std::shared_ptr<wkrtc::Transceiver> transceiver, Ref<RustTransportHub>&& hub)
    : m_transceiver(WTFMove(transceiver))
    , m_hub(WTFMove(hub))
{
}

Ref<RTCRtpTransformBackend> RustRtpReceiverBackend::rtcRtpTransformBackend()
{
    if (!m_transformBackend) {
        auto mediaType = m_transceiver->kind() == "audio" ? RTCRtpTransformBackend::MediaType::Audio : RTCRtpTransformBackend::MediaType::Video;
        m_transformBackend = RustRtpTransformBackend::create(mediaType, RTCRtpTransformBackend::Side::Receiver);
    }
    return *m_transformBackend;
}

std::unique_ptr<RTCDtlsTransportBackend> RustRtpReceiverBackend::dtlsTransportBackend()
{
    if (m_transceiver->mid().empty())
        return nullptr;
    return makeUnique<RustDtlsTransportBackend>(m_hub.copyRef());
}

} // namespace WebCore

#endif // ENABLE(WEB_RTC) && USE(RUST_WEBRTC)
