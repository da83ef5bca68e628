// SPDX-License-Identifier: MPL-2.0
// wkrtc's C++ API: the W3C WebRTC objects of wkrtc (Rust, on GStreamer's webrtcbin) for C++
// programs, WebKit's adapter classes first. Needs no WebKit and no exceptions.
//
// Threads: every callback runs on a wkrtc thread, never the caller's; events of one peer
// connection arrive in order on one thread. Hop to your own thread before touching anything
// else (WebKit: callOnMainThread). A callback already under way when its object is destroyed
// still completes: capture weak references (WebKit: WeakPtr), not raw pointers to objects that
// may be gone. Errors carry the W3C exception name (InvalidStateError,
// OperationError, TypeError, ...) and a message; an empty name means success.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

typedef struct _GstSample GstSample;

namespace wkrtc {

struct Error {
    std::string name;
    std::string message;
    explicit operator bool() const { return !name.empty(); }
};

struct IceServer {
    std::vector<std::string> urls;
    std::string username;
    std::string credential;
};

// RTCCertificate: the PEMs (what an embedder keeps and hands back in a Configuration), the
// expiry in milliseconds since the Unix epoch, and the sha-256 fingerprint (lowercase hex
// pairs), as getFingerprints() gives it.
struct Certificate {
    std::string certificatePem;
    std::string privateKeyPem;
    double expires = 0;
    std::string fingerprintAlgorithm;
    std::string fingerprint;
};

// RTCPeerConnection.generateCertificate(): the W3C AlgorithmIdentifier as JSON, for example
// {"name":"ECDSA","namedCurve":"P-256"} (what browsers use) or {"name":"RSASSA-PKCS1-v1_5",
// "modulusLength":2048,"publicExponent":[1,0,1],"hash":"SHA-256"}, with an optional
// "expires" in milliseconds (30 days by default, at most 365). NotSupportedError for other
// algorithms, TypeError for malformed ones. Runs on the caller's thread: ECDSA takes well
// under a millisecond, RSA tens of milliseconds or more.
std::optional<Certificate> generateCertificate(std::string_view algorithmJson, Error&);

struct Configuration {
    std::vector<IceServer> iceServers;
    bool relayOnly = false;
    // The DTLS identity (the first is used); none: wkrtc generates an ECDSA P-256 one. An
    // expired certificate or PEMs that do not match fail creation with InvalidAccessError.
    std::vector<Certificate> certificates;
    // Gather 127.0.0.1 only (tests and benchmarks).
    bool loopback = false;
};

// RTCRtpCodecCapability; channels 0 means absent.
struct CodecCapability {
    std::string mimeType;
    unsigned clockRate = 0;
    unsigned channels = 0;
    std::string sdpFmtpLine;
};

// RTCRtpCapabilities: header extensions by URI.
struct Capabilities {
    std::vector<CodecCapability> codecs;
    std::vector<std::string> headerExtensions;
};

// RTCRtpSender.getCapabilities(kind) and RTCRtpReceiver.getCapabilities(kind): what the
// installed GStreamer elements can encode and payload, or depayload and decode. Empty for a
// kind other than "audio" and "video".
std::optional<Capabilities> senderCapabilities(std::string_view kind);
std::optional<Capabilities> receiverCapabilities(std::string_view kind);

struct DataChannelInit {
    bool ordered = true;
    int maxRetransmits = -1; // -1: not set
    int maxPacketLifeTime = -1;
    std::string protocol;
    bool negotiated = false;
    int id = -1;
};

struct DataChannelCallbacks {
    std::function<void()> onOpen;
    std::function<void(std::string)> onText;
    std::function<void(std::vector<std::uint8_t>)> onBinary;
    std::function<void()> onBufferedAmountLow;
    std::function<void()> onClose;
    std::function<void(Error)> onError;
};

class DataChannel {
public:
    ~DataChannel();
    std::string label() const;
    std::string protocol() const;
    bool ordered() const;
    bool negotiated() const;
    // Unset until the SCTP transport assigns one (in-band channels).
    std::optional<std::uint16_t> id() const;
    std::optional<std::uint16_t> maxRetransmits() const;
    std::optional<std::uint16_t> maxPacketLifeTime() const;
    void setBufferedAmountLowThreshold(std::uint64_t);
    std::string readyState() const;
    std::uint64_t bufferedAmount() const;
    // Events from now on (an already open channel reports onOpen first).
    void setCallbacks(DataChannelCallbacks);
    Error send(std::string_view text);
    Error send(const std::uint8_t* data, std::size_t size);
    void close();

