// SPDX-License-Identifier: MPL-2.0
// What wkrtc's WebCore adapters share: strings across the bridge, and the W3C names wkrtc
// gives its states and types mapped to WebCore's enums, each table written once.
#pragma once

#if ENABLE(WEB_RTC) && USE(RUST_WEBRTC)

#include "RTCDtlsTransportState.h"
#include "RTCIceConnectionState.h"
#include "RTCIceGatheringState.h"
#include "RTCIceTransportState.h"
#include "RTCRtpTransceiverDirection.h"
#include "RTCSdpType.h"
#include "RTCSignalingState.h"
#include <optional>
#include <span>
#include <string>
#include <memory>
#include <wtf/MainThread.h>
#include <wtf/text/CString.h>
#include <wtf/text/WTFString.h>

namespace WebCore::RustGlue {

inline String toString(const std::string& s)
{
    return String::fromUTF8(std::span(s.data(), s.size()));
}

inline std::string toStdString(const String& s)
{
    auto utf8 = s.utf8();
    return std::string(utf8.data(), utf8.length());
}

// Carries a main-thread WTF::Function through wkrtc's copyable std::function callbacks:
// whichever thread drops the last copy, the function itself is destroyed on the main thread.
template<typename Function>
class MainThreadFunction {
public:
    explicit MainThreadFunction(Function&& function)
        : m_holder(std::make_shared<Holder>(WTFMove(function)))
    {
    }

    // On the main thread: the function, once (null after).
    Function take() { return std::exchange(m_holder->function, nullptr); }

private:
    struct Holder {
        explicit Holder(Function&& function)
            : function(WTFMove(function))
        {
        }
        ~Holder()
        {
            if (function && !isMainThread())
                callOnMainThread([function = WTFMove(function)] { });
        }
        Function function;
    };
    std::shared_ptr<Holder> m_holder;
};

template<typename Enum> struct Named {
    const char* name;
    Enum value;
};

template<typename Enum, size_t N>
std::optional<Enum> valueNamed(const Named<Enum> (&table)[N], const std::string& name)
{
    for (auto& entry : table) {
        if (name == entry.name)
            return entry.value;
    }
    return std::nullopt;
}

template<typename Enum, size_t N>
const char* nameOf(const Named<Enum> (&table)[N], Enum value)
{
    for (auto& entry : table) {
        if (entry.value == value)
            return entry.name;
    }
    return "";
}

inline constexpr Named<RTCSdpType> sdpTypes[] = {
    { "offer", RTCSdpType::Offer },
    { "answer", RTCSdpType::Answer },
    { "pranswer", RTCSdpType::Pranswer },
    { "rollback", RTCSdpType::Rollback },
};

inline constexpr Named<RTCSignalingState> signalingStates[] = {
    { "stable", RTCSignalingState::Stable },
    { "have-local-offer", RTCSignalingState::HaveLocalOffer },
    { "have-remote-offer", RTCSignalingState::HaveRemoteOffer },
    { "have-local-pranswer", RTCSignalingState::HaveLocalPranswer },
    { "have-remote-pranswer", RTCSignalingState::HaveRemotePranswer },
    { "closed", RTCSignalingState::Closed },
};

inline constexpr Named<RTCIceConnectionState> iceConnectionStates[] = {
    { "new", RTCIceConnectionState::New },
    { "checking", RTCIceConnectionState::Checking },
    { "connected", RTCIceConnectionState::Connected },
    { "completed", RTCIceConnectionState::Completed },
    { "failed", RTCIceConnectionState::Failed },
    { "disconnected", RTCIceConnectionState::Disconnected },
    { "closed", RTCIceConnectionState::Closed },
};

// With everything bundled, the ICE transport's state is the connection's ICE state.
inline constexpr Named<RTCIceTransportState> iceTransportStates[] = {
    { "new", RTCIceTransportState::New },
    { "checking", RTCIceTransportState::Checking },
    { "connected", RTCIceTransportState::Connected },
    { "completed", RTCIceTransportState::Completed },
    { "failed", RTCIceTransportState::Failed },
    { "disconnected", RTCIceTransportState::Disconnected },
    { "closed", RTCIceTransportState::Closed },
};

inline constexpr Named<RTCIceGatheringState> iceGatheringStates[] = {
    { "new", RTCIceGatheringState::New },
    { "gathering", RTCIceGatheringState::Gathering },
    { "complete", RTCIceGatheringState::Complete },
};

inline constexpr Named<RTCDtlsTransportState> dtlsTransportStates[] = {
    { "new", RTCDtlsTransportState::New },
    { "connecting", RTCDtlsTransportState::Connecting },
    { "connected", RTCDtlsTransportState::Connected },
    { "closed", RTCDtlsTransportState::Closed },
    { "failed", RTCDtlsTransportState::Failed },
};

// wkrtc's "stopped" has no WebCore value: WebCore keeps stopping in its own state.
inline constexpr Named<RTCRtpTransceiverDirection> directions[] = {
    { "sendrecv", RTCRtpTransceiverDirection::Sendrecv },
    { "sendonly", RTCRtpTransceiverDirection::Sendonly },
    { "recvonly", RTCRtpTransceiverDirection::Recvonly },
    { "inactive", RTCRtpTransceiverDirection::Inactive },
};

} // namespace WebCore::RustGlue

#endif // ENABLE(WEB_RTC) && USE(RUST_WEBRTC)
