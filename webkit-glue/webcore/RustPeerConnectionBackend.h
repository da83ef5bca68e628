// SPDX-License-Identifier: MPL-2.0
// WebCore's PeerConnectionBackend on a wkrtc peer connection. Compiled inside WebCore (added
// by wkrtc's patch series, which makes PeerConnectionBackend::create point here). wkrtc's
// callbacks arrive on wkrtc threads; each one hops to the main thread and finds this backend
// through a WeakPtr before any WebCore upcall.
#pragma once

#if ENABLE(WEB_RTC) && USE(RUST_WEBRTC)

#include "PeerConnectionBackend.h"
#include <memory>
#include <string>
#include <wkrtc/wkrtc.h>
#include <wtf/HashMap.h>
#include <wtf/TZoneMalloc.h>

namespace WebCore {

class Exception;
class MediaStream;
class RustRtpTransceiverBackend;
class RustTransportHub;
enum class RustStatsSelection : uint8_t;
class RTCSctpTransportBackend;

class RustPeerConnectionBackend final : public PeerConnectionBackend {
    WTF_MAKE_TZONE_ALLOCATED(RustPeerConnectionBackend);
public:
    explicit RustPeerConnectionBackend(RTCPeerConnection&);
    ~RustPeerConnectionBackend();

    // A W3C error from wkrtc as WebCore's exception of the same name.
    static Exception toException(const wkrtc::Error&);

    // RTCPeerConnection.generateCertificate() (PeerConnectionBackend::generateCertificate
    // calls it, patch 0002): an ECDSA P-256 or RSA certificate made by wkrtc.
    static void generateCertificate(Document&, const CertificateInformation&, DOMPromiseDeferred<IDLInterface<RTCCertificate>>&&);

private:
    // PeerConnectionBackend
    void doCreateOffer(RTCOfferOptions&&) final;
    void doCreateAnswer(RTCAnswerOptions&&) final;
    void doSetLocalDescription(const RTCSessionDescription*) final;
    void doSetRemoteDescription(const RTCSessionDescription&) final;
    void doAddIceCandidate(RTCIceCandidate&, AddIceCandidateCallback&&) final;
    void doStop() final;
    std::unique_ptr<RTCDataChannelHandler> createDataChannelHandler(const String&, const RTCDataChannelInit&) final;
    void close() final;
    void restartIce() final;
    bool setConfiguration(MediaEndpointConfiguration&&) final;
    void gatherDecoderImplementationName(Function<void(String&&)>&&) final;
    void getStats(Ref<DeferredPromise>&&) final;
    void getStats(RTCRtpSender&, Ref<DeferredPromise>&&) final;
    void getStats(RTCRtpReceiver&, Ref<DeferredPromise>&&) final;
    bool isNegotiationNeeded(uint32_t) const final;
    void emulatePlatformEvent(const String&) final;
    std::optional<bool> canTrickleIceCandidates() const final;
    bool isLocalDescriptionSet() const final;
    ExceptionOr<Ref<RTCRtpSender>> addTrack(MediaStreamTrack&, FixedVector<String>&&) final;
    void removeTrack(RTCRtpSender&) final;
    ExceptionOr<Ref<RTCRtpTransceiver>> addTransceiver(const String&, const RTCRtpTransceiverInit&, IgnoreNegotiationNeededFlag) final;
    ExceptionOr<Ref<RTCRtpTransceiver>> addTransceiver(Ref<MediaStreamTrack>&&, const RTCRtpTransceiverInit&) final;
    void collectTransceivers() final;

    // WebCore's transceiver, sender and receiver over a wkrtc transceiver; `source` feeds the
    // sender with the local track's frames.
    Ref<RTCRtpTransceiver> createTransceiver(std::unique_ptr<wkrtc::Transceiver>&&, MediaStreamTrack* localTrack, std::unique_ptr<class RustOutgoingSource>&&);
    RefPtr<RTCRtpTransceiver> existingTransceiver(std::uintptr_t key) const;
    static RustRtpTransceiverBackend* backendOf(RTCRtpTransceiver&);
    TransceiverStates transceiverStates();
    Ref<MediaStream> remoteStream(const String& id);

    // wkrtc's events, on the main thread.
    void iceConnectionStateChanged(const std::string&);
    void iceGatheringStateChangedTo(const std::string&);
    void iceCandidateGathered(String&& candidate, String&& mid, int mline);
    void negotiationNeeded();
    void dataChannelOpenedByPeer(std::unique_ptr<wkrtc::DataChannel>&&);
    void dtlsStateChanged(const std::string&);
    // After a description is applied: the SCTP transport, once a data section is negotiated.
    std::pair<std::unique_ptr<RTCSctpTransportBackend>, std::optional<double>> sctpTransport();

    wkrtc::PeerConnectionCallbacks makeCallbacks();
    enum class Side : uint8_t { Offer, Answer, Local, Remote };
    // Completions of wkrtc's operations, run on the main thread.
    wkrtc::DescriptionCallback descriptionCreated(Side);
    wkrtc::DoneCallback descriptionApplied(Side);
    DescriptionStates descriptionStates() const;
    void collectStats(Ref<DeferredPromise>&&, RustStatsSelection, String&& mid);
    String midOf(const Function<bool(RTCRtpTransceiver&)>& owns) const;

    // Made by the first setConfiguration (RTCPeerConnection's constructor); until then every
    // operation fails with InvalidStateError.
    std::unique_ptr<wkrtc::PeerConnection> m_connection;
    wkrtc::Configuration m_configuration;
    uint32_t m_negotiationNeededEventId { 0 };
    // The connection's one ICE, DTLS and SCTP transport, as WebCore's transport objects see it.
    const Ref<RustTransportHub> m_transportHub;
    // The peer's streams by id, for track events (msid).
    HashMap<String, Ref<MediaStream>> m_remoteStreams;
};

} // namespace WebCore

#endif // ENABLE(WEB_RTC) && USE(RUST_WEBRTC)