    struct Impl;
    explicit DataChannel(std::unique_ptr<Impl>);
private:
    std::unique_ptr<Impl> m_impl;
};

// A decoded or raw frame: `sample` is borrowed for the call (gst_sample_ref to keep it);
// width and height are 0 for audio.
using FrameCallback = std::function<void(GstSample* sample, int width, int height)>;

class Track {
public:
    ~Track();
    // A moving test pattern ("video") or a tone ("audio").
    static std::unique_ptr<Track> testPattern(std::string_view kind, unsigned width, unsigned height, Error&);
    // Frames pushed with pushSample (WebKit's RealtimeMediaSource path).
    static std::unique_ptr<Track> external(std::string_view kind, std::string_view label, Error&);

    std::string kind() const;
    std::string id() const;
    std::uint64_t frames() const;
    void setEnabled(bool);
    // Replaces this object's callback; an empty one removes it. A frame already being
    // delivered may still reach the old callback once: it must not hold raw pointers to
    // objects that may be gone by then.
    void setFrameCallback(FrameCallback);
    Error pushSample(GstSample*);
    void stop();

    struct Impl;
    explicit Track(std::unique_ptr<Impl>);
    Impl& impl() const { return *m_impl; }
private:
    std::unique_ptr<Impl> m_impl;
};

// RTCRtpSendParameters with its one encoding (wkrtc does not send simulcast).
struct SendParameters {
    std::string transactionId;
    bool active = true;
    std::optional<std::uint32_t> maxBitrate;
    std::optional<double> maxFramerate;
    std::optional<double> scaleResolutionDownBy;
    // The negotiated send codec, once negotiated, with its payload type.
    std::vector<std::pair<std::uint8_t, CodecCapability>> codecs;
};

// RTCRtpTransceiver with its sender and receiver. Directions are the W3C strings
// ("sendrecv", "sendonly", "recvonly", "inactive", "stopped").
class Transceiver {
public:
    ~Transceiver();
    // The same for every Transceiver object of one wkrtc transceiver.
    std::uintptr_t key() const;
    std::string kind() const;
    // Empty until negotiated.
    std::string mid() const;
    std::string direction() const;
    // Empty before the first negotiation.
    std::string currentDirection() const;
    Error setDirection(std::string_view);
    void stop();
    bool stopped() const;
    // The remote description has the peer sending here (the receiving half of
    // [[FiredDirection]]), and the stream ids it announced.
    bool receiving() const;
    std::vector<std::string> receiverStreamIds() const;
    // sender.setStreams(): later descriptions announce the track in these streams
    // (negotiationneeded follows); InvalidStateError once stopped.
    Error setSenderStreams(const std::vector<std::string>& streamIds);
    // The receiver's track: the peer's frames, decoded.
    std::unique_ptr<Track> receiverTrack() const;
    Error setCodecPreferences(const std::vector<CodecCapability>&);
    // replaceTrack: null sends nothing.
    Error replaceTrack(const Track*);
    SendParameters sendParameters() const;
    Error setSendParameters(const SendParameters&);
    // The sender's RTCDTMFSender (audio transceivers; false and InvalidStateError for
    // video). playTone plays one tone ("," is a 2 s pause; InvalidCharacterError for others)
    // and calls `played` on a wkrtc thread when its duration is up: for an embedder that
    // runs the W3C tone buffer itself, as WebCore's RTCDTMFSender does.
    bool canInsertDTMF() const;
    Error playTone(char tone, std::uint32_t durationMs, std::function<void()> played);

    struct Impl;
    explicit Transceiver(std::unique_ptr<Impl>);
    Impl& impl() const { return *m_impl; }
private:
    std::unique_ptr<Impl> m_impl;
};

// MediaDeviceInfo: kind is "videoinput", "audioinput" or "audiooutput".
struct DeviceInfo {
    std::string deviceId;
    std::string kind;
    std::string label;
    std::string groupId;
};

// A getUserMedia result: capture tracks (audio first) with the W3C constrainable-property
// calls, constraints and results as the page's JSON. Stopping (or destroying) it releases
// the devices.
class Capture {
public:
    ~Capture();
    std::size_t size() const;
    // The track, to add to a peer connection or read frames from (nullptr past the end).
    std::unique_ptr<Track> track(std::size_t) const;
    std::string settings(std::size_t) const;
    std::string capabilities(std::size_t) const;
    std::string constraints(std::size_t) const;
    // OverconstrainedError names the constraint in `constraint`.
    Error applyConstraints(std::size_t, std::string_view json, std::string* constraint = nullptr);
    void stop();

