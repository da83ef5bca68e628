// SPDX-License-Identifier: MPL-2.0
// WebCore's RTCDataChannelHandler on a wkrtc data channel. Compiled inside WebCore (added by
// wkrtc's patch series); wkrtc's callbacks arrive on wkrtc threads and are handed to the
// channel's script execution context (a worker) or to the main thread before touching the
// client.
#pragma once

#if ENABLE(WEB_RTC) && USE(RUST_WEBRTC)

#include "RTCDataChannelHandler.h"
#include "RTCDataChannelHandlerClient.h"
#include <memory>
#include <wkrtc/wkrtc.h>
#include <wtf/Function.h>
#include <wtf/TZoneMalloc.h>
#include <wtf/WeakPtr.h>

namespace WebCore {

class RustDataChannelHandler final : public RTCDataChannelHandler {
    WTF_MAKE_TZONE_ALLOCATED(RustDataChannelHandler);
public:
    explicit RustDataChannelHandler(std::unique_ptr<wkrtc::DataChannel>&&);
    ~RustDataChannelHandler();

private:
    // RTCDataChannelHandler
    void setClient(RTCDataChannelHandlerClient&, std::optional<ScriptExecutionContextIdentifier>) final;
    bool sendStringData(const CString&) final;
    bool sendRawData(std::span<const uint8_t>) final;
    void close() final;

    // Shared with the callbacks, which may outlive this handler by one delivery.
    std::shared_ptr<wkrtc::DataChannel> m_channel;
};

} // namespace WebCore

#endif // ENABLE(WEB_RTC) && USE(RUST_WEBRTC)
