// SPDX-License-Identifier: MPL-2.0
#include "config.h"
#include "RustDataChannelHandler.h"

#if ENABLE(WEB_RTC) && USE(RUST_WEBRTC)

#include "RTCDataChannelState.h"
#include "RTCError.h"
#include "RustGlue.h"
#include "ScriptExecutionContext.h"
#include <wtf/MainThread.h>
#include <wtf/TZoneMallocInlines.h>
#include <wtf/text/CString.h>

namespace WebCore {

WTF_MAKE_TZONE_ALLOCATED_IMPL(RustDataChannelHandler);

RustDataChannelHandler::RustDataChannelHandler(std::unique_ptr<wkrtc::DataChannel>&& channel)
    : m_channel(std::move(channel))
{
}

RustDataChannelHandler::~RustDataChannelHandler() = default;

// Runs `task` where the client lives: its worker's context, or the main thread.
static void postToClient(std::optional<ScriptExecutionContextIdentifier> context, Function<void()>&& task)
{
    if (!context) {
        callOnMainThread(WTFMove(task));
        return;
    }
    ScriptExecutionContext::postTaskTo(*context, [task = WTFMove(task)](auto&) mutable {
        task();
    });
}

void RustDataChannelHandler::setClient(RTCDataChannelHandlerClient& client, std::optional<ScriptExecutionContextIdentifier> context)
{
    WeakPtr weakClient { client };
    std::weak_ptr<wkrtc::DataChannel> weakChannel = m_channel;
    auto deliver = [weakClient, context](Function<void(RTCDataChannelHandlerClient&)>&& f) {
        postToClient(context, [weakClient, f = WTFMove(f)]() mutable {
            if (auto* client = weakClient.get())
                f(*client);
        });
    };

    wkrtc::DataChannelCallbacks callbacks;
    callbacks.onOpen = [deliver] {
        deliver([](auto& client) { client.didChangeReadyState(RTCDataChannelState::Open); });
    };
    callbacks.onText = [deliver](std::string text) {
        deliver([text = RustGlue::toString(text)](auto& client) { client.didReceiveStringData(text); });
    };
    callbacks.onBinary = [deliver](std::vector<std::uint8_t> data) {
        deliver([data = WTFMove(data)](auto& client) { client.didReceiveRawData(std::span(data.data(), data.size())); });
    };
    callbacks.onBufferedAmountLow = [deliver, weakChannel] {
        auto channel = weakChannel.lock();
        size_t amount = channel ? static_cast<size_t>(channel->bufferedAmount()) : 0;
        deliver([amount](auto& client) { client.bufferedAmountIsDecreasing(amount); });
    };
    callbacks.onClose = [deliver] {
        deliver([](auto& client) { client.didChangeReadyState(RTCDataChannelState::Closed); });
    };
    callbacks.onError = [deliver](wkrtc::Error error) {
        deliver([message = RustGlue::toString(error.message)](auto& client) mutable {
            client.didDetectError(RTCError::create(RTCErrorDetailType::DataChannelFailure, WTFMove(message)));
        });
    };
    m_channel->setCallbacks(std::move(callbacks));
}

bool RustDataChannelHandler::sendStringData(const CString& text)
{
    return !m_channel->send(std::string_view(text.data(), text.length()));
}

bool RustDataChannelHandler::sendRawData(std::span<const uint8_t> data)
{
    return !m_channel->send(data.data(), data.size());
}

void RustDataChannelHandler::close()
{
    m_channel->close();
}

} // namespace WebCore

#endif // ENABLE(WEB_RTC) && USE(RUST_WEBRTC)
