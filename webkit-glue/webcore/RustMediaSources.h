// SPDX-License-Identifier: MPL-2.0
// Media between WebCore and wkrtc, as GstSamples, without copies:
// - RustIncomingSource: a remote track's RealtimeMediaSource, fed with the frames wkrtc decodes;
// - RustOutgoingSource: watches a local track's RealtimeMediaSource and pushes its frames into a
//   wkrtc external track, which wkrtc encodes and sends.
// Frames arrive on wkrtc's or the capture's threads; both classes are written for that.
#pragma once

#if ENABLE(WEB_RTC) && USE(RUST_WEBRTC)

#include "RealtimeMediaSource.h"
#include "RealtimeMediaSourceCapabilities.h"
#include "RealtimeMediaSourceSettings.h"
#include <memory>
#include <wkrtc/wkrtc.h>
#include <wtf/CheckedPtr.h>
#include <wtf/Lock.h>
#include <wtf/TZoneMalloc.h>

namespace WebCore {

class MediaStreamTrack;

class RustIncomingSource final : public RealtimeMediaSource, public ThreadSafeRefCountedAndCanMakeThreadSafeWeakPtr<RustIncomingSource, WTF::DestructionThread::MainRunLoop> {
public:
    WTF_ABSTRACT_THREAD_SAFE_REF_COUNTED_AND_CAN_MAKE_WEAK_PTR_IMPL;

    // `track` is the receiver's wkrtc track; remote sources start muted, and unmute when the
    // peer starts sending (RustPeerConnectionBackend).
    static Ref<RustIncomingSource> create(std::unique_ptr<wkrtc::Track>&&, const String& label);
    ~RustIncomingSource();

private:
    RustIncomingSource(std::unique_ptr<wkrtc::Track>&&, const String& label);

    // RealtimeMediaSource
    const RealtimeMediaSourceCapabilities& capabilities() final;
    const RealtimeMediaSourceSettings& settings() final;
    bool isIncomingAudioSource() const final { return type() == Type::Audio; }
    bool isIncomingVideoSource() const final { return type() == Type::Video; }
    void startProducingData() final;
    void stopProducingData() final;

    // On a wkrtc thread.
    void deliver(GstSample*, int width, int height);

    // wkrtc's callback reaches the source through this, under its lock: the destructor
    // clears it and waits for a delivery under way, so no frame reaches a dead source.
    struct Relay {
        Lock lock;
        RustIncomingSource* source WTF_GUARDED_BY_LOCK(lock) { nullptr };
    };
    std::shared_ptr<Relay> m_relay;
    std::unique_ptr<wkrtc::Track> m_track;
    RealtimeMediaSourceCapabilities m_capabilities;
    RealtimeMediaSourceSettings m_settings;
    Lock m_sizeLock;
    IntSize m_size WTF_GUARDED_BY_LOCK(m_sizeLock);
};

class RustOutgoingSource final
    : public RealtimeMediaSource::VideoFrameObserver
    , public RealtimeMediaSource::AudioSampleObserver
    , public CanMakeCheckedPtr<RustOutgoingSource> {
    WTF_MAKE_TZONE_ALLOCATED(RustOutgoingSource);
    WTF_OVERRIDE_DELETE_FOR_CHECKED_PTR(RustOutgoingSource);
public:
    // Starts pushing `track`'s frames into a new wkrtc external track; null with `error` set.
    static std::unique_ptr<RustOutgoingSource> create(MediaStreamTrack&, wkrtc::Error&);
    ~RustOutgoingSource();

    const wkrtc::Track& wkrtcTrack() const { return *m_track; }
    uint64_t framesPushed() const { return m_framesPushed.load(); }

    // CheckedPtr interface
    uint32_t checkedPtrCount() const final { return CanMakeCheckedPtr::checkedPtrCount(); }
    uint32_t checkedPtrCountWithoutThreadCheck() const final { return CanMakeCheckedPtr::checkedPtrCountWithoutThreadCheck(); }
    void incrementCheckedPtrCount() const final { CanMakeCheckedPtr::incrementCheckedPtrCount(); }
    void decrementCheckedPtrCount() const final { CanMakeCheckedPtr::decrementCheckedPtrCount(); }

private:
    RustOutgoingSource(Ref<RealtimeMediaSource>&&, std::unique_ptr<wkrtc::Track>&&);

    // On the source's threads.
    void videoFrameAvailable(VideoFrame&, VideoFrameTimeMetadata) final;
    void audioSamplesAvailable(const WTF::MediaTime&, const PlatformAudioData&, const AudioStreamDescription&, size_t) final;

    Ref<RealtimeMediaSource> m_source;
    std::unique_ptr<wkrtc::Track> m_track;
    std::atomic<uint64_t> m_framesPushed { 0 };
};

} // namespace WebCore

#endif // ENABLE(WEB_RTC) && USE(RUST_WEBRTC)
