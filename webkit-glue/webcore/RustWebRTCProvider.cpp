// SPDX-License-Identifier: MPL-2.0
#include "config.h"
#include "RustWebRTCProvider.h"

#if ENABLE(WEB_RTC) && USE(RUST_WEBRTC)

#include "RTCRtpCapabilities.h"
#include <wkrtc/wkrtc.h>
#include "RustGlue.h"
#include <wtf/TZoneMallocInlines.h>
#include <wtf/text/CString.h>

namespace WebCore {

using RustGlue::toString;

WTF_MAKE_TZONE_ALLOCATED_IMPL(RustWebRTCProvider);

UniqueRef<WebRTCProvider> WebRTCProvider::create()
{
    return makeUniqueRef<RustWebRTCProvider>();
}

bool WebRTCProvider::webRTCAvailable()
{
    return true;
}

static std::optional<RTCRtpCapabilities> toCapabilities(std::optional<wkrtc::Capabilities>&& capabilities)
{
    if (!capabilities)
        return std::nullopt;
    RTCRtpCapabilities result;
    for (auto& codec : capabilities->codecs) {
        RTCRtpCodecCapability capability;
        capability.mimeType = toString(codec.mimeType);
        capability.clockRate = codec.clockRate;
        if (codec.channels)
            capability.channels = static_cast<unsigned short>(codec.channels);
        capability.sdpFmtpLine = toString(codec.sdpFmtpLine);
        result.codecs.append(WTFMove(capability));
    }
    for (auto& uri : capabilities->headerExtensions)
        result.headerExtensions.append({ toString(uri) });
    return result;
}

std::optional<RTCRtpCapabilities> RustWebRTCProvider::receiverCapabilities(const String& kind)
{
    return toCapabilities(wkrtc::receiverCapabilities(RustGlue::toStdString(kind)));
}

std::optional<RTCRtpCapabilities> RustWebRTCProvider::senderCapabilities(const String& kind)
{
    return toCapabilities(wkrtc::senderCapabilities(RustGlue::toStdString(kind)));
}

} // namespace WebCore

#endif // ENABLE(WEB_RTC) && USE(RUST_WEBRTC)
