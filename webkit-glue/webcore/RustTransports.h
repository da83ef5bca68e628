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
    void setDtlsState(RTCDtlsTransportState);
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

    RTCIceTransportState m_iceState { RTCIceTransportState::New };
    RTCIceGatheringState m_gatheringState { RTCIceGatheringState::New };
    RTCDtlsTransportState m_dtlsState { RTCDtlsTransportState::New };
    bool m_sctpNegotiated { false };
    std::optional<double> m_maxMessageSize;
    Vector<WeakPtr<RTCIceTransportBackendClient>> m_iceClients;
    Vector<WeakPtr<RTCDtlsTransportBackendClient>> m_dtlsClients;
    Vector<WeakPtr<RTCSctpTransportBackendClient>> m_sctpClients;
};

class RustIceTransportBackend final : public RTCIceTransportBackend {
    WTF_MAKE_TZONE_ALLOCATED(RustIceTransportBackend);
public:
    explicit RustIceTransportBackend(Ref<RustTransportHub>&& hub) : m_hub(WTFMove(hub)) { }
    ~RustIceTransportBackend();

private:
    const void* backend() const final { return m_hub.ptr(); }
    void registerClient(RTCIceTransportBackendClient&) final;
    void unregisterClient() final;

    Ref<RustTransportHub> m_hub;
    WeakPtr<RTCIceTransportBackendClient> m_client;
};

class RustDtlsTransportBackend final : public RTCDtlsTransportBackend {
    WTF_MAKE_TZONE_ALLOCATED(RustDtlsTransportBackend);
public:
    explicit RustDtlsTransportBackend(Ref<RustTransportHub>&& hub) : m_hub(WTFMove(hub)) { }
    ~RustDtlsTransportBackend();

private:
    const void* backend() const final { return m_hub.ptr(); }
    UniqueRef<RTCIceTransportBackend> iceTransportBackend() final;
    void registerClient(RTCDtlsTransportBackendClient&) final;
    void unregisterClient() final;

    Ref<RustTransportHub> m_hub;
    WeakPtr<RTCDtlsTransportBackendClient> m_client;
};

class RustSctpTransportBackend final : public RTCSctpTransportBackend {
    WTF_MAKE_TZONE_ALLOCATED(RustSctpTransportBackend);
public:
    explicit RustSctpTransportBackend(Ref<RustTransportHub>&& hub) : m_hub(WTFMove(hub)) { }
    ~RustSctpTransportBackend();

private:
    const void* backend() const final { return m_hub.ptr(); }
    UniqueRef<RTCDtlsTransportBackend> dtlsTransportBackend() final;
    void registerClient(RTCSctpTransportBackendClient&) final;
    void unregisterClient() final;

    Ref<RustTransportHub> m_hub;
    WeakPtr<RTCSctpTransportBackendClient> m_client;
};

} // namespace WebCore

#endif // ENABLE(WEB_RTC) && USE(RUST_WEBRTC)