    struct Impl;
    explicit Capture(std::unique_ptr<Impl>);
private:
    std::unique_ptr<Impl> m_impl;
};

// navigator.mediaDevices for one origin (`salt` keeps device ids per origin). `fake` uses
// wkrtc's fake camera and microphone instead of the machine's (WKRTC_FAKE_DEVICES=1 too).
std::vector<DeviceInfo> enumerateDevices(std::string_view salt, bool fake, Error&);
// getUserMedia: nullptr with `error` set (OverconstrainedError names the constraint in
// `constraint`).
std::unique_ptr<Capture> getUserMedia(std::string_view salt, bool fake, std::string_view constraintsJson, Error& error, std::string* constraint = nullptr);

struct PeerConnectionCallbacks {
    std::function<void(std::string)> onSignalingState;
    std::function<void(std::string)> onIceGatheringState;
    std::function<void(std::string)> onIceConnectionState;
    std::function<void(std::string)> onConnectionState;
    // The DTLS transport's state: "new", "connecting", "connected", "closed", "failed".
    std::function<void(std::string)> onDtlsState;
    // An empty candidate is end-of-candidates; mline is -1 when unknown.
    std::function<void(std::string candidate, std::string mid, int mline)> onIceCandidate;
    std::function<void()> onNegotiationNeeded;
    std::function<void(std::unique_ptr<DataChannel>)> onDataChannel;
    std::function<void(std::unique_ptr<Transceiver>, std::unique_ptr<Track>, std::string mid, std::string streamId)> onTrack;
    // The peer sent a DTMF tone (RFC 4733) on the transceiver with this key(); called once
    // the tone ended, with how long it lasted. No W3C event carries this.
    std::function<void(std::uintptr_t transceiverKey, char tone, std::uint32_t durationMs)> onToneReceived;
};

struct Description {
    std::string type; // "offer", "answer", "pranswer"
    std::string sdp;
};

using DescriptionCallback = std::function<void(std::string type, std::string sdp, Error)>;
using DoneCallback = std::function<void(Error)>;
// The W3C stats report as JSON: an object from stats id to stats object.
using StatsCallback = std::function<void(std::string json, Error)>;
// The selected candidate pair as candidate lines (local, remote); both empty before one is.
using CandidatePairCallback = std::function<void(std::string local, std::string remote, Error)>;

class PeerConnection {
public:
    // Never null; on failure `error` is set and every operation fails with it.
    static std::unique_ptr<PeerConnection> create(const Configuration&, PeerConnectionCallbacks, Error& error);
    ~PeerConnection();
    // setConfiguration: new ICE servers and policy for the candidates gathered from now on;
    // InvalidModificationError for other certificates (empty keeps them) or InvalidStateError
    // once closed. `loopback` is fixed at creation.
    Error setConfiguration(const Configuration&);

    void createOffer(DescriptionCallback, bool iceRestart = false);
    void createAnswer(DescriptionCallback);
    // type "offer", "answer", "pranswer" or "rollback"; empty type and sdp: the
    // parameterless setLocalDescription().
    void setLocalDescription(std::string_view type, std::string_view sdp, DoneCallback);
    void setRemoteDescription(std::string_view type, std::string_view sdp, DoneCallback);
    // An empty candidate is end-of-candidates.
    void addIceCandidate(std::string_view candidate, std::string_view mid, int mline, DoneCallback);
    void restartIce();
    void getStats(StatsCallback);
    // RTCIceTransport.getSelectedCandidatePair() of the connection's (bundled) transport.
    void selectedCandidatePair(CandidatePairCallback);
    // RTCDtlsTransport.getRemoteCertificates(): DER; empty until the peer's certificate
    // matched the remote description's fingerprint.
    std::vector<std::vector<std::uint8_t>> remoteCertificates() const;
    std::unique_ptr<DataChannel> createDataChannel(std::string_view label, const DataChannelInit&, Error&);
    // addTrack: the transceiver that sends the track (reused or new); null with `error` set.
    std::unique_ptr<Transceiver> addTrack(const Track&, const std::vector<std::string>& streamIds, Error& error);
    // addTransceiver(kind or track, { direction, streams }).
    std::unique_ptr<Transceiver> addTransceiver(std::string_view kind, std::string_view direction, const std::vector<std::string>& streamIds, Error&);
    std::unique_ptr<Transceiver> addTransceiver(const Track&, std::string_view direction, const std::vector<std::string>& streamIds, Error&);
    Error removeTrack(const Transceiver&);
    std::vector<std::unique_ptr<Transceiver>> transceivers() const;
    std::string signalingState() const;
    std::string connectionState() const;
    std::string localDescription() const;
    std::string remoteDescription() const;
    std::optional<Description> currentLocalDescription() const;
    std::optional<Description> pendingLocalDescription() const;
    std::optional<Description> currentRemoteDescription() const;
    std::optional<Description> pendingRemoteDescription() const;
    std::string iceGatheringState() const;
    std::string iceConnectionState() const;
    // Unknown until a remote description is set.
    std::optional<bool> canTrickleIceCandidates() const;
    // sctp.maxMessageSize, once a remote description has a data section.
    std::optional<std::uint64_t> sctpMaxMessageSize() const;
    void close();

    struct Impl;
private:
    explicit PeerConnection(std::unique_ptr<Impl>);
    std::unique_ptr<Impl> m_impl;
};

} // namespace wkrtc
