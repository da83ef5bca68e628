// SPDX-License-Identifier: MPL-2.0
#include "config.h"
#include "RustStatsReport.h"

#if ENABLE(WEB_RTC) && USE(RUST_WEBRTC)

#include "JSDOMMapLike.h"
#include "JSRTCStatsReport.h"
#include "RustStatsJSON.h"
#include <JavaScriptCore/JSCInlines.h>
#include <wtf/HashSet.h>
#include <wtf/JSONValues.h>

namespace WebCore {

// The W3C stats selection algorithm: the RTP stream of `mid` in the chosen direction, and
// every object its *Id members lead to, transitively.
static Vector<Ref<JSON::Object>> selected(const JSON::Object& report, RustStatsSelection selection, const String& mid)
{
    Vector<Ref<JSON::Object>> all;
    for (auto& [id, value] : report) {
        if (auto object = value->asObject())
            all.append(object.releaseNonNull());
    }
    if (selection == RustStatsSelection::All)
        return all;
    auto rootType = selection == RustStatsSelection::Sender ? "outbound-rtp"_s : "inbound-rtp"_s;
    HashSet<String> chosen;
    Vector<String> todo;
    for (auto& object : all) {
        if (object->getString("type"_s) == rootType && object->getString("mid"_s) == mid)
            todo.append(object->getString("id"_s));
    }
    while (!todo.isEmpty()) {
        auto id = todo.takeLast();
        if (id.isEmpty() || !chosen.add(id).isNewEntry)
            continue;
        auto object = report.getObject(id);
        if (!object)
            continue;
        for (auto& [member, value] : *object) {
            String target;
            if (member.endsWith("Id"_s) && value->asString(target))
                todo.append(target);
        }
    }
    all.removeAllMatching([&](auto& object) { return !chosen.contains(object->getString("id"_s)); });
    return all;
}

template<typename Dictionary, typename... Arguments>
static void add(DOMMapAdapter& map, const JSON::Object& object, Arguments... arguments)
{
    Dictionary stats(arguments..., object);
    auto id = stats.id;
    map.set<IDLDOMString, IDLDictionary<Dictionary>>(id, WTFMove(stats));
}

RefPtr<RTCStatsReport> makeRustStatsReport(const String& json, RustStatsSelection selection, const String& mid)
{
    auto parsed = JSON::Value::parseJSON(json);
    auto report = parsed ? parsed->asObject() : nullptr;
    if (!report)
        return nullptr;
    auto objects = selected(*report, selection, mid);
    return RTCStatsReport::create([objects = WTFMove(objects)](auto& map) {
        using Type = RTCStatsReport::Type;
        for (auto& object : objects) {
            auto type = parseEnumerationFromString<Type>(object->getString("type"_s));
            if (!type)
                continue;
            switch (*type) {
            case Type::Codec:
                add<RTCStatsReport::CodecStats>(map, object);
                break;
            case Type::InboundRtp:
                add<RTCStatsReport::InboundRtpStreamStats>(map, object);
                break;
            case Type::OutboundRtp:
                add<RTCStatsReport::OutboundRtpStreamStats>(map, object);
                break;
            case Type::RemoteInboundRtp:
                add<RTCStatsReport::RemoteInboundRtpStreamStats>(map, object);
                break;
            case Type::RemoteOutboundRtp:
                add<RTCStatsReport::RemoteOutboundRtpStreamStats>(map, object);
                break;
            case Type::MediaSource:
                if (object->getString("kind"_s) == "audio"_s)
                    add<RTCStatsReport::AudioSourceStats>(map, object);
                else
                    add<RTCStatsReport::VideoSourceStats>(map, object);
                break;
            case Type::MediaPlayout:
                add<RTCStatsReport::AudioPlayoutStats>(map, object);
                break;
            case Type::PeerConnection:
                add<RTCStatsReport::PeerConnectionStats>(map, object);
                break;
            case Type::DataChannel:
                add<RTCStatsReport::DataChannelStats>(map, object);
                break;
            case Type::Transport:
                add<RTCStatsReport::TransportStats>(map, object);
                break;
            case Type::CandidatePair:
                add<RTCStatsReport::IceCandidatePairStats>(map, object);
                break;
            case Type::LocalCandidate:
            case Type::RemoteCandidate:
                add<RTCStatsReport::IceCandidateStats>(map, object, *type);
                break;
            case Type::Certificate:
                add<RTCStatsReport::CertificateStats>(map, object);
                break;
            }
        }
    });
}

} // namespace WebCore

#endif // ENABLE(WEB_RTC) && USE(RUST_WEBRTC)
