// SPDX-License-Identifier: MPL-2.0
// The wkrtc serve signaling client, shared by the main page and the interop test pages.
// Plain script (no modules): defines window.Wkrtc. Works unchanged in Chromium and Firefox.
"use strict";
(function () {
  const TIMEOUT_MS = 15000;

  // The verifiable message format (see cli/src/serve/pattern.rs).
  function makeMessage(seq, len) {
    len = Math.max(8, len);
    const buf = new Uint8Array(len);
    const view = new DataView(buf.buffer);
    view.setUint32(0, seq);
    view.setUint32(4, len);
    for (let i = 0; i < len - 8; i++) buf[8 + i] = (seq * 31 + i * 7) & 255;
    return buf;
  }
  function checkMessage(data) {
    const buf = new Uint8Array(data);
    if (buf.length < 8) throw new Error(`${buf.length}-byte message is shorter than its header`);
    const view = new DataView(buf.buffer, buf.byteOffset);
    const seq = view.getUint32(0), len = view.getUint32(4);
    if (len !== buf.length) throw new Error(`message ${seq}: ${buf.length} bytes, header says ${len}`);
    for (let i = 0; i < len - 8; i++) {
      if (buf[8 + i] !== ((seq * 31 + i * 7) & 255)) throw new Error(`message ${seq}: byte ${i + 8} differs`);
    }
    return seq;
  }

  function withTimeout(promise, ms, what) {
    let timer;
    return Promise.race([
      promise.finally(() => clearTimeout(timer)),
      new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms); }),
    ]);
  }

  function waitEvent(target, name, ms, what) {
    return withTimeout(new Promise((resolve) => target.addEventListener(name, resolve, { once: true })), ms || TIMEOUT_MS, what || name);
  }

  function waitOpen(dc, ms) {
    if (dc.readyState === "open") return Promise.resolve(dc);
    return waitEvent(dc, "open", ms, `open of channel '${dc.label}'`).then(() => dc);
  }

  class Session {
    constructor(ws) {
      this.ws = ws;
      this.queue = [];
      this.waiters = [];
      this.handlers = {};
      this.pc = null;
      ws.onmessage = (e) => this._dispatch(JSON.parse(e.data));
      this.closed = new Promise((resolve) => ws.addEventListener("close", resolve));
    }

    static open(url) {
      url = url || `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`;
      const ws = new WebSocket(url);
      const s = new Session(ws);
      return withTimeout(new Promise((resolve, reject) => {
        ws.onerror = () => reject(new Error("signaling socket failed"));
        s.on("hello", (m) => { s.id = m.session; resolve(s); });
      }), TIMEOUT_MS, "signaling hello");
    }

    on(type, fn) { (this.handlers[type] = this.handlers[type] || []).push(fn); }

    _dispatch(msg) {
      (this.handlers[msg.type] || []).forEach((fn) => fn(msg));
      const i = this.waiters.findIndex((w) => w.pred(msg));
      if (i >= 0) this.waiters.splice(i, 1)[0].resolve(msg);
      else this.queue.push(msg);
      if (this.queue.length > 1000) this.queue.shift();
    }

    send(obj) { this.ws.send(JSON.stringify(obj)); }

    // The next message of `type` (and matching `pred`), including ones already received.
    // `cancel()` on the result stops waiting (a waiter left behind would take a later message).
    next(type, pred, ms) {
      const match = (m) => m.type === type && (!pred || pred(m));
      const i = this.queue.findIndex(match);
      if (i >= 0) {
        const found = Promise.resolve(this.queue.splice(i, 1)[0]);
        found.cancel = () => {};
        return found;
      }
      const waiter = { pred: match };
      const arrived = new Promise((resolve) => { waiter.resolve = resolve; });
      this.waiters.push(waiter);
      const cancel = () => { const k = this.waiters.indexOf(waiter); if (k >= 0) this.waiters.splice(k, 1); };
      const timed = withTimeout(arrived, ms || TIMEOUT_MS, `'${type}' from wkrtc`);
      timed.catch(cancel);
      timed.cancel = cancel;
      return timed;
    }

    // Sends a request and waits for its reply of `replyType`, or fails with wkrtc's error.
    async request(obj, replyType, ms) {
      const err = this.next("error", (m) => m.request === obj.type, ms);
      const failed = err.then((e) => { throw Object.assign(new Error(e.message), { name: e.name, constraint: e.constraint }); });
      failed.catch(() => {});
      this.send(obj);
      try {
        return await Promise.race([this.next(replyType, null, ms), failed]);
      } finally {
        err.cancel();
      }
    }

    // Creates the browser's RTCPeerConnection, wired for trickle ICE with wkrtc.
    makePeer(config) {
      const pc = new RTCPeerConnection(config || {});
      this.pc = pc;
      this.localCandidates = [];
      pc.onicecandidate = (e) => {
        if (e.candidate && e.candidate.candidate) {
          this.localCandidates.push(e.candidate.candidate);
          this.send({ type: "candidate", candidate: e.candidate.candidate, sdpMid: e.candidate.sdpMid, sdpMLineIndex: e.candidate.sdpMLineIndex });
        }
      };
      this.on("candidate", (m) => {
        if (m.candidate) pc.addIceCandidate({ candidate: m.candidate, sdpMid: m.sdpMid, sdpMLineIndex: m.sdpMLineIndex }).catch(() => {});
      });
      this.on("offer", async (m) => {
        await pc.setRemoteDescription({ type: "offer", sdp: m.sdp });
        const answer = await pc.createAnswer();
        await pc.setLocalDescription(answer);
        this.send({ type: "answer", sdp: answer.sdp });
      });
      this.send({ type: "start" });
      return pc;
    }

    // The browser offers; resolves once wkrtc's answer is applied.
    async browserOffer() {
      const offer = await this.pc.createOffer();
      await this.pc.setLocalDescription(offer);
      const answer = await this.request({ type: "offer", sdp: offer.sdp }, "answer");
      await this.pc.setRemoteDescription({ type: "answer", sdp: answer.sdp });
    }

    // Asks wkrtc to create a channel (it offers if that needs negotiation).
    openRemoteChannel(label, init) { this.send(Object.assign({ type: "open-channel", label }, init || {})); }

    stats() { return this.request({ type: "stats" }, "stats"); }

    close() { try { if (this.pc) this.pc.close(); } catch (e) {} this.ws.close(); }
  }

  // Sends `count` messages of `size` bytes on `dc` with backpressure.
  async function sendPattern(dc, size, count, firstSeq) {
    dc.bufferedAmountLowThreshold = 512 * 1024;
    for (let i = 0; i < count; i++) {
      if (dc.bufferedAmount > 1024 * 1024) await waitEvent(dc, "bufferedamountlow", TIMEOUT_MS, "bufferedamountlow");
      dc.send(makeMessage((firstSeq || 0) + i, size));
    }
  }

  // Sends for `ms` milliseconds; resolves with the number of messages sent.
  async function sendFor(dc, size, ms) {
    dc.bufferedAmountLowThreshold = 512 * 1024;
    const end = performance.now() + ms;
    let seq = 0;
    while (performance.now() < end) {
      if (dc.bufferedAmount > 1024 * 1024) await waitEvent(dc, "bufferedamountlow", TIMEOUT_MS, "bufferedamountlow");
      dc.send(makeMessage(seq++, size));
    }
    return seq;
  }

  // Posts a result to the server (`POST /report`), with the browser's user agent.
  function report(body) {
    return fetch("/report", { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify(Object.assign({ userAgent: navigator.userAgent }, body)) });
  }

  // Runs the page's `?scenarios=a,b,c` from `scenarios` (name -> async function returning
  // figures) in order, each bounded, reporting {kind: "scenario", scenario, ok, error?, ms,
  // ...figures}, then {scenario: "done"}.
  async function runScenarios(scenarios, log) {
    const list = (new URLSearchParams(location.search).get("scenarios") || "").split(",").filter(Boolean);
    const done = (body) => report(Object.assign({ kind: "scenario" }, body));
    for (const name of list) {
      log(`${name}...`);
      const t0 = performance.now();
      try {
        if (!scenarios[name]) throw new Error(`no scenario '${name}'`);
        const figures = await withTimeout(scenarios[name](), 120000, name);
        await done(Object.assign({ scenario: name, ok: true, ms: performance.now() - t0 }, figures));
        log(`${name}: ok`);
      } catch (e) {
        await done({ scenario: name, ok: false, error: `${e.name}: ${e.message}` });
        log(`${name}: ${e.message}`);
      }
    }
    await done({ scenario: "done", ok: true });
  }

  function median(xs) { const s = xs.slice().sort((a, b) => a - b); return s.length ? s[Math.floor(s.length / 2)] : NaN; }
  function percentile(xs, p) { const s = xs.slice().sort((a, b) => a - b); return s.length ? s[Math.min(s.length - 1, Math.floor(s.length * p))] : NaN; }

  window.Wkrtc = { Session, makeMessage, checkMessage, withTimeout, waitEvent, waitOpen, sendPattern, sendFor, median, percentile, report, runScenarios, TIMEOUT_MS };
})();
