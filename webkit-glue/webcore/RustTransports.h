// SPDX-License-Identifier: MPL-2.0
// WebCore's transport backends for a wkrtc connection: RTCIceTransport, RTCDtlsTransport and
// RTCSctpTransport. wkrtc bundles everything on one ICE and one DTLS transport, so a
// connection has one of each; RustTransportHub holds their state and tells every registered
// client. Main thread only.
#pragma once

#if ENABLE(WEB_RTC) && USE(RUST_WEBRTC)

#include "RTCDtlsTransportBackend.h"
#include "RTCDtlsTransportState.h"
#include "RTCIceGatheringState.h"
#include "RTCIceTransportBackend.h"
#include "RTCIceTransportState.h"
#include "RTCSctpTransportBackend.h"
#include "RTCSctpTransportState.h"
#include <wtf/RefCounted.h>
#include <wtf/TZoneMalloc.h>
#include <wtf/WeakPtr.h>

namespace WebCore {

class RustTransportHub : public RefCounted<RustTransportHub> {
public:
    static Ref<RustTransportHub> create() { return adoptRef(*new RustTransportHub); }

    // From the peer connection's events.
    void setIceState(RTCIceTransportState);
    void setGatheringState(RTCIceGatheringState);
    // The peer's certificates (DER) come with the connected state.
    void setDtlsState(RTCDtlsTransportState, Vector<Vector<uint8_t>>&& remoteCertificates);
    // Candidate lines of the selected pair.
    void setSelectedCandidatePair(String&& local, String&& remote);
    // SCTP follows DTLS once a data section is negotiated.
    void setSctpNegotiated(std::optional<double> maxMessageSize);
    bool sctpNegotiated() const { return m_sctpNegotiated; }

    void addClient(RTCIceTransportBackendClient&);
    void removeClient(RTCIceTransportBackendClient&);
    void addClient(RTCDtlsTransportBackendClient&);
    void removeClient(RTCDtlsTransportBackendClient&);
    void addClient(RTCSctpTransportBackendClient&);
    void removeClient(RTCSctpTransportBackendClient&);

private:
    RustTransportHub() = default;
    RTCSctpTransportState sctpState() const;
    void notifySctp();
    void sendSelectedCandidatePair(RTCIceTransportBackendClient&) const;
    Vector<Ref<JSC::ArrayBuffer>> remoteCertificates() const;

    RTCIceTransportState m_iceState { RTCIceTransportState::New };
    RTCIceGatheringState m_gatheringState { RTCIceGatheringState::New };
    RTCDtlsTransportState m_dtlsState { RTCDtlsTransportState::New };
    bool m_sctpNegotiated { false };
    std::optional<double> m_maxMessageSize;
    Vector<Vector<uint8_t>> m_remoteCertificates;
    String m_selectedLocal;
    String m_selectedRemote;
    Vector<WeakPtr<RTCIceTransportBackendClient>> m_iceClients;
    Vector<WeakPtr<RTCDtlsTransportBackendClient>> m_dtlsClients;
    Vector<WeakPtr<RTCSctpTransportBackendClient>> m_sctpClients;
};

// The one WebCore client a transport backend object registers with the hub.
template<typename Client>
class RustTransportClient {
public:
    explicit RustTransportClient(Ref<RustTransportHub>&& hub)
        : m_hub(WTFMove(hub))
    {
    }
    ~RustTransportClient() { clear(); }

    RustTransportHub& hub() const { return m_hub.get(); }
    void set(Client& client)
    {
        clear();
        m_client = client;
        m_hub->addClient(client);
    }
    void clear()
    {
        if (auto* client = m_client.get())
            m_hub->removeClient(*client);
        m_client = nullptr;
    }

private:
    Ref<RustTransportHub> m_hub;
    WeakPtr<Client> m_client;
};

class RustIceTransportBackend final : public RTCIceTransportBackend {
    WTF_MAKE_TZONE_ALLOCATED(RustIceTransportBackend);
public:
    explicit RustIceTransportBackend(Ref<RustTransportHub>&& hub)
        : m_client(WTFMove(hub))
    {
    }

private:
    const void* backend() const final { return &m_client.hub(); }
    void registerClient(RTCIceTransportBackendClient& client) final { m_client.set(client); }
    void unregisterClient() final { m_client.clear(); }

    RustTransportClient<RTCIceTransportBackendClient> m_client;
};

class RustDtlsTransportBackend final : public RTCDtlsTransportBackend {
    WTF_MAKE_TZONE_ALLOCATED(RustDtlsTransportBackend);
public:
    explicit RustDtlsTransportBackend(Ref<RustTransportHub>&& hub)
        : m_client(WTFMove(hub))
    {
    }

private:
    const void* backend() const final { return &m_client.hub(); }
    UniqueRef<RTCIceTransportBackend> iceTransportBackend() final { return makeUniqueRef<RustIceTransportBackend>(Ref { m_client.hub() }); }
    void registerClient(RTCDtlsTransportBackendClient& client) final { m_client.set(client); }
    void unregisterClient() final { m_client.clear(); }

    RustTransportClient<RTCDtlsTransportBackendClient> m_client;
};

class RustSctpTransportBackend final : public RTCSctpTransportBackend {
    WTF_MAKE_TZONE_ALLOCATED(RustSctpTransportBackend);
public:
    explicit RustSctpTransportBackend(Ref<RustTransportHub>&& hub)
        : m_client(WTFMove(hub))
    {
    }

private:
    const void* backend() const final { return &m_client.hub(); }
    UniqueRef<RTCDtlsTransportBackend> dtlsTransportBackend() final { return makeUniqueRef<RustDtlsTransportBackend>(Ref { m_client.hub() }); }
    void registerClient(RTCSctpTransportBackendClient& client) final { m_client.set(client); }
    void unregisterClient() final { m_client.clear(); }

    RustTransportClient<RTCSctpTransportBackendClient> m_client;
};

} // namespace WebCore

#endif // ENABLE(WEB_RTC) && USE(RUST_WEBRTC)
