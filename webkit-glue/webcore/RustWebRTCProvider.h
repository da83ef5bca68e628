// SPDX-License-Identifier: MPL-2.0
// WebCore's WebRTCProvider with wkrtc's RTP capabilities: what RTCRtpSender and
// RTCRtpReceiver.getCapabilities() report, from the GStreamer elements wkrtc finds installed.
// WebKit's web process uses it as its LibWebRTCProvider when USE(RUST_WEBRTC) is on.
#pragma once

#if ENABLE(WEB_RTC) && USE(RUST_WEBRTC)

#include "WebRTCProvider.h"
#include <wtf/TZoneMalloc.h>

namespace WebCore {

class WEBCORE_EXPORT RustWebRTCProvider : public WebRTCProvider {
    WTF_MAKE_TZONE_ALLOCATED_EXPORT(RustWebRTCProvider, WEBCORE_EXPORT);
public:
    RustWebRTCProvider() = default;

    std::optional<RTCRtpCapabilities> receiverCapabilities(const String& kind) final;
    std::optional<RTCRtpCapabilities> senderCapabilities(const String& kind) final;
};

} // namespace WebCore

#endif // ENABLE(WEB_RTC) && USE(RUST_WEBRTC)
