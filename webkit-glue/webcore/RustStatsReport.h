// SPDX-License-Identifier: MPL-2.0
// WebCore's RTCStatsReport from wkrtc's W3C JSON report: whole, or the W3C selection for one
// sender or receiver (its RTP stream of the given mid and everything its *Id members lead to).
#pragma once

#if ENABLE(WEB_RTC) && USE(RUST_WEBRTC)

#include "RTCStatsReport.h"
#include <wtf/Ref.h>
#include <wtf/text/WTFString.h>

namespace WebCore {

enum class RustStatsSelection : uint8_t { All, Sender, Receiver };

// Null when `json` is not a report (an object of stats objects).
RefPtr<RTCStatsReport> makeRustStatsReport(const String& json, RustStatsSelection = RustStatsSelection::All, const String& mid = { });

} // namespace WebCore

#endif // ENABLE(WEB_RTC) && USE(RUST_WEBRTC)
