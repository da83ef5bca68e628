// SPDX-License-Identifier: MPL-2.0
// Two wkrtc peer connections driven through the C++ API and the cxx bridge: offer/answer,
// trickle ICE, data-channel messages both ways, a video track with decoded frames counted,
// and W3C errors for bad calls. Every wait is bounded; exit status 0 means every check held.

#include "wkrtc/wkrtc.h"

#include <gst/gst.h>

#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <string>

namespace {

using namespace std::chrono_literals;
constexpr auto Timeout = 15s;

// Everything the callbacks report, under one lock.
struct State {
    std::mutex lock;
    std::condition_variable changed;
    std::unique_ptr<wkrtc::DataChannel> remoteChannel;
    std::unique_ptr<wkrtc::Track> remoteTrack;
    std::unique_ptr<wkrtc::Transceiver> remoteTransceiver;
    std::string remoteMid;
    std::string remoteStream;
    bool channelOpen = false;
    std::deque<std::string> textAtB;
    std::deque<std::vector<std::uint8_t>> binaryAtA;
    int frames = 0;
    int width = 0, height = 0;
    std::string connectionA;
    std::string dtlsA;
    bool done = false;
    wkrtc::Error lastError;
    std::string sdpType, sdp;
};

State state;
int failures = 0;

void check(bool ok, const char* what)
{
    std::printf("%s %s\n", ok ? "PASS" : "FAIL", what);
    if (!ok)
        failures++;
}

template<typename Pred> bool waitFor(Pred pred, const char* what)
{
    std::unique_lock<std::mutex> l(state.lock);
    bool ok = state.changed.wait_for(l, Timeout, pred);
    if (!ok)
        std::printf("timed out waiting for %s\n", what);
    return ok;
}

void notify() { state.changed.notify_all(); }

// Runs an asynchronous operation and waits for its completion callback.
wkrtc::Error runVoid(const std::function<void(wkrtc::DoneCallback)>& start, const char* what)
{
    { std::lock_guard<std::mutex> l(state.lock); state.done = false; }
    start([](wkrtc::Error e) {
        std::lock_guard<std::mutex> l(state.lock);
        state.lastError = e;
        state.done = true;
        notify();
    });
    if (!waitFor([] { return state.done; }, what))
        return wkrtc::Error { "Timeout", what };
    std::lock_guard<std::mutex> l(state.lock);
    return state.lastError;
}

std::pair<std::string, std::string> runSdp(const std::function<void(wkrtc::DescriptionCallback)>& start, const char* what, bool expectOk = true)
{
    { std::lock_guard<std::mutex> l(state.lock); state.done = false; }
    start([](std::string type, std::string sdp, wkrtc::Error e) {
        std::lock_guard<std::mutex> l(state.lock);
        state.sdpType = type;
        state.sdp = sdp;
        state.lastError = e;
        state.done = true;
        notify();
    });
    bool ok = waitFor([] { return state.done; }, what);
    std::lock_guard<std::mutex> l(state.lock);
    if (expectOk)
        check(ok && !state.lastError, what);
    return { state.sdpType, state.sdp };
}

// getStats: the JSON report, or an error.
std::pair<std::string, wkrtc::Error> runStats(wkrtc::PeerConnection& pc)
{
    { std::lock_guard<std::mutex> l(state.lock); state.done = false; }
    pc.getStats([](std::string json, wkrtc::Error e) {
        std::lock_guard<std::mutex> l(state.lock);
        state.sdp = json;
        state.lastError = e;
        state.done = true;
        notify();
    });
    if (!waitFor([] { return state.done; }, "getStats"))
        return { "", wkrtc::Error { "Timeout", "getStats" } };
    std::lock_guard<std::mutex> l(state.lock);
    return { state.sdp, state.lastError };
}

} // namespace

