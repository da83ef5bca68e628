// SPDX-License-Identifier: MPL-2.0
#include "config.h"
#include "RustMediaSources.h"

#if ENABLE(WEB_RTC) && USE(RUST_WEBRTC)

#include "CaptureDevice.h"
#include "GStreamerAudioData.h"
#include "GStreamerAudioStreamDescription.h"
#include "MediaStreamTrack.h"
#include "VideoFrameGStreamer.h"
#include <gst/audio/audio.h>
#include <wtf/MainThread.h>
#include "RustGlue.h"
#include <wtf/TZoneMallocInlines.h>
#include <wtf/text/CString.h>

namespace WebCore {

using RustGlue::toString;

static CaptureDevice incomingDevice(const wkrtc::Track& track, const String& label)
{
    auto type = track.kind() == "audio" ? CaptureDevice::DeviceType::Microphone : CaptureDevice::DeviceType::Camera;
    return CaptureDevice { toString(track.id()), type, label };
}

Ref<RustIncomingSource> RustIncomingSource::create(std::unique_ptr<wkrtc::Track>&& track, const String& label)
{
    auto source = adoptRef(*new RustIncomingSource(WTFMove(track), label));
    source->setMuted(true);
    // Frames flow from wkrtc from the start; muted until the peer sends.
    source->start();
    return source;
}

RustIncomingSource::RustIncomingSource(std::unique_ptr<wkrtc::Track>&& track, const String& label)
    : RealtimeMediaSource(incomingDevice(*track, label))
    , m_relay(std::make_shared<Relay>())
    , m_track(WTFMove(track))
{
    {
        Locker locker { m_relay->lock };
        m_relay->source = this;
    }
    RealtimeMediaSourceSupportedConstraints constraints;
    if (type() == Type::Video) {
        constraints.setSupportsWidth(true);
        constraints.setSupportsHeight(true);
    }
    m_capabilities = RealtimeMediaSourceCapabilities { constraints };
    m_settings.setSupportedConstraints(constraints);
    m_settings.setLabel(label);
}

RustIncomingSource::~RustIncomingSource()
{
    m_track->setFrameCallback(nullptr);
    Locker locker { m_relay->lock };
    m_relay->source = nullptr;
}

const RealtimeMediaSourceCapabilities& RustIncomingSource::capabilities()
{
    return m_capabilities;
}

const RealtimeMediaSourceSettings& RustIncomingSource::settings()
{
    if (type() == Type::Video) {
        Locker locker { m_sizeLock };
        m_settings.setWidth(m_size.width());
        m_settings.setHeight(m_size.height());
    }
    return m_settings;
}

void RustIncomingSource::startProducingData()
{
    std::weak_ptr<Relay> weakRelay = m_relay;
    m_track->setFrameCallback([weakRelay](GstSample* sample, int width, int height) {
        auto relay = weakRelay.lock();
        if (!relay)
            return;
        Locker locker { relay->lock };
        if (relay->source)
            relay->source->deliver(sample, width, height);
    });
}

void RustIncomingSource::stopProducingData()
{
    m_track->setFrameCallback(nullptr);
}

void RustIncomingSource::deliver(GstSample* sample, int width, int height)
{
    if (!sample)
        return;
    if (type() == Type::Video) {
        bool sizeChanged = false;
        {
            Locker locker { m_sizeLock };
            sizeChanged = m_size != IntSize { width, height };
            m_size = { width, height };
        }
        if (sizeChanged) {
            callOnMainThread([weakThis = ThreadSafeWeakPtr { *this }] {
                if (RefPtr protectedThis = weakThis.get())
                    protectedThis->notifySettingsDidChangeObservers({ RealtimeMediaSourceSettings::Flag::Width, RealtimeMediaSourceSettings::Flag::Height });
            });
        }
        videoFrameAvailable(VideoFrameGStreamer::createWrappedSample(GRefPtr<GstSample>(sample)), { });
        return;
    }

    GstAudioInfo info;
    auto* caps = gst_sample_get_caps(sample);
    auto* buffer = gst_sample_get_buffer(sample);
    if (!caps || !buffer || !gst_audio_info_from_caps(&info, caps) || !GST_AUDIO_INFO_BPF(&info))
        return;
    size_t frames = gst_buffer_get_size(buffer) / GST_AUDIO_INFO_BPF(&info);
    auto time = GST_BUFFER_PTS_IS_VALID(buffer) ? MediaTime(GST_BUFFER_PTS(buffer), GST_SECOND) : MediaTime::zeroTime();
    GStreamerAudioData data(GRefPtr<GstSample>(sample), info);
    GStreamerAudioStreamDescription description(info);
    audioSamplesAvailable(time, data, description, frames);
}

WTF_MAKE_TZONE_ALLOCATED_IMPL(RustOutgoingSource);

std::unique_ptr<RustOutgoingSource> RustOutgoingSource::create(MediaStreamTrack& track, wkrtc::Error& error)
{
    auto wkrtcTrack = wkrtc::Track::external(RustGlue::toStdString(track.kind()), RustGlue::toStdString(track.label()), error);
    if (error)
        return nullptr;
    Ref source = track.privateTrack().source();
    return std::unique_ptr<RustOutgoingSource>(new RustOutgoingSource(WTFMove(source), WTFMove(wkrtcTrack)));
}

RustOutgoingSource::RustOutgoingSource(Ref<RealtimeMediaSource>&& source, std::unique_ptr<wkrtc::Track>&& track)
    : m_source(WTFMove(source))
    , m_track(WTFMove(track))
{
    if (m_source->type() == RealtimeMediaSource::Type::Video)
        m_source->addVideoFrameObserver(*this);
    else
        m_source->addAudioSampleObserver(*this);
}

RustOutgoingSource::~RustOutgoingSource()
{
    // Removing the observer waits for a delivery under way on the source's thread.
    if (m_source->type() == RealtimeMediaSource::Type::Video)
        m_source->removeVideoFrameObserver(*this);
    else
        m_source->removeAudioSampleObserver(*this);
    m_track->stop();
}

void RustOutgoingSource::videoFrameAvailable(VideoFrame& frame, VideoFrameTimeMetadata)
{
    if (!is<VideoFrameGStreamer>(frame))
        return;
    auto& gstFrame = downcast<VideoFrameGStreamer>(frame);
    GstSample* sample = gstFrame.sample();
    auto* caps = sample ? gst_sample_get_caps(sample) : nullptr;
    auto* features = caps && gst_caps_get_size(caps) ? gst_caps_get_features(caps, 0) : nullptr;
    // wkrtc's encoders read system memory: GL or DMABuf frames are downloaded first.
    if (features && !gst_caps_features_contains(features, GST_CAPS_FEATURE_MEMORY_SYSTEM_MEMORY)) {
        auto downloaded = gstFrame.downloadSample();
        if (downloaded && !m_track->pushSample(downloaded.get()))
            m_framesPushed++;
        return;
    }
    if (sample && !m_track->pushSample(sample))
        m_framesPushed++;
}

void RustOutgoingSource::audioSamplesAvailable(const MediaTime&, const PlatformAudioData& data, const AudioStreamDescription&, size_t)
{
    if (!is<GStreamerAudioData>(data))
        return;
    auto& sample = downcast<GStreamerAudioData>(data).getSample();
    if (sample && !m_track->pushSample(sample.get()))
        m_framesPushed++;
}

} // namespace WebCore

#endif // ENABLE(WEB_RTC) && USE(RUST_WEBRTC)
