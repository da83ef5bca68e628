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
#include <wtf/TZoneMalloc.h>

namespace WebCore {

class Exception;

class RustPeerConnectionBackend final : public PeerConnectionBackend {
    WTF_MAKE_TZONE_ALLOCATED(RustPeerConnectionBackend);
public:
    explicit RustPeerConnectionBackend(RTCPeerConnection&);
    ~RustPeerConnectionBackend();

    // A W3C error from wkrtc as WebCore's exception of the same name.
    static Exception toException(const wkrtc::Error&);

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

    // wkrtc's events, on the main thread.
    void iceConnectionStateChanged(const std::string&);
    void iceGatheringStateChangedTo(const std::string&);
    void iceCandidateGathered(String&& candidate, String&& mid, int mline);
    void negotiationNeeded();
    void dataChannelOpenedByPeer(std::unique_ptr<wkrtc::DataChannel>&&);

    wkrtc::PeerConnectionCallbacks makeCallbacks();
    DescriptionStates descriptionStates() const;

    // Made by the first setConfiguration (RTCPeerConnection's constructor); until then every
    // operation fails with InvalidStateError.
    std::unique_ptr<wkrtc::PeerConnection> m_connection;
    wkrtc::Configuration m_configuration;
    uint32_t m_negotiationNeededEventId { 0 };
};

} // namespace WebCore

#endif // ENABLE(WEB_RTC) && USE(RUST_WEBRTC)