int main()
{
    gst_init(nullptr, nullptr);
    wkrtc::Configuration config;
    config.loopback = true;

    std::unique_ptr<wkrtc::PeerConnection> a, b;
    std::mutex trickleLock;
    bool trickleReady = false;
    std::vector<std::tuple<bool, std::string, std::string, int>> early; // (to b?, candidate, mid, mline)
    auto trickle = [&](bool toB, std::string c, std::string mid, int mline) {
        std::lock_guard<std::mutex> l(trickleLock);
        if (!trickleReady) {
            early.emplace_back(toB, c, mid, mline);
            return;
        }
        (toB ? b : a)->addIceCandidate(c, mid, mline, [](wkrtc::Error e) {
            if (e)
                std::printf("addIceCandidate: %s: %s\n", e.name.c_str(), e.message.c_str());
        });
    };

    wkrtc::PeerConnectionCallbacks ca;
    ca.onIceCandidate = [&](std::string c, std::string mid, int mline) { trickle(true, c, mid, mline); };
    ca.onConnectionState = [](std::string s) { std::lock_guard<std::mutex> l(state.lock); state.connectionA = s; notify(); };
    ca.onDtlsState = [](std::string s) { std::lock_guard<std::mutex> l(state.lock); state.dtlsA = s; notify(); };
    wkrtc::PeerConnectionCallbacks cb;
    cb.onIceCandidate = [&](std::string c, std::string mid, int mline) { trickle(false, c, mid, mline); };
    cb.onDataChannel = [](std::unique_ptr<wkrtc::DataChannel> channel) {
        wkrtc::DataChannelCallbacks callbacks;
        wkrtc::DataChannel* raw = channel.get();
        callbacks.onText = [raw](std::string text) {
            {
                std::lock_guard<std::mutex> l(state.lock);
                state.textAtB.push_back(text);
                notify();
            }
            // Answer with the reversed text, as bytes.
            std::vector<std::uint8_t> back(text.rbegin(), text.rend());
            raw->send(back.data(), back.size());
        };
        channel->setCallbacks(std::move(callbacks));
        std::lock_guard<std::mutex> l(state.lock);
        state.remoteChannel = std::move(channel);
        notify();
    };
    cb.onTrack = [](std::unique_ptr<wkrtc::Transceiver> transceiver, std::unique_ptr<wkrtc::Track> track, std::string mid, std::string stream) {
        track->setFrameCallback([](GstSample* sample, int w, int h) {
            GstBuffer* buffer = sample ? gst_sample_get_buffer(sample) : nullptr;
            std::lock_guard<std::mutex> l(state.lock);
            if (buffer && gst_buffer_get_size(buffer) >= static_cast<gsize>(w * h)) {
                state.frames++;
                state.width = w;
                state.height = h;
            }
            notify();
        });
        std::lock_guard<std::mutex> l(state.lock);
        state.remoteTrack = std::move(track);
        state.remoteTransceiver = std::move(transceiver);
        state.remoteMid = mid;
        state.remoteStream = stream;
        notify();
    };

    wkrtc::Error error;
    // A presents a certificate of its own, as a page's generateCertificate() gives it.
    auto certificate = wkrtc::generateCertificate(R"({"name":"ECDSA","namedCurve":"P-256","expires":86400000})", error);
    check(!error && certificate && certificate->fingerprintAlgorithm == "sha-256" && certificate->fingerprint.size() == 95
            && certificate->certificatePem.find("BEGIN CERTIFICATE") != std::string::npos,
        "generateCertificate(ECDSA P-256)");
    auto now = std::chrono::duration<double, std::milli>(std::chrono::system_clock::now().time_since_epoch()).count();
    check(certificate->expires > now + 86000e3 && certificate->expires < now + 86500e3, "the certificate expires in a day");
    check(!wkrtc::generateCertificate(R"({"name":"ECDSA","namedCurve":"P-521"})", error) && error.name == "NotSupportedError",
        "generateCertificate(P-521) is a NotSupportedError");
    wkrtc::Configuration forged = config;
    forged.certificates = { *certificate };
    forged.certificates[0].privateKeyPem = wkrtc::generateCertificate(R"({"name":"ECDSA","namedCurve":"P-256"})", error)->privateKeyPem;
    wkrtc::PeerConnection::create(forged, { }, error);
    check(error.name == "InvalidAccessError", "a certificate with another key's PEM is an InvalidAccessError");
    wkrtc::Configuration withCertificate = config;
    withCertificate.certificates = { *certificate };
    a = wkrtc::PeerConnection::create(withCertificate, std::move(ca), error);
    check(!error, "create peer connection A");
    b = wkrtc::PeerConnection::create(config, std::move(cb), error);
    check(!error, "create peer connection B");
    {
        wkrtc::Configuration next = config;
        next.iceServers = { wkrtc::IceServer { { "http://example.org" }, "", "" } };
        check(a->setConfiguration(next).name == "SyntaxError", "setConfiguration checks the servers");
        next.iceServers = { wkrtc::IceServer { { "stun:127.0.0.1:3478" }, "", "" } };
        check(!a->setConfiguration(next), "setConfiguration with new servers, the certificate kept");
        check(b->setConfiguration(withCertificate).name == "InvalidModificationError", "setConfiguration with another certificate");
        check(!a->setConfiguration(config), "setConfiguration back to no servers");
    }

    // Media and data from A.
    auto video = wkrtc::Track::testPattern("video", 320, 240, error);
    check(!error && video->kind() == "video", "test pattern track");
    auto sender = a->addTrack(*video, { "stream-from-a" }, error);
    check(!error && sender && sender->kind() == "video" && sender->direction() == "sendrecv", "addTrack gives a sendrecv video transceiver");
    check(sender->mid().empty() && sender->currentDirection().empty(), "no mid and no current direction before negotiation");
    auto audioIn = a->addTransceiver("audio", "recvonly", { }, error);
    check(!error && audioIn && audioIn->direction() == "recvonly", "addTransceiver(audio, recvonly)");
    check(a->transceivers().size() == 2 && a->transceivers()[0]->key() == sender->key(), "transceivers() lists both, the same objects");
    check(a->addTransceiver("text", "sendrecv", { }, error) == nullptr && error.name == "TypeError", "addTransceiver of an unknown kind is a TypeError");
    check(audioIn->setDirection("sideways").name == "TypeError", "an unknown direction is a TypeError");
    check(sender->setCodecPreferences({ wkrtc::CodecCapability { "video/bogus", 90000, 0, "" } }).name == "InvalidModificationError",
        "codec preferences outside the receiver capabilities: InvalidModificationError");
    auto channel = a->createDataChannel("chat", wkrtc::DataChannelInit {}, error);
    check(!error && channel->label() == "chat", "createDataChannel");
    wkrtc::DataChannelCallbacks mine;
    mine.onOpen = [] { std::lock_guard<std::mutex> l(state.lock); state.channelOpen = true; notify(); };
    mine.onBinary = [](std::vector<std::uint8_t> data) { std::lock_guard<std::mutex> l(state.lock); state.binaryAtA.push_back(data); notify(); };
    channel->setCallbacks(std::move(mine));

    // Offer/answer.
    check(!a->sctpMaxMessageSize(), "no SCTP transport before negotiation");
    auto offer = runSdp([&](wkrtc::DescriptionCallback f) { a->createOffer(f); }, "createOffer");
    check(offer.first == "offer" && offer.second.find("m=video") != std::string::npos, "the offer has a video section");
    std::string fingerprint = certificate->fingerprint;
    for (auto& c : fingerprint)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    check(offer.second.find("a=fingerprint:sha-256 " + fingerprint) != std::string::npos, "the offer carries the configured certificate's fingerprint");
    check(!runVoid([&](wkrtc::DoneCallback f) { a->setLocalDescription(offer.first, offer.second, f); }, "A setLocalDescription"), "A setLocalDescription");
    check(!runVoid([&](wkrtc::DoneCallback f) { b->setRemoteDescription(offer.first, offer.second, f); }, "B setRemoteDescription"), "B setRemoteDescription");
    auto answer = runSdp([&](wkrtc::DescriptionCallback f) { b->createAnswer(f); }, "createAnswer");
    check(!runVoid([&](wkrtc::DoneCallback f) { b->setLocalDescription(answer.first, answer.second, f); }, "B setLocalDescription"), "B setLocalDescription");
    check(!runVoid([&](wkrtc::DoneCallback f) { a->setRemoteDescription(answer.first, answer.second, f); }, "A setRemoteDescription"), "A setRemoteDescription");
    check(a->signalingState() == "stable" && b->signalingState() == "stable", "both stable");
    auto current = a->currentLocalDescription();
    check(current && current->type == "offer" && !a->pendingLocalDescription(), "A's current local description is its offer, none pending");
    auto remoteAnswer = a->currentRemoteDescription();
    check(remoteAnswer && remoteAnswer->type == "answer" && remoteAnswer->sdp == answer.second, "A's current remote description is B's answer");
    check(a->canTrickleIceCandidates() == std::optional<bool>(true), "canTrickleIceCandidates");
    check(!sender->mid().empty() && sender->currentDirection() == "sendonly", "after negotiation: a mid, and sendonly towards a peer with no track");
    check(audioIn->currentDirection() == "inactive", "recvonly towards a peer with nothing to send is inactive");
    check(!sender->canInsertDTMF() && sender->playTone('1', 100, nullptr).name == "InvalidStateError", "a video sender sends no DTMF");
    check(!audioIn->canInsertDTMF() && audioIn->playTone('1', 100, nullptr).name == "InvalidStateError", "an inactive audio sender sends no DTMF");
    {
        auto atB = b->transceivers();
        bool found = false;
        for (auto& t : atB) {
            if (t->mid() == sender->mid())
                found = t->receiving() && t->receiverStreamIds() == std::vector<std::string> { "stream-from-a" } && t->currentDirection() == "recvonly";
        }
        check(found, "B's transceiver for that mid receives, with A's stream id, recvonly");
    }
    auto parameters = sender->sendParameters();
    check(!parameters.transactionId.empty() && parameters.active && parameters.codecs.size() == 1 && parameters.codecs[0].second.mimeType == "video/VP8",
        "send parameters: a transaction and the negotiated VP8");
    {
        std::lock_guard<std::mutex> l(trickleLock);
        trickleReady = true;
        for (auto& [toB, c, mid, mline] : early)
            (toB ? b : a)->addIceCandidate(c, mid, mline, [](wkrtc::Error) { });
        early.clear();
    }

    check(waitFor([] { return state.connectionA == "connected"; }, "connected"), "A connected");
    check(waitFor([] { return state.dtlsA == "connected"; }, "DTLS connected"), "A's DTLS transport connected");
    check(a->sctpMaxMessageSize() == std::optional<std::uint64_t>(65536), "sctp.maxMessageSize is the peer's 64 KiB");
    {
        // getRemoteCertificates(): B holds A's configured certificate, DER of the PEM's body.
        auto remote = b->remoteCertificates();
        check(remote.size() == 1 && remote[0].size() > 200 && remote[0][0] == 0x30, "B's getRemoteCertificates() is A's certificate, DER");
        check(a->remoteCertificates().size() == 1 && a->remoteCertificates()[0] != remote[0], "A holds B's certificate, another one");
        // getSelectedCandidatePair(): candidate lines on 127.0.0.1.
        { std::lock_guard<std::mutex> l(state.lock); state.done = false; }
        a->selectedCandidatePair([](std::string local, std::string remote, wkrtc::Error e) {
            std::lock_guard<std::mutex> l(state.lock);
            state.sdpType = local;
            state.sdp = remote;
            state.lastError = e;
            state.done = true;
            notify();
        });
        check(waitFor([] { return state.done; }, "selectedCandidatePair"), "selectedCandidatePair completes");
        std::lock_guard<std::mutex> l(state.lock);
        check(!state.lastError && state.sdpType.find(" 127.0.0.1 ") != std::string::npos && state.sdp.find(" 127.0.0.1 ") != std::string::npos
                && state.sdpType.rfind("candidate:", 0) == 0,
            "getSelectedCandidatePair() gives both candidates");
    }
    check(waitFor([] { return state.channelOpen && state.remoteChannel; }, "channel open"), "channel open on both sides");
    check(channel->ordered() && !channel->negotiated() && !channel->maxRetransmits(), "channel options");
    {
        std::lock_guard<std::mutex> l(state.lock);
        check(channel->id() && state.remoteChannel->id() == channel->id() && state.remoteChannel->label() == "chat", "both ends agree on the channel's id and label");
    }
    check(!channel->send("hello from C++"), "send text");
    check(waitFor([] { return !state.textAtB.empty(); }, "text at B") && state.textAtB.front() == "hello from C++", "B received the text");
    check(waitFor([] { return !state.binaryAtA.empty(); }, "binary at A")
        && std::string(state.binaryAtA.front().begin(), state.binaryAtA.front().end()) == "++C morf olleh", "A received B's binary reply");

    check(waitFor([] { return state.frames >= 10; }, "10 frames"), "B decoded 10 video frames");
    check(state.width == 320 && state.height == 240, "decoded frames are 320x240");
    check(state.remoteStream == "stream-from-a" && !state.remoteMid.empty(), "track event with mid and stream");
    check(state.remoteTransceiver && state.remoteTransceiver->mid() == state.remoteMid, "the track event's transceiver has that mid");
    {
        auto [json, e] = runStats(*b);
        check(!e && json.find("\"type\":\"inbound-rtp\"") != std::string::npos && json.find("\"framesDecoded\":") != std::string::npos
                && json.find("\"frameWidth\":320") != std::string::npos,
            "getStats (JSON): B's inbound video stream, 320 wide, frames decoded");
        auto [mine, e2] = runStats(*a);
        check(!e2 && mine.find("\"type\":\"outbound-rtp\"") != std::string::npos && mine.find("\"type\":\"data-channel\"") != std::string::npos,
            "getStats (JSON): A's outbound stream and data channel");
    }
    parameters.scaleResolutionDownBy = 2;
    check(!sender->setSendParameters(parameters), "setParameters with scaleResolutionDownBy 2");
    check(!sender->setSenderStreams({ "one", "two" }), "setStreams");
    check(sender->setSenderStreams({ std::string("a\0b", 3) }).name == "NotSupportedError", "setStreams with a NUL character is a NotSupportedError");
    {
        std::unique_lock<std::mutex> l(state.lock);
        state.width = 0;
    }
    check(waitFor([] { return state.width == 160; }, "160x120 frames"), "frames arrive at half the width");
    check(!sender->replaceTrack(video.get()), "replaceTrack with the same track");
    check(!a->removeTrack(*sender) && sender->direction() == "recvonly", "removeTrack leaves the transceiver recvonly");
    check(!sender->replaceTrack(nullptr), "replaceTrack(null)");

    // W3C errors through the bridge.
    auto bad = runVoid([&](wkrtc::DoneCallback f) { a->setRemoteDescription("bogus", "v=0", f); }, "bad type");
    check(bad.name == "TypeError", "an unknown SDP type is a TypeError");
    auto sdes = runVoid([&](wkrtc::DoneCallback f) { b->addIceCandidate("candidate:garbage", "nope", -1, f); }, "bad candidate");
    check(sdes.name == "OperationError" || sdes.name == "SyntaxError" || sdes.name == "TypeError", "a bad candidate is a W3C error");
    wkrtc::DataChannelInit negotiatedWithoutId;
    negotiatedWithoutId.negotiated = true;
    a->createDataChannel("x", negotiatedWithoutId, error);
    check(error.name == "TypeError", "negotiated without id is a TypeError");

    // getUserMedia on wkrtc's fake devices.
    {
        auto devices = wkrtc::enumerateDevices("https://example.org", true, error);
        check(!error && devices.size() == 2 && devices[0].kind == "videoinput" && devices[1].kind == "audioinput" && devices[0].groupId == devices[1].groupId,
            "enumerateDevices: the fake camera and microphone, one group");
        auto capture = wkrtc::getUserMedia("https://example.org", true, R"({"video": {"width": 640, "height": 360}})", error);
        check(!error && capture && capture->size() == 1 && capture->settings(0).find("\"width\":640") != std::string::npos, "getUserMedia at 640x360");
        auto camera = capture->track(0);
        std::mutex sizeLock;
        std::pair<int, int> lastSize;
        camera->setFrameCallback([&](GstSample*, int w, int h) {
            std::lock_guard<std::mutex> l(sizeLock);
            lastSize = { w, h };
        });
        auto sizeIs = [&](int w, int h) {
            for (int i = 0; i < 500; i++) {
                {
                    std::lock_guard<std::mutex> l(sizeLock);
                    if (lastSize == std::make_pair(w, h))
                        return true;
                }
                std::unique_lock<std::mutex> l(state.lock);
                state.changed.wait_for(l, std::chrono::milliseconds(10));
            }
            return false;
        };
        check(sizeIs(640, 360), "capture frames at 640x360");
        check(!capture->applyConstraints(0, R"({"width": {"exact": 320}, "height": {"exact": 180}})"), "applyConstraints to 320x180");
        check(sizeIs(320, 180), "capture frames at 320x180 after applyConstraints");
        std::string constraint;
        auto refused = capture->applyConstraints(0, R"({"frameRate": {"min": 120}})", &constraint);
        check(refused.name == "OverconstrainedError" && constraint == "frameRate", "an impossible frame rate: OverconstrainedError naming frameRate");
        camera->setFrameCallback(nullptr);
        capture->stop();
        check(!wkrtc::getUserMedia("https://example.org", true, "{}", error) && error.name == "TypeError", "getUserMedia without audio or video: TypeError");
    }

    // Capabilities, as WebCore's WebRTCProvider reports them.
    auto hasCodec = [](const std::optional<wkrtc::Capabilities>& caps, const char* mime) {
        if (!caps)
            return false;
        for (auto& c : caps->codecs) {
            if (c.mimeType == mime)
                return true;
        }
        return false;
    };
    auto videoSend = wkrtc::senderCapabilities("video");
    auto audioReceive = wkrtc::receiverCapabilities("audio");
    check(hasCodec(videoSend, "video/VP8") && hasCodec(videoSend, "video/rtx"), "sender capabilities: VP8 with RTX");
    check(hasCodec(audioReceive, "audio/opus") && !hasCodec(audioReceive, "video/VP8"), "receiver capabilities: Opus, audio only");
    bool opusStereo = false;
    for (auto& c : audioReceive->codecs)
        opusStereo |= c.mimeType == "audio/opus" && c.clockRate == 48000 && c.channels == 2;
    check(opusStereo, "Opus at 48 kHz with 2 channels");
    check(!videoSend->headerExtensions.empty(), "header extensions listed");
    check(!wkrtc::senderCapabilities("text"), "no capabilities for an unknown kind");

    a->close();
    b->close();
    check(a->signalingState() == "closed", "closed");
    runSdp([&](wkrtc::DescriptionCallback f) { a->createOffer(f); }, "createOffer after close", false);
    check(state.lastError.name == "InvalidStateError", "createOffer after close is an InvalidStateError");
    check(runStats(*a).second.name == "InvalidStateError", "getStats after close is an InvalidStateError");

    {
        std::lock_guard<std::mutex> l(state.lock);
        state.remoteChannel.reset();
        state.remoteTrack.reset();
        state.remoteTransceiver.reset();
    }
    std::printf("%d failed\n", failures);
    return failures ? EXIT_FAILURE : EXIT_SUCCESS;
}
