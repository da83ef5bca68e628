// SPDX-License-Identifier: MPL-2.0
#include "config.h"
#include "RustTransports.h"

#if ENABLE(WEB_RTC) && USE(RUST_WEBRTC)

#include "RTCIceCandidate.h"
#include <JavaScriptCore/ArrayBuffer.h>
#include <wtf/TZoneMallocInlines.h>

namespace WebCore {

WTF_MAKE_TZONE_ALLOCATED_IMPL(RustIceTransportBackend);
WTF_MAKE_TZONE_ALLOCATED_IMPL(RustDtlsTransportBackend);
WTF_MAKE_TZONE_ALLOCATED_IMPL(RustSctpTransportBackend);

// Calls `f` on every live client; clients may unregister from inside it.
template<typename Client, typename F>
static void forEachClient(Vector<WeakPtr<Client>>& clients, const F& f)
{
    clients.removeAllMatching([](auto& client) { return !client; });
    auto copy = clients;
    for (auto& client : copy) {
        if (client)
            f(*client);
    }
}

template<typename Client>
static void removeFrom(Vector<WeakPtr<Client>>& clients, Client& client)
{
    clients.removeAllMatching([&](auto& item) { return !item || item.get() == &client; });
}

void RustTransportHub::setIceState(RTCIceTransportState state)
{
    if (m_iceState == state)
        return;
    m_iceState = state;
    forEachClient(m_iceClients, [state](auto& client) { client.onStateChanged(state); });
}

void RustTransportHub::setGatheringState(RTCIceGatheringState state)
{
    if (m_gatheringState == state)
        return;
    m_gatheringState = state;
    forEachClient(m_iceClients, [state](auto& client) { client.onGatheringStateChanged(state); });
}

// Each client gets buffers of its own: the page may detach them.
Vector<Ref<JSC::ArrayBuffer>> RustTransportHub::remoteCertificates() const
{
    return m_remoteCertificates.map([](auto& der) { return JSC::ArrayBuffer::create(der.span()); });
}

void RustTransportHub::setDtlsState(RTCDtlsTransportState state, Vector<Vector<uint8_t>>&& certificates)
{
    if (m_dtlsState == state)
        return;
    m_dtlsState = state;
    m_remoteCertificates = WTFMove(certificates);
    forEachClient(m_dtlsClients, [&](auto& client) {
        client.onStateChanged(state, remoteCertificates());
        if (state == RTCDtlsTransportState::Failed)
            client.onError();
    });
    notifySctp();
}

void RustTransportHub::sendSelectedCandidatePair(RTCIceTransportBackendClient& client) const
{
    if (m_selectedLocal.isEmpty())
        return;
    client.onSelectedCandidatePairChanged(RTCIceCandidate::create(m_selectedLocal, emptyString(), 0), RTCIceCandidate::create(m_selectedRemote, emptyString(), 0));
}

void RustTransportHub::setSelectedCandidatePair(String&& local, String&& remote)
{
    if (m_selectedLocal == local && m_selectedRemote == remote)
        return;
    m_selectedLocal = WTFMove(local);
    m_selectedRemote = WTFMove(remote);
    forEachClient(m_iceClients, [this](auto& client) { sendSelectedCandidatePair(client); });
}

void RustTransportHub::setSctpNegotiated(std::optional<double> maxMessageSize)
{
    bool changed = !m_sctpNegotiated || m_maxMessageSize != maxMessageSize;
    m_sctpNegotiated = true;
    m_maxMessageSize = maxMessageSize;
    if (changed)
        notifySctp();
}

RTCSctpTransportState RustTransportHub::sctpState() const
{
    switch (m_dtlsState) {
    case RTCDtlsTransportState::Connected:
        return RTCSctpTransportState::Connected;
    case RTCDtlsTransportState::Closed:
    case RTCDtlsTransportState::Failed:
        return RTCSctpTransportState::Closed;
    case RTCDtlsTransportState::New:
    case RTCDtlsTransportState::Connecting:
        break;
    }
    return RTCSctpTransportState::Connecting;
}

// webrtcbin's SCTP association allows 65535 streams, as the W3C's default.
static constexpr unsigned short maxChannels = 65535;

void RustTransportHub::notifySctp()
{
    if (!m_sctpNegotiated)
        return;
    auto state = sctpState();
    auto maxMessageSize = m_maxMessageSize;
    forEachClient(m_sctpClients, [&](auto& client) { client.onStateChanged(state, maxMessageSize, maxChannels); });
}

void RustTransportHub::addClient(RTCIceTransportBackendClient& client)
{
    m_iceClients.append(client);
    client.onGatheringStateChanged(m_gatheringState);
    client.onStateChanged(m_iceState);
    sendSelectedCandidatePair(client);
}

void RustTransportHub::removeClient(RTCIceTransportBackendClient& client)
{
    removeFrom(m_iceClients, client);
}

void RustTransportHub::addClient(RTCDtlsTransportBackendClient& client)
{
    m_dtlsClients.append(client);
    client.onStateChanged(m_dtlsState, remoteCertificates());
}

void RustTransportHub::removeClient(RTCDtlsTransportBackendClient& client)
{
    removeFrom(m_dtlsClients, client);
}

void RustTransportHub::addClient(RTCSctpTransportBackendClient& client)
{
    m_sctpClients.append(client);
    if (m_sctpNegotiated)
        client.onStateChanged(sctpState(), m_maxMessageSize, maxChannels);
}

void RustTransportHub::removeClient(RTCSctpTransportBackendClient& client)
{
    removeFrom(m_sctpClients, client);
}

} // namespace WebCore

#endif // ENABLE(WEB_RTC) && USE(RUST_WEBRTC)
