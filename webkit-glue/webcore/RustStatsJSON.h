// SPDX-License-Identifier: MPL-2.0
// Reading wkrtc's W3C JSON stats members into WebCore's types: numbers, and enumerations by
// their W3C strings (WebCore's generated parsers).
#pragma once

#if ENABLE(WEB_RTC) && USE(RUST_WEBRTC)

#include "JSRTCDtlsTransportState.h"
#include "JSRTCIceCandidateType.h"
#include "JSRTCIceRole.h"
#include "JSRTCIceServerTransportProtocol.h"
#include "JSRTCIceTcpCandidateType.h"
#include "JSRTCIceTransportState.h"
#include "JSRTCStatsReport.h"
#include <JavaScriptCore/JSCInlines.h>
#include <optional>
#include <wtf/JSONValues.h>

namespace WebCore::RustStatsJSON {

// A number member, converted to `T`; absent (or not a number) is nullopt.
template<typename T>
std::optional<T> number(const JSON::Object& object, const String& name)
{
    auto value = object.getDouble(name);
    if (!value)
        return std::nullopt;
    return static_cast<T>(*value);
}

// An enumeration member, by its W3C string.
template<typename E>
std::optional<E> enumeration(const JSON::Object& object, const String& name)
{
    auto text = object.getString(name);
    if (text.isNull())
        return std::nullopt;
    return parseEnumerationFromString<E>(text);
}

} // namespace WebCore::RustStatsJSON

#endif // ENABLE(WEB_RTC) && USE(RUST_WEBRTC)
