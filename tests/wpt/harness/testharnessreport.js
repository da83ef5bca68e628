// SPDX-License-Identifier: MPL-2.0
// wkrtc's WPT runner serves this file as /resources/testharnessreport.js, in place of WPT's
// own. The runner's server writes `wkrtcWpt` (the report address and the timeout
// multiplier) above it.
//
// A top-level test page reports its results once, when testharness.js has completed: one
// plain POST (no `keepalive`, which limits a body to 64 KiB), whose answer names the next
// page to open, or none. Frames and pages opened by a test load this file too and report
// nothing: only the page the runner opened speaks for the file.
(function () {
    "use strict";
    const config = self.wkrtcWpt || {};
    const topLevel = typeof window !== "undefined" && window.top === window && !window.opener;
    if (!topLevel) {
        return;
    }
    // No results table in the page (large IDL tests spend seconds drawing it), and the
    // runner's multiplier on every harness and step timeout.
    setup({ output: false, timeout_multiplier: config.timeoutMultiplier || 1 });

    const harnessStatus = ["OK", "ERROR", "TIMEOUT", "PRECONDITION_FAILED"];
    const testStatus = ["PASS", "FAIL", "TIMEOUT", "NOTRUN", "PRECONDITION_FAILED"];
    const clip = (text) => (text == null ? null : String(text).slice(0, 4000));
    let sent = false;

    add_completion_callback(function (tests, status) {
        if (sent) {
            return;
        }
        sent = true;
        const body = JSON.stringify({
            url: location.pathname + location.search,
            status: harnessStatus[status.status] || String(status.status),
            message: clip(status.message),
            stack: clip(status.stack),
            subtests: tests.map((t) => ({
                name: t.name,
                status: testStatus[t.status] || String(t.status),
                message: clip(t.message),
            })),
        });
        const xhr = new XMLHttpRequest();
        xhr.open("POST", config.reportPath || "/wkrtc-wpt/report");
        xhr.setRequestHeader("Content-Type", "application/json");
        xhr.onload = function () {
            let next = null;
            try {
                next = JSON.parse(xhr.responseText).next;
            } catch (e) {
                // No next page: the runner has moved on (its watchdog) or is done.
            }
            if (next) {
                location.replace(next);
            }
        };
        xhr.send(body);
    });
})();
