// SPDX-License-Identifier: MPL-2.0
#include "config.h"
#include "RustPeerConnectionBackend.h"

#if ENABLE(WEB_RTC) && USE(RUST_WEBRTC)

#include "ContextDestructionObserverInlines.h"
#include "Exception.h"
#include "JSDOMPromiseDeferred.h"
#include "JSRTCStatsReport.h"
#include "MediaEndpointConfiguration.h"
#include "JSRTCCertificate.h"
#include "RTCCertificate.h"
#include "RTCDataChannelHandler.h"
#include "RTCIceCandidate.h"
#include "RTCIceConnectionState.h"
#include "RTCIceGatheringState.h"
#include "RTCOfferOptions.h"
#include "RTCPeerConnection.h"
#include "RTCSctpTransportBackend.h"
#include "RTCSessionDescription.h"
#include "RTCSignalingState.h"
#include "Document.h"
#include "MediaStream.h"
#include "MediaStreamPrivate.h"
#include "MediaStreamTrack.h"
#include "MediaStreamTrackPrivate.h"
#include "RTCRtpReceiver.h"
#include "RTCRtpSender.h"
#include "RTCRtpTransceiver.h"
#include "RustDataChannelHandler.h"
#include "RustGlue.h"
#include "RustMediaSources.h"
#include "RustRtpBackends.h"
#include "RustStatsReport.h"
#include "RustTransports.h"
#include <wtf/JSONValues.h>
#include <wtf/MainThread.h>
#include <wtf/TZoneMallocInlines.h>
#include <wtf/WeakPtr.h>
#include <wtf/text/CString.h>

