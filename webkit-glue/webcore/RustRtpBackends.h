// SPDX-License-Identifier: MPL-2.0
// WebCore's RTP backends over one wkrtc transceiver: RTCRtpTransceiverBackend,
// RTCRtpSenderBackend (with the local track's frames pushed into wkrtc) and
// RTCRtpReceiverBackend. The three share the wkrtc transceiver. Main thread only.
#pragma once

#if ENABLE(WEB_RTC) && USE(RUST_WEBRTC)

#include "RTCDTMFSenderBackend.h"
#include "RTCRtpReceiverBackend.h"
#include "RTCRtpSenderBackend.h"
#include "RTCRtpTransceiverBackend.h"
#include "RTCRtpTransformBackend.h"
#include <memory>
#include <wkrtc/wkrtc.h>
#include <wtf/RefCounted.h>
#include <wtf/TZoneMalloc.h>

namespace WebCore {

class RustOutgoingSource;
class RustTransportHub;

class RustRtpTransceiverBackend final : public RTCRtpTransceiverBackend {
    WTF_MAKE_TZONE_ALLOCATED(RustRtpTransceiverBackend);
public:
    explicit RustRtpTransceiverBackend(std::shared_ptr<wkrtc::Transceiver>);

    const std::shared_ptr<wkrtc::Transceiver>& transceiver() const { return m_transceiver; }

private:
    RTCRtpTransceiverDirection direction() const final;
    std::optional<RTCRtpTransceiverDirection> currentDirection() const final;
    void setDirection(RTCRtpTransceiverDirection) final;
    String mid() final;
    void stop() final;
    bool stopped() const final;
    ExceptionOr<void> setCodecPreferences(const Vector<RTCRtpCodecCapability>&) final;

    std::shared_ptr<wkrtc::Transceiver> m_transceiver;
};

class RustRtpSenderBackend final : public RTCRtpSenderBackend, public RefCounted<RustRtpSenderBackend> {
    WTF_MAKE_TZONE_ALLOCATED(RustRtpSenderBackend);
public:
    static Ref<RustRtpSenderBackend> create(std::shared_ptr<wkrtc::Transceiver> transceiver, Ref<RustTransportHub>&& hub) { return adoptRef(*new RustRtpSenderBackend(WTFMove(transceiver), WTFMove(hub))); }
    ~RustRtpSenderBackend();

    void ref() const final { RefCounted::ref(); }
    void deref() const final { RefCounted::deref(); }

    // The frames of `source`'s track go to wkrtc from now on (addTrack).
    void setSource(std::unique_ptr<RustOutgoingSource>&&);
    void clearSource();

private:
    RustRtpSenderBackend(std::shared_ptr<wkrtc::Transceiver>, Ref<RustTransportHub>&&);

    bool replaceTrack(RTCRtpSender&, MediaStreamTrack*) final;
    RTCRtpSendParameters getParameters() const final;
    void setParameters(const RTCRtpSendParameters&, DOMPromiseDeferred<void>&&) final;
    std::unique_ptr<RTCDTMFSenderBackend> createDTMFBackend() final;
    Ref<RTCRtpTransformBackend> rtcRtpTransformBackend() final;
    void setMediaStreamIds(const FixedVector<String>&) final;
    std::unique_ptr<RTCDtlsTransportBackend> dtlsTransportBackend() final;

    std::shared_ptr<wkrtc::Transceiver> m_transceiver;
    Ref<RustTransportHub> m_hub;
    std::unique_ptr<RustOutgoingSource> m_source;
    RefPtr<RTCRtpTransformBackend> m_transformBackend;
};

class RustRtpReceiverBackend final : public RTCRtpReceiverBackend {
    WTF_MAKE_TZONE_ALLOCATED(RustRtpReceiverBackend);
public:
    RustRtpReceiverBackend(std::shared_ptr<wkrtc::Transceiver>, Ref<RustTransportHub>&&);

private:
    Ref<RTCRtpTransformBackend> rtcRtpTransformBackend() final;
    std::unique_ptr<RTCDtlsTransportBackend> dtlsTransportBackend() final;

    std::shared_ptr<wkrtc::Transceiver> m_transceiver;
    Ref<RustTransportHub> m_hub;
    RefPtr<RTCRtpTransformBackend> m_transformBackend;
};

// Encoded-frame transforms are not supported: frames are never handed to the page's
// transform, and media flows untransformed.
class RustRtpTransformBackend final : public RTCRtpTransformBackend {
public:
    static Ref<RustRtpTransformBackend> create(MediaType mediaType, Side side) { return adoptRef(*new RustRtpTransformBackend(mediaType, side)); }

private:
    RustRtpTransformBackend(MediaType mediaType, Side side)
        : m_mediaType(mediaType)
        , m_side(side)
    {
    }
    void setTransformableFrameCallback(Callback&&) final { }
    void clearTransformableFrameCallback() final { }
    void processTransformedFrame(RTCRtpTransformableFrame&) final { }
    MediaType mediaType() const final { return m_mediaType; }
    Side side() const final { return m_side; }
    bool requestKeyFrame(const String&) final { return false; }

    MediaType m_mediaType;
    Side m_side;
};

// RTCDTMFSender's backend: WebCore runs the W3C tone buffer; each tone is played by wkrtc
// as RFC 4733 events in the audio stream, and its end comes back on the main thread.
class RustDTMFSenderBackend final : public RTCDTMFSenderBackend {
    WTF_MAKE_TZONE_ALLOCATED(RustDTMFSenderBackend);
public:
    explicit RustDTMFSenderBackend(std::shared_ptr<wkrtc::Transceiver>);
    ~RustDTMFSenderBackend();

private:
    bool canInsertDTMF() final;
    void playTone(const char, size_t duration, size_t interToneGap) final;
    void onTonePlayed(Function<void()>&&) final;
    String tones() const final { return { }; }
    size_t duration() const final { return m_duration; }
    size_t interToneGap() const final { return m_interToneGap; }

    std::shared_ptr<wkrtc::Transceiver> m_transceiver;
    // Shared with the callbacks in flight: cleared when this backend goes away.
    std::shared_ptr<Function<void()>> m_onTonePlayed;
    size_t m_duration { 0 };
    size_t m_interToneGap { 0 };
};

} // namespace WebCore

#endif // ENABLE(WEB_RTC) && USE(RUST_WEBRTC)
