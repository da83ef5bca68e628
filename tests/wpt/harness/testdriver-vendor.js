// SPDX-License-Identifier: MPL-2.0
// wkrtc's WPT runner serves this file as /resources/testdriver-vendor.js, in place of WPT's
// own: the little of testdriver.js the webrtc/ tests use, without WebDriver.
//
// - set_permission: the browsers are started with camera and microphone granted (Chromium's
//   fake UI, Firefox's media.navigator.permission.disabled), so "granted" is already true
//   and succeeds; any other state cannot be set here and fails as "unimplemented", which
//   the tests' permission helper turns into a precondition failure, not a pass.
// - click (test_driver.bless): a synthetic click on the element. It is not a trusted user
//   gesture: what needs transient activation (getDisplayMedia) still fails, as it should
//   without a real input device.
(function () {
    "use strict";
    if (!window.test_driver_internal) {
        return;
    }
    const internal = window.test_driver_internal;
    internal.in_automation = true;
    internal.set_permission = async function (params) {
        if (params && params.state === "granted") {
            return;
        }
        throw new Error("unimplemented: wkrtc's WPT runner can only grant permissions");
    };
    internal.click = async function (element) {
        element.click();
    };
})();