namespace WebCore {

using namespace RustGlue;

WTF_MAKE_TZONE_ALLOCATED_IMPL(RustPeerConnectionBackend);

static const std::unique_ptr<PeerConnectionBackend> createRustPeerConnectionBackend(RTCPeerConnection& peerConnection)
{
    return WTF::makeUniqueWithoutRefCountedCheck<RustPeerConnectionBackend, PeerConnectionBackend>(peerConnection);
}

CreatePeerConnectionBackend PeerConnectionBackend::create = createRustPeerConnectionBackend;

Exception RustPeerConnectionBackend::toException(const wkrtc::Error& error)
{
    static constexpr std::pair<const char*, ExceptionCode> codes[] = {
        { "InvalidStateError", ExceptionCode::InvalidStateError },
        { "InvalidAccessError", ExceptionCode::InvalidAccessError },
        { "InvalidModificationError", ExceptionCode::InvalidModificationError },
        { "OperationError", ExceptionCode::OperationError },
        { "SyntaxError", ExceptionCode::SyntaxError },
        { "TypeError", ExceptionCode::TypeError },
        { "RangeError", ExceptionCode::RangeError },
        { "NotFoundError", ExceptionCode::NotFoundError },
        { "NotSupportedError", ExceptionCode::NotSupportedError },
        { "NotReadableError", ExceptionCode::NotReadableError },
        { "DataError", ExceptionCode::DataError },
        { "InvalidCharacterError", ExceptionCode::InvalidCharacterError },
    };
    for (auto& [name, code] : codes) {
        if (error.name == name)
            return Exception { code, toString(error.message) };
    }
    // A name WebCore has no code for: keep it readable in the message.
    return Exception { ExceptionCode::OperationError, toString(error.name + ": " + error.message) };
}

void RustPeerConnectionBackend::generateCertificate(Document& document, const CertificateInformation& info, DOMPromiseDeferred<IDLInterface<RTCCertificate>>&& promise)
{
    // The W3C AlgorithmIdentifier WebCore parsed, as the JSON wkrtc reads. WebCore has read
    // publicExponent's bytes into an int; wkrtc takes them back as big-endian bytes.
    auto algorithm = JSON::Object::create();
    if (info.type == CertificateInformation::Type::ECDSAP256) {
        algorithm->setString("name"_s, "ECDSA"_s);
        algorithm->setString("namedCurve"_s, "P-256"_s);
    } else {
        auto rsa = info.rsaParameters.value_or(CertificateInformation::RSA { 2048, 65537 });
        auto exponent = JSON::Array::create();
        for (int shift = 24; shift >= 0; shift -= 8) {
            if (unsigned byte = (static_cast<unsigned>(rsa.publicExponent) >> shift) & 0xff; byte || exponent->length())
                exponent->pushInteger(byte);
        }
        algorithm->setString("name"_s, "RSASSA-PKCS1-v1_5"_s);
        algorithm->setInteger("modulusLength"_s, rsa.modulusLength);
        algorithm->setArray("publicExponent"_s, WTFMove(exponent));
        algorithm->setString("hash"_s, "SHA-256"_s);
    }
    if (info.expires)
        algorithm->setDouble("expires"_s, *info.expires);

    wkrtc::Error error;
    auto certificate = wkrtc::generateCertificate(toStdString(algorithm->toJSONString()), error);
    if (!certificate) {
        promise.reject(toException(error));
        return;
    }
    Vector<RTCCertificate::DtlsFingerprint> fingerprints { { toString(certificate->fingerprintAlgorithm), toString(certificate->fingerprint) } };
    promise.resolve(RTCCertificate::create(document.securityOrigin(), certificate->expires, WTFMove(fingerprints),
        toString(certificate->certificatePem), toString(certificate->privateKeyPem)));
}

static Exception noConnection()
{
    return Exception { ExceptionCode::InvalidStateError, "The peer connection has no configuration"_s };
}

RustPeerConnectionBackend::RustPeerConnectionBackend(RTCPeerConnection& peerConnection)
    : PeerConnectionBackend(peerConnection)
    , m_transportHub(RustTransportHub::create())
{
}

RustPeerConnectionBackend::~RustPeerConnectionBackend()
{
    if (m_connection)
        m_connection->close();
}

// wkrtc calls back on its threads: `task` runs on the main thread, if the backend still exists.
static void onMainThread(const WeakPtr<RustPeerConnectionBackend>& weakBackend, Function<void(RustPeerConnectionBackend&)>&& task)
{
    callOnMainThread([weakBackend, task = WTFMove(task)]() mutable {
        if (RefPtr backend = weakBackend.get())
            task(*backend);
    });
}

wkrtc::PeerConnectionCallbacks RustPeerConnectionBackend::makeCallbacks()
{
    auto onMain = [weakThis = WeakPtr { *this }](Function<void(RustPeerConnectionBackend&)>&& task) {
        onMainThread(weakThis, WTFMove(task));
    };

    wkrtc::PeerConnectionCallbacks callbacks;
    // Signaling state, descriptions and connection state reach WebCore with the operation
    // results (DescriptionStates) and through the ICE connection state.
    callbacks.onIceConnectionState = [onMain](std::string state) {
        onMain([state = WTFMove(state)](auto& backend) { backend.iceConnectionStateChanged(state); });
    };
    callbacks.onDtlsState = [onMain](std::string state) {
        onMain([state = WTFMove(state)](auto& backend) { backend.dtlsStateChanged(state); });
    };
    callbacks.onIceGatheringState = [onMain](std::string state) {
        onMain([state = WTFMove(state)](auto& backend) { backend.iceGatheringStateChangedTo(state); });
    };
    callbacks.onIceCandidate = [onMain](std::string candidate, std::string mid, int mline) {
        // End of candidates arrives as the "complete" gathering state.
        if (candidate.empty())
            return;
        onMain([candidate = toString(candidate).isolatedCopy(), mid = toString(mid).isolatedCopy(), mline](auto& backend) mutable {
            backend.iceCandidateGathered(WTFMove(candidate), WTFMove(mid), mline);
        });
    };
    callbacks.onNegotiationNeeded = [onMain] {
        onMain([](auto& backend) { backend.negotiationNeeded(); });
    };
    callbacks.onDataChannel = [onMain](std::unique_ptr<wkrtc::DataChannel> channel) {
        onMain([channel = WTFMove(channel)](auto& backend) mutable { backend.dataChannelOpenedByPeer(WTFMove(channel)); });
    };
    // Remote tracks reach WebCore through the transceiver states of setRemoteDescription
    // (WebCore fires the track events); the receiver's source unmutes in collectTransceivers.
    return callbacks;
}

bool RustPeerConnectionBackend::setConfiguration(MediaEndpointConfiguration&& configuration)
{
    wkrtc::Configuration next;
    for (auto& certificate : configuration.certificates)
        next.certificates.push_back({ toStdString(certificate.certificate), toStdString(certificate.privateKey), 0, { }, { } });
    for (auto& server : configuration.iceServers) {
        wkrtc::IceServer iceServer;
        for (auto& url : server.urls)
            iceServer.urls.push_back(toStdString(url.string()));
        iceServer.username = toStdString(server.username);
        iceServer.credential = toStdString(server.credential);
        next.iceServers.push_back(WTFMove(iceServer));
    }
    next.relayOnly = configuration.iceTransportPolicy == RTCIceTransportPolicy::Relay;

    if (m_connection) {
        // The W3C rules (certificates and policies that cannot change) are wkrtc's.
        if (m_connection->setConfiguration(next))
            return false;
        m_configuration = WTFMove(next);
        return true;
    }

    wkrtc::Error error;
    m_connection = wkrtc::PeerConnection::create(next, makeCallbacks(), error);
    m_configuration = WTFMove(next);
    if (error) {
        // TURN over TLS, other unsupported servers and unusable certificates end here.
        m_connection = nullptr;
        return false;
    }
    return true;
}

wkrtc::DescriptionCallback RustPeerConnectionBackend::descriptionCreated(Side side)
{
    return [weakThis = WeakPtr { *this }, side](std::string, std::string sdp, wkrtc::Error error) {
        onMainThread(weakThis, [side, sdp = toString(sdp).isolatedCopy(), error = WTFMove(error)](auto& backend) mutable {
            if (error)
                side == Side::Offer ? backend.createOfferFailed(toException(error)) : backend.createAnswerFailed(toException(error));
            else
                side == Side::Offer ? backend.createOfferSucceeded(WTFMove(sdp)) : backend.createAnswerSucceeded(WTFMove(sdp));
        });
    };
}

// WebCore learns the descriptions, the transceivers' states and the SCTP transport with the result.
wkrtc::DoneCallback RustPeerConnectionBackend::descriptionApplied(Side side)
{
    return [weakThis = WeakPtr { *this }, side](wkrtc::Error error) {
        onMainThread(weakThis, [side, error = WTFMove(error)](auto& backend) {
            if (error) {
                side == Side::Local ? backend.setLocalDescriptionFailed(toException(error)) : backend.setRemoteDescriptionFailed(toException(error));
                return;
            }
            auto [sctp, maxMessageSize] = backend.sctpTransport();
            if (side == Side::Local)
                backend.setLocalDescriptionSucceeded(backend.descriptionStates(), backend.transceiverStates(), WTFMove(sctp), maxMessageSize);
            else
                backend.setRemoteDescriptionSucceeded(backend.descriptionStates(), backend.transceiverStates(), WTFMove(sctp), maxMessageSize);
        });
    };
}

void RustPeerConnectionBackend::doCreateOffer(RTCOfferOptions&& options)
{
    if (!m_connection) {
        createOfferFailed(noConnection());
        return;
    }
    m_connection->createOffer(descriptionCreated(Side::Offer), options.iceRestart);
}

void RustPeerConnectionBackend::doCreateAnswer(RTCAnswerOptions&&)
{
    if (!m_connection) {
        createAnswerFailed(noConnection());
        return;
    }
    m_connection->createAnswer(descriptionCreated(Side::Answer));
}

PeerConnectionBackend::DescriptionStates RustPeerConnectionBackend::descriptionStates() const
{
    DescriptionStates states;
    if (!m_connection)
        return states;
    states.signalingState = valueNamed(signalingStates, m_connection->signalingState());
    auto fill = [](const std::optional<wkrtc::Description>& description, std::optional<RTCSdpType>& type, String& sdp) {
        if (!description)
            return;
        type = valueNamed(sdpTypes, description->type);
        sdp = toString(description->sdp);
    };
    fill(m_connection->currentLocalDescription(), states.currentLocalDescriptionSdpType, states.currentLocalDescriptionSdp);
    fill(m_connection->pendingLocalDescription(), states.pendingLocalDescriptionSdpType, states.pendingLocalDescriptionSdp);
    fill(m_connection->currentRemoteDescription(), states.currentRemoteDescriptionSdpType, states.currentRemoteDescriptionSdp);
    fill(m_connection->pendingRemoteDescription(), states.pendingRemoteDescriptionSdpType, states.pendingRemoteDescriptionSdp);
    return states;
}

void RustPeerConnectionBackend::doSetLocalDescription(const RTCSessionDescription* description)
{
    if (!m_connection) {
        setLocalDescriptionFailed(noConnection());
        return;
    }
    // No description: the parameterless setLocalDescription(), wkrtc creates the offer or answer.
    std::string type = description ? nameOf(sdpTypes, description->type()) : "";
    std::string sdp = description ? toStdString(description->sdp()) : "";
    m_connection->setLocalDescription(type, sdp, descriptionApplied(Side::Local));
}

void RustPeerConnectionBackend::doSetRemoteDescription(const RTCSessionDescription& description)
{
    if (!m_connection) {
        setRemoteDescriptionFailed(noConnection());
        return;
    }
    m_connection->setRemoteDescription(nameOf(sdpTypes, description.type()), toStdString(description.sdp()), descriptionApplied(Side::Remote));
}

void RustPeerConnectionBackend::doAddIceCandidate(RTCIceCandidate& candidate, AddIceCandidateCallback&& callback)
{
    if (!m_connection) {
        callback(noConnection());
        return;
    }
    int mline = candidate.sdpMLineIndex() ? static_cast<int>(*candidate.sdpMLineIndex()) : -1;
    MainThreadFunction<AddIceCandidateCallback> held { WTFMove(callback) };
    m_connection->addIceCandidate(toStdString(candidate.candidate()), toStdString(candidate.sdpMid()), mline, [weakThis = WeakPtr { *this }, held](wkrtc::Error error) mutable {
        callOnMainThread([weakThis, held, error = WTFMove(error)]() mutable {
            auto callback = held.take();
            RefPtr backend = weakThis.get();
            if (!backend || !callback)
                return;
            if (error) {
                callback(toException(error));
                return;
            }
            callback(std::optional<DescriptionStates> { backend->descriptionStates() });
        });
    });
}

void RustPeerConnectionBackend::doStop()
{
    if (m_connection)
        m_connection->close();
}

void RustPeerConnectionBackend::close()
{
    if (m_connection)
        m_connection->close();
}

void RustPeerConnectionBackend::restartIce()
{
    if (m_connection)
        m_connection->restartIce();
}

std::unique_ptr<RTCDataChannelHandler> RustPeerConnectionBackend::createDataChannelHandler(const String& label, const RTCDataChannelInit& options)
{
    if (!m_connection)
        return nullptr;
    wkrtc::DataChannelInit init;
    init.ordered = options.ordered.value_or(true);
    init.maxRetransmits = options.maxRetransmits ? static_cast<int>(*options.maxRetransmits) : -1;
    init.maxPacketLifeTime = options.maxPacketLifeTime ? static_cast<int>(*options.maxPacketLifeTime) : -1;
    init.protocol = toStdString(options.protocol);
    init.negotiated = options.negotiated.value_or(false);
    init.id = options.id ? static_cast<int>(*options.id) : -1;
    wkrtc::Error error;
    auto channel = m_connection->createDataChannel(toStdString(label), init, error);
    if (error)
        return nullptr; // RTCPeerConnection.createDataChannel throws OperationError.
    return makeUnique<RustDataChannelHandler>(WTFMove(channel));
}

void RustPeerConnectionBackend::dataChannelOpenedByPeer(std::unique_ptr<wkrtc::DataChannel>&& channel)
{
    RTCDataChannelInit init;
    init.ordered = channel->ordered();
    if (auto value = channel->maxRetransmits())
        init.maxRetransmits = *value;
    if (auto value = channel->maxPacketLifeTime())
        init.maxPacketLifeTime = *value;
    init.protocol = toString(channel->protocol());
    init.negotiated = channel->negotiated();
    if (auto id = channel->id())
        init.id = *id;
    auto label = toString(channel->label());
    newDataChannel(makeUniqueRef<RustDataChannelHandler>(WTFMove(channel)), WTFMove(label), WTFMove(init));
}

void RustPeerConnectionBackend::iceConnectionStateChanged(const std::string& name)
{
    auto state = valueNamed(iceConnectionStates, name);
    if (!state)
        return;
    if (auto transportState = valueNamed(iceTransportStates, name))
        m_transportHub->setIceState(*transportState);
    Ref connection = m_peerConnection.get();
    if (connection->iceConnectionState() != *state)
        connection->updateIceConnectionState(*state);
}

void RustPeerConnectionBackend::iceGatheringStateChangedTo(const std::string& name)
{
    auto state = valueNamed(iceGatheringStates, name);
    if (!state)
        return;
    m_transportHub->setGatheringState(*state);
    iceGatheringStateChanged(*state);
}

// Once DTLS is connected, wkrtc has checked the peer's certificate and ICE has selected its
// pair: both go to the transport objects.
void RustPeerConnectionBackend::dtlsStateChanged(const std::string& name)
{
    auto state = valueNamed(dtlsTransportStates, name);
    if (!state)
        return;
    bool connected = *state == RTCDtlsTransportState::Connected && m_connection;
    Vector<Vector<uint8_t>> certificates;
    if (connected) {
        for (auto& der : m_connection->remoteCertificates())
            certificates.append(std::span<const uint8_t>(der.data(), der.size()));
    }
    m_transportHub->setDtlsState(*state, WTFMove(certificates));
    if (!connected)
        return;
    m_connection->selectedCandidatePair([weakThis = WeakPtr { *this }](std::string local, std::string remote, wkrtc::Error error) {
        if (error || local.empty())
            return;
        onMainThread(weakThis, [local = toString(local).isolatedCopy(), remote = toString(remote).isolatedCopy()](auto& backend) mutable {
            backend.m_transportHub->setSelectedCandidatePair(WTFMove(local), WTFMove(remote));
        });
    });
}

std::pair<std::unique_ptr<RTCSctpTransportBackend>, std::optional<double>> RustPeerConnectionBackend::sctpTransport()
{
    auto size = m_connection ? m_connection->sctpMaxMessageSize() : std::nullopt;
    if (!size)
        return { nullptr, std::nullopt };
    std::optional<double> maxMessageSize = static_cast<double>(*size);
    m_transportHub->setSctpNegotiated(maxMessageSize);
    return { makeUnique<RustSctpTransportBackend>(m_transportHub.copyRef()), maxMessageSize };
}

void RustPeerConnectionBackend::iceCandidateGathered(String&& candidate, String&& mid, int mline)
{
    newICECandidate(WTFMove(candidate), WTFMove(mid), mline < 0 ? 0 : static_cast<unsigned short>(mline), { }, descriptionStates());
}

// wkrtc follows the W3C [[NegotiationNeeded]] flag itself and reports each time it is set;
// WebCore asks back with the event's id before firing, and only the newest is current.
void RustPeerConnectionBackend::negotiationNeeded()
{
    markAsNeedingNegotiation(++m_negotiationNeededEventId);
}

bool RustPeerConnectionBackend::isNegotiationNeeded(uint32_t eventId) const
{
    return eventId == m_negotiationNeededEventId;
}

void RustPeerConnectionBackend::gatherDecoderImplementationName(Function<void(String&&)>&& callback)
{
    callback("GStreamer (wkrtc)"_s);
}

// wkrtc's W3C report (JSON) becomes WebCore's RTCStatsReport on the main thread; the promise
// is always released there.
void RustPeerConnectionBackend::collectStats(Ref<DeferredPromise>&& promise, RustStatsSelection selection, String&& mid)
{
    if (!m_connection) {
        promise->reject(noConnection());
        return;
    }
    MainThreadFunction<Function<void(const String&, const wkrtc::Error&)>> complete { [promise = WTFMove(promise), selection, mid = WTFMove(mid)](const String& json, const wkrtc::Error& error) {
        if (error) {
            promise->reject(toException(error));
            return;
        }
        auto report = makeRustStatsReport(json, selection, mid);
        if (!report) {
            promise->reject(Exception { ExceptionCode::OperationError, "wkrtc returned an unreadable stats report"_s });
            return;
        }
        promise->resolve<IDLInterface<RTCStatsReport>>(report.releaseNonNull());
    } };
    m_connection->getStats([complete](std::string json, wkrtc::Error error) mutable {
        callOnMainThread([complete, json = toString(json).isolatedCopy(), error = WTFMove(error)]() mutable {
            if (auto f = complete.take())
                f(json, error);
        });
    });
}

void RustPeerConnectionBackend::getStats(Ref<DeferredPromise>&& promise)
{
    collectStats(WTFMove(promise), RustStatsSelection::All, { });
}

// The selection starts at the RTP stream of the transceiver that owns the sender or receiver.
String RustPeerConnectionBackend::midOf(const Function<bool(RTCRtpTransceiver&)>& owns) const
{
    for (auto& transceiver : m_peerConnection->currentTransceivers()) {
        if (owns(*transceiver))
            return transceiver->mid();
    }
    return { };
}

void RustPeerConnectionBackend::getStats(RTCRtpSender& sender, Ref<DeferredPromise>&& promise)
{
    collectStats(WTFMove(promise), RustStatsSelection::Sender, midOf([&](auto& transceiver) { return &transceiver.sender() == &sender; }));
}

void RustPeerConnectionBackend::getStats(RTCRtpReceiver& receiver, Ref<DeferredPromise>&& promise)
{
    collectStats(WTFMove(promise), RustStatsSelection::Receiver, midOf([&](auto& transceiver) { return &transceiver.receiver() == &receiver; }));
}

// Used by WebKit's mock backend tests only.
void RustPeerConnectionBackend::emulatePlatformEvent(const String&)
{
}

std::optional<bool> RustPeerConnectionBackend::canTrickleIceCandidates() const
{
    if (!m_connection)
        return std::nullopt;
    return m_connection->canTrickleIceCandidates();
}

bool RustPeerConnectionBackend::isLocalDescriptionSet() const
{
    return m_connection && !m_connection->localDescription().empty();
}

// ---- RTP media -------------------------------------------------------------
// wkrtc owns the W3C rules (sender reuse, directions, negotiationneeded); this adapter mirrors
// wkrtc's transceivers as WebCore objects, one RTCRtpTransceiver per wkrtc transceiver.

static std::vector<std::string> streamIdsOf(const FixedVector<String>& ids)
{
    std::vector<std::string> result;
    for (auto& id : ids)
        result.push_back(toStdString(id));
    return result;
}

static std::vector<std::string> streamIdsOf(const Vector<Ref<MediaStream>>& streams)
{
    std::vector<std::string> result;
    for (auto& stream : streams)
        result.push_back(toStdString(stream->id()));
    return result;
}

RustRtpTransceiverBackend* RustPeerConnectionBackend::backendOf(RTCRtpTransceiver& transceiver)
{
    // Every transceiver of a connection with this backend is made by createTransceiver.
    return static_cast<RustRtpTransceiverBackend*>(transceiver.backend());
}

RefPtr<RTCRtpTransceiver> RustPeerConnectionBackend::existingTransceiver(std::uintptr_t key) const
{
    for (auto& transceiver : m_peerConnection->currentTransceivers()) {
        if (auto* backend = backendOf(*transceiver); backend && backend->transceiver()->key() == key)
            return transceiver;
    }
    return nullptr;
}

Ref<RTCRtpTransceiver> RustPeerConnectionBackend::createTransceiver(std::unique_ptr<wkrtc::Transceiver>&& wkrtcTransceiver, MediaStreamTrack* localTrack, std::unique_ptr<RustOutgoingSource>&& source)
{
    std::shared_ptr<wkrtc::Transceiver> shared = WTFMove(wkrtcTransceiver);
    Ref peerConnection = m_peerConnection.get();
    auto& document = downcast<Document>(*peerConnection->scriptExecutionContext());

    auto senderBackend = RustRtpSenderBackend::create(shared, m_transportHub.copyRef());
    senderBackend->setSource(WTFMove(source));
    auto kind = toString(shared->kind());
    auto sender = localTrack ? RTCRtpSender::create(peerConnection, Ref { *localTrack }, WTFMove(senderBackend)) : RTCRtpSender::create(peerConnection, String { kind }, WTFMove(senderBackend));

    auto incoming = RustIncomingSource::create(shared->receiverTrack(), makeString("remote "_s, kind));
    auto trackId = incoming->persistentID();
    auto remoteTrack = MediaStreamTrack::create(document, MediaStreamTrackPrivate::create(document.logger(), WTFMove(incoming), WTFMove(trackId)));
    auto receiver = RTCRtpReceiver::create(*this, WTFMove(remoteTrack), makeUnique<RustRtpReceiverBackend>(shared, m_transportHub.copyRef()));

    auto transceiver = RTCRtpTransceiver::create(WTFMove(sender), WTFMove(receiver), makeUnique<RustRtpTransceiverBackend>(WTFMove(shared)));
    peerConnection->addInternalTransceiver(transceiver.copyRef());
    return transceiver;
}

ExceptionOr<Ref<RTCRtpSender>> RustPeerConnectionBackend::addTrack(MediaStreamTrack& track, FixedVector<String>&& streamIds)
{
    if (!m_connection)
        return noConnection();
    wkrtc::Error error;
    auto source = RustOutgoingSource::create(track, error);
    if (!source)
        return toException(error);
    auto transceiver = m_connection->addTrack(source->wkrtcTrack(), streamIdsOf(streamIds), error);
    if (!transceiver)
        return toException(error);

    // wkrtc reused a transceiver that never sent (W3C addTrack step 7): so does WebCore.
    if (auto existing = existingTransceiver(transceiver->key())) {
        Ref sender = existing->sender();
        static_cast<RustRtpSenderBackend*>(sender->backend())->setSource(WTFMove(source));
        sender->setTrack(Ref { track });
        sender->setMediaStreamIds(streamIds);
        return sender;
    }
    auto created = createTransceiver(WTFMove(transceiver), &track, WTFMove(source));
    created->sender().setMediaStreamIds(streamIds);
    return Ref { created->sender() };
}

void RustPeerConnectionBackend::removeTrack(RTCRtpSender& sender)
{
    if (!m_connection)
        return;
    for (auto& transceiver : m_peerConnection->currentTransceivers()) {
        if (&transceiver->sender() != &sender)
            continue;
        if (auto* backend = backendOf(*transceiver))
            m_connection->removeTrack(*backend->transceiver());
        static_cast<RustRtpSenderBackend*>(sender.backend())->clearSource();
        return;
    }
}

ExceptionOr<Ref<RTCRtpTransceiver>> RustPeerConnectionBackend::addTransceiver(const String& kind, const RTCRtpTransceiverInit& init, IgnoreNegotiationNeededFlag)
{
    if (!m_connection)
        return noConnection();
    wkrtc::Error error;
    auto transceiver = m_connection->addTransceiver(toStdString(kind), nameOf(directions, init.direction), streamIdsOf(init.streams), error);
    if (!transceiver)
        return toException(error);
    return createTransceiver(WTFMove(transceiver), nullptr, nullptr);
}

ExceptionOr<Ref<RTCRtpTransceiver>> RustPeerConnectionBackend::addTransceiver(Ref<MediaStreamTrack>&& track, const RTCRtpTransceiverInit& init)
{
    if (!m_connection)
        return noConnection();
    wkrtc::Error error;
    auto source = RustOutgoingSource::create(track, error);
    if (!source)
        return toException(error);
    auto transceiver = m_connection->addTransceiver(source->wkrtcTrack(), nameOf(directions, init.direction), streamIdsOf(init.streams), error);
    if (!transceiver)
        return toException(error);
    return createTransceiver(WTFMove(transceiver), track.ptr(), WTFMove(source));
}

// After a description is applied: transceivers wkrtc made for the peer's new media sections
// get their WebCore objects, and receivers whose peer sends unmute.
void RustPeerConnectionBackend::collectTransceivers()
{
    if (!m_connection)
        return;
    for (auto& transceiver : m_connection->transceivers()) {
        RefPtr webcoreTransceiver = existingTransceiver(transceiver->key());
        bool receiving = transceiver->receiving();
        if (!webcoreTransceiver)
            webcoreTransceiver = createTransceiver(WTFMove(transceiver), nullptr, nullptr);
        auto& source = webcoreTransceiver->receiver().track().privateTrack().source();
        if (source.muted() == receiving)
            source.setMuted(!receiving);
    }
}

Ref<MediaStream> RustPeerConnectionBackend::remoteStream(const String& id)
{
    return m_remoteStreams.ensure(id, [&] {
        auto& document = downcast<Document>(*m_peerConnection->scriptExecutionContext());
        return MediaStream::create(document, MediaStreamPrivate::create(document.logger(), { }, String { id }));
    }).iterator->value;
}

// The W3C [[FiredDirection]] of each negotiated transceiver and the streams its peer announced,
// from which WebCore fires track events and updates the remote streams.
PeerConnectionBackend::TransceiverStates RustPeerConnectionBackend::transceiverStates()
{
    TransceiverStates states;
    if (!m_connection)
        return states;
    for (auto& transceiver : m_connection->transceivers()) {
        auto mid = transceiver->mid();
        if (mid.empty())
            continue;
        TransceiverState state;
        state.mid = toString(mid);
        bool sending = false;
        if (auto direction = valueNamed(directions, transceiver->direction()))
            sending = *direction == RTCRtpTransceiverDirection::Sendrecv || *direction == RTCRtpTransceiverDirection::Sendonly;
        if (transceiver->receiving()) {
            for (auto& id : transceiver->receiverStreamIds())
                state.receiverStreams.append(remoteStream(toString(id)));
            state.firedDirection = sending ? RTCRtpTransceiverDirection::Sendrecv : RTCRtpTransceiverDirection::Recvonly;
        } else
            state.firedDirection = sending ? RTCRtpTransceiverDirection::Sendonly : RTCRtpTransceiverDirection::Inactive;
        states.append(WTFMove(state));
    }
    return states;
}

} // namespace WebCore

#endif // ENABLE(WEB_RTC) && USE(RUST_WEBRTC)
