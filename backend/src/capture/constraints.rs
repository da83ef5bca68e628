// SPDX-License-Identifier: MPL-2.0
//! The W3C constraint model and the SelectSettings algorithm
//! (<https://w3c.github.io/mediacapture-main/#dfn-selectsettings>), without GStreamer: a
//! request (`MediaTrackConstraints`), the settings a device can offer (`Candidate`s), and the
//! choice among them by fitness distance.

use std::collections::BTreeMap;

use crate::{Error, Result};

/// The constrainable properties wkrtc knows, by their W3C names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Property {
    /// `deviceId`
    DeviceId,
    /// `groupId`
    GroupId,
    /// `width`
    Width,
    /// `height`
    Height,
    /// `aspectRatio`
    AspectRatio,
    /// `frameRate`
    FrameRate,
    /// `facingMode`
    FacingMode,
    /// `resizeMode`
    ResizeMode,
    /// `sampleRate`
    SampleRate,
    /// `sampleSize`
    SampleSize,
    /// `channelCount`
    ChannelCount,
    /// `echoCancellation`
    EchoCancellation,
    /// `autoGainControl`
    AutoGainControl,
    /// `noiseSuppression`
    NoiseSuppression,
}

impl Property {
    /// Every property, in the order settings are listed.
    pub const ALL: [Property; 14] = [
        Property::DeviceId,
        Property::GroupId,
        Property::Width,
        Property::Height,
        Property::AspectRatio,
        Property::FrameRate,
        Property::FacingMode,
        Property::ResizeMode,
        Property::SampleRate,
        Property::SampleSize,
        Property::ChannelCount,
        Property::EchoCancellation,
        Property::AutoGainControl,
        Property::NoiseSuppression,
    ];

    /// The W3C member name.
    pub fn name(self) -> &'static str {
        match self {
            Property::DeviceId => "deviceId",
            Property::GroupId => "groupId",
            Property::Width => "width",
            Property::Height => "height",
            Property::AspectRatio => "aspectRatio",
            Property::FrameRate => "frameRate",
            Property::FacingMode => "facingMode",
            Property::ResizeMode => "resizeMode",
            Property::SampleRate => "sampleRate",
            Property::SampleSize => "sampleSize",
            Property::ChannelCount => "channelCount",
            Property::EchoCancellation => "echoCancellation",
            Property::AutoGainControl => "autoGainControl",
            Property::NoiseSuppression => "noiseSuppression",
        }
    }

    /// The property named `name`, if wkrtc knows it (unknown ones are ignored, as the W3C says).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == name)
    }

    fn kind(self) -> ValueKind {
        match self {
            Property::DeviceId | Property::GroupId | Property::FacingMode | Property::ResizeMode => ValueKind::Text,
            Property::EchoCancellation | Property::AutoGainControl | Property::NoiseSuppression => ValueKind::Bool,
            _ => ValueKind::Number,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ValueKind {
    Number,
    Text,
    Bool,
}

/// A setting's value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Numbers (`long` and `double` settings alike).
    Number(f64),
    /// Strings and enumerations.
    Text(String),
    /// Booleans.
    Bool(bool),
}

/// One constraint on one property: what is required (`exact`, `min`, `max`) and what is
/// preferred (`ideal`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Constraint {
    /// `exact`: for strings, any of the listed values.
    pub exact: Option<Vec<Value>>,
    /// `ideal`: for strings, any of the listed values.
    pub ideal: Option<Vec<Value>>,
    /// `min` (numbers).
    pub min: Option<f64>,
    /// `max` (numbers).
    pub max: Option<f64>,
}

impl Constraint {
    /// A bare value: `ideal` in the basic set, `exact` in an advanced one (W3C).
    pub fn bare(value: Value, advanced: bool) -> Self {
        if advanced {
            Self { exact: Some(vec![value]), ..Self::default() }
        } else {
            Self { ideal: Some(vec![value]), ..Self::default() }
        }
    }

    fn is_required(&self) -> bool {
        self.exact.is_some() || self.min.is_some() || self.max.is_some()
    }

    /// Whether `actual` meets the required part.
    fn satisfied_by(&self, actual: &Value) -> bool {
        if let Some(exact) = &self.exact {
            if !exact.iter().any(|e| same(e, actual)) {
                return false;
            }
        }
        if let Value::Number(n) = actual {
            if self.min.is_some_and(|min| *n < min) || self.max.is_some_and(|max| *n > max) {
                return false;
            }
        }
        true
    }

    /// The W3C fitness distance of `actual` for this constraint (infinite if a required part
    /// fails; `None` means the device does not have the property).
    fn fitness(&self, actual: Option<&Value>) -> f64 {
        let Some(actual) = actual else {
            // A property the device does not have: only a required constraint fails.
            return if self.is_required() { f64::INFINITY } else { 0.0 };
        };
        if !self.satisfied_by(actual) {
            return f64::INFINITY;
        }
        let Some(ideal) = &self.ideal else { return 0.0 };
        match actual {
            Value::Number(a) => {
                let Some(Value::Number(i)) = ideal.first() else { return 0.0 };
                if a == i {
                    0.0
                } else {
                    (a - i).abs() / a.abs().max(i.abs())
                }
            }
            _ => {
                if ideal.iter().any(|i| same(i, actual)) {
                    0.0
                } else {
                    1.0
                }
            }
        }
    }

    /// The value closest to `ideal` (else `exact`, else `high`, the native value) within
    /// `[low, high]` and the bounds, for a
    /// setting the device can produce at any value in that range.
    fn preferred_number(&self, low: f64, high: f64) -> Option<f64> {
        let mut low = low.max(self.min.unwrap_or(f64::MIN));
        let mut high = high.min(self.max.unwrap_or(f64::MAX));
        if let Some(Value::Number(e)) = self.exact.as_ref().and_then(|e| e.first()) {
            low = low.max(*e);
            high = high.min(*e);
        }
        if low > high {
            return None;
        }
        let target = match self.ideal.as_ref().or(self.exact.as_ref()).and_then(|i| i.first()) {
            Some(Value::Number(i)) => *i,
            // Only bounds: the native value, brought within them.
            _ => high,
        };
        Some(target.clamp(low, high))
    }
}

fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => (x - y).abs() < 1e-9,
        _ => a == b,
    }
}

/// A set of constraints, one per property at most.
pub type ConstraintSet = BTreeMap<Property, Constraint>;

/// `MediaTrackConstraints`: the basic set and the advanced sets, in order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TrackConstraints {
    /// The basic set.
    pub basic: ConstraintSet,
    /// `advanced`.
    pub advanced: Vec<ConstraintSet>,
}

/// Settings a device can be opened with.
pub type Settings = BTreeMap<Property, Value>;

/// One choice SelectSettings weighs: a device (by index in the caller's list) and settings
/// it can run with. `scalable` ranges say the device can also produce any value up to the
/// listed one (downscaling and frame dropping: `resizeMode` "crop-and-scale").
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// The caller's device index.
    pub device: usize,
    /// The settings, `resizeMode` "none".
    pub settings: Settings,
    /// Whether width, height and frame rate can be lowered from these.
    pub scalable: bool,
}

fn numeric(settings: &Settings, p: Property) -> Option<f64> {
    match settings.get(&p) {
        Some(Value::Number(n)) => Some(*n),
        _ => None,
    }
}

/// The candidate's settings with `resizeMode` "crop-and-scale" chosen for `constraints`:
/// width, height and frame rate brought to the ideal (within the required bounds and the
/// native values), keeping the aspect ratio when only one dimension is asked for. `None`
/// when that changes nothing.
fn scaled(candidate: &Settings, constraints: &ConstraintSet) -> Option<Settings> {
    let (w, h) = (numeric(candidate, Property::Width)?, numeric(candidate, Property::Height)?);
    let fps = numeric(candidate, Property::FrameRate);
    let pick = |p: Property, native: f64| constraints.get(&p).and_then(|c| c.preferred_number(1.0, native));
    let (mut width, mut height) = (pick(Property::Width, w), pick(Property::Height, h));
    match (width, height) {
        (Some(x), None) => height = Some((x * h / w).round().clamp(1.0, h)),
        (None, Some(y)) => width = Some((y * w / h).round().clamp(1.0, w)),
        _ => {}
    }
    let width = width.unwrap_or(w).round();
    let height = height.unwrap_or(h).round();
    let frame_rate = fps.map(|f| pick(Property::FrameRate, f).unwrap_or(f));
    if width == w && height == h && frame_rate == fps {
        return None;
    }
    let mut settings = candidate.clone();
    settings.insert(Property::Width, Value::Number(width));
    settings.insert(Property::Height, Value::Number(height));
    settings.insert(Property::AspectRatio, Value::Number(width / height));
    if let Some(f) = frame_rate {
        settings.insert(Property::FrameRate, Value::Number(f));
    }
    settings.insert(Property::ResizeMode, Value::Text("crop-and-scale".into()));
    Some(settings)
}

fn distance(settings: &Settings, set: &ConstraintSet) -> f64 {
    set.iter().map(|(p, c)| c.fitness(settings.get(p))).sum()
}

/// The first property of `set` that no settings in `all` can meet, for OverconstrainedError.
fn failing_constraint(all: &[Settings], set: &ConstraintSet) -> Property {
    set.iter()
        .find(|(p, c)| all.iter().all(|s| c.fitness(s.get(p)).is_infinite()))
        .or_else(|| set.iter().find(|(_, c)| c.is_required()))
        .map(|(p, _)| *p)
        .unwrap_or(Property::DeviceId)
}

/// SelectSettings: the device and settings that satisfy every required constraint of the
/// basic set, as many advanced sets as possible in order, and fit the basic set's ideals best.
///
/// Errors: `OverconstrainedError` naming a constraint no candidate meets; `NotFoundError`
/// without candidates.
pub fn select_settings(candidates: &[Candidate], constraints: &TrackConstraints) -> Result<(usize, Settings)> {
    if candidates.is_empty() {
        return Err(Error::NotFound("no device of this kind".into()));
    }
    // Each candidate as it is, and, when it can scale, scaled towards the basic set's ideals.
    let mut options: Vec<(usize, Settings)> = Vec::new();
    for c in candidates {
        let mut native = c.settings.clone();
        if numeric(&native, Property::Width).is_some() {
            native.insert(Property::ResizeMode, Value::Text("none".into()));
        }
        if c.scalable {
            if let Some(s) = scaled(&native, &c.settings_constraints(constraints)) {
                options.push((c.device, s));
            }
        }
        options.push((c.device, native));
    }
    let all: Vec<Settings> = options.iter().map(|(_, s)| s.clone()).collect();
    let mut left: Vec<(usize, Settings)> = options.into_iter().filter(|(_, s)| distance(s, &constraints.basic).is_finite()).collect();
    if left.is_empty() {
        let p = failing_constraint(&all, &constraints.basic);
        return Err(Error::Overconstrained { constraint: p.name().into(), message: format!("no device meets the required {}", p.name()) });
    }
    for set in &constraints.advanced {
        let meeting: Vec<(usize, Settings)> = left.iter().filter(|(_, s)| distance(s, set).is_finite()).cloned().collect();
        if !meeting.is_empty() {
            left = meeting;
        }
    }
    // The smallest distance; ties go to the earlier candidate (the caller's preference).
    let best = left
        .into_iter()
        .map(|(d, s)| (distance(&s, &constraints.basic), d, s))
        .fold(None::<(f64, usize, Settings)>, |best, item| match best {
            Some(b) if b.0 <= item.0 => Some(b),
            _ => Some(item),
        })
        .map(|(_, d, s)| (d, s))
        .ok_or_else(|| Error::Operation("no settings".into()))?;
    Ok(best)
}

impl Candidate {
    /// The constraints that steer scaling: the basic set, with the first advanced set that
    /// names a dimension taking precedence for it.
    fn settings_constraints(&self, constraints: &TrackConstraints) -> ConstraintSet {
        let mut set = constraints.basic.clone();
        for p in [Property::Width, Property::Height, Property::FrameRate] {
            if let Some(c) = constraints.advanced.iter().find_map(|a| a.get(&p)) {
                set.insert(p, c.clone());
            }
        }
        set
    }
}

/// Parses one `MediaTrackConstraints` dictionary (JSON, as a page writes it).
///
/// Errors: `TypeError` for a member of the wrong type.
pub fn parse_track_constraints(json: &serde_json::Value) -> Result<TrackConstraints> {
    let object = match json {
        serde_json::Value::Bool(_) | serde_json::Value::Null => return Ok(TrackConstraints::default()),
        serde_json::Value::Object(o) => o,
        _ => return Err(Error::Type("track constraints must be a boolean or a dictionary".into())),
    };
    let mut constraints = TrackConstraints { basic: parse_set(object, false)?, advanced: Vec::new() };
    if let Some(advanced) = object.get("advanced") {
        let list = advanced.as_array().ok_or_else(|| Error::Type("advanced must be a list".into()))?;
        for set in list {
            let set = set.as_object().ok_or_else(|| Error::Type("an advanced entry must be a dictionary".into()))?;
            constraints.advanced.push(parse_set(set, true)?);
        }
    }
    Ok(constraints)
}

fn parse_set(object: &serde_json::Map<String, serde_json::Value>, advanced: bool) -> Result<ConstraintSet> {
    let mut set = ConstraintSet::new();
    for (name, value) in object {
        let Some(p) = Property::from_name(name) else { continue };
        set.insert(p, parse_constraint(p, value, advanced)?);
    }
    Ok(set)
}

fn parse_value(p: Property, v: &serde_json::Value) -> Result<Vec<Value>> {
    let wrong = || Error::Type(format!("{} has a value of the wrong type", p.name()));
    match (p.kind(), v) {
        (ValueKind::Number, serde_json::Value::Number(n)) => Ok(vec![Value::Number(n.as_f64().ok_or_else(wrong)?)]),
        (ValueKind::Bool, serde_json::Value::Bool(b)) => Ok(vec![Value::Bool(*b)]),
        (ValueKind::Text, serde_json::Value::String(s)) => Ok(vec![Value::Text(s.clone())]),
        (ValueKind::Text, serde_json::Value::Array(a)) => a.iter().map(|s| s.as_str().map(|s| Value::Text(s.to_owned())).ok_or_else(wrong)).collect(),
        _ => Err(wrong()),
    }
}

fn parse_constraint(p: Property, value: &serde_json::Value, advanced: bool) -> Result<Constraint> {
    let serde_json::Value::Object(o) = value else {
        let values = parse_value(p, value)?;
        return Ok(if advanced {
            Constraint { exact: Some(values), ..Constraint::default() }
        } else {
            Constraint { ideal: Some(values), ..Constraint::default() }
        });
    };
    let number = |key: &str| -> Result<Option<f64>> {
        match o.get(key) {
            None => Ok(None),
            Some(v) => v.as_f64().map(Some).ok_or_else(|| Error::Type(format!("{}.{key} must be a number", p.name()))),
        }
    };
    let c = Constraint {
        exact: o.get("exact").map(|v| parse_value(p, v)).transpose()?,
        ideal: o.get("ideal").map(|v| parse_value(p, v)).transpose()?,
        min: if p.kind() == ValueKind::Number { number("min")? } else { None },
        max: if p.kind() == ValueKind::Number { number("max")? } else { None },
    };
    if let (Some(min), Some(max)) = (c.min, c.max) {
        if min > max {
            return Err(Error::Overconstrained { constraint: p.name().into(), message: format!("{}: min {min} is above max {max}", p.name()) });
        }
    }
    Ok(c)
}

/// `getSettings()` as JSON with the W3C member names.
pub fn settings_json(settings: &Settings) -> serde_json::Value {
    let mut o = serde_json::Map::new();
    for (p, v) in settings {
        let value = match v {
            Value::Number(n) if n.fract() == 0.0 && *p != Property::AspectRatio && *p != Property::FrameRate => serde_json::json!(*n as i64),
            Value::Number(n) => serde_json::json!(n),
            Value::Text(t) => serde_json::json!(t),
            Value::Bool(b) => serde_json::json!(b),
        };
        o.insert(p.name().to_owned(), value);
    }
    serde_json::Value::Object(o)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn camera(device: usize, modes: &[(u32, u32, u32)], facing: &str, scalable: bool) -> Vec<Candidate> {
        modes
            .iter()
            .map(|&(w, h, f)| Candidate {
                device,
                settings: Settings::from([
                    (Property::DeviceId, Value::Text(format!("cam{device}"))),
                    (Property::Width, Value::Number(w.into())),
                    (Property::Height, Value::Number(h.into())),
                    (Property::AspectRatio, Value::Number(f64::from(w) / f64::from(h))),
                    (Property::FrameRate, Value::Number(f.into())),
                    (Property::FacingMode, Value::Text(facing.into())),
                ]),
                scalable,
            })
            .collect()
    }

    fn two_cameras() -> Vec<Candidate> {
        let mut c = camera(0, &[(640, 480, 30), (1280, 720, 30), (1920, 1080, 15)], "user", true);
        c.extend(camera(1, &[(320, 240, 60), (1280, 720, 60)], "environment", false));
        c
    }

    fn select(constraints: serde_json::Value) -> Result<(usize, Settings)> {
        select_settings(&two_cameras(), &parse_track_constraints(&constraints).unwrap())
    }

    fn dims(s: &Settings) -> (f64, f64, f64) {
        (numeric(s, Property::Width).unwrap(), numeric(s, Property::Height).unwrap(), numeric(s, Property::FrameRate).unwrap())
    }

    /// A row: constraints, the device chosen, its width, height and frame rate, and why.
    type Row = (serde_json::Value, usize, (f64, f64, f64), &'static str);

    #[test]
    fn selection_table() {
        let table: Vec<Row> = vec![
            (json!(true), 0, (640.0, 480.0, 30.0), "no constraints: the first device's first mode"),
            (json!({"width": 1280}), 0, (1280.0, 720.0, 30.0), "a bare width is ideal and met natively"),
            (json!({"width": 800}), 0, (800.0, 450.0, 30.0), "an ideal between modes is scaled down from the next larger mode, keeping 16:9"),
            (json!({"width": {"exact": 320}}), 0, (320.0, 240.0, 30.0), "an exact width is met by scaling the first camera"),
            (json!({"width": {"exact": 320}, "resizeMode": {"exact": "none"}}), 1, (320.0, 240.0, 60.0), "without scaling, only the second camera has it"),
            (json!({"width": {"min": 1000}, "frameRate": {"min": 50}}), 1, (1280.0, 720.0, 60.0), "min width and frame rate together"),
            (json!({"facingMode": "environment"}), 1, (320.0, 240.0, 60.0), "facingMode as an ideal"),
            (json!({"facingMode": {"exact": "user"}, "frameRate": 60}), 0, (640.0, 480.0, 30.0), "exact facing mode wins over an ideal frame rate"),
            (json!({"deviceId": {"exact": "cam1"}}), 1, (320.0, 240.0, 60.0), "exact deviceId"),
            (json!({"height": 1080}), 0, (1920.0, 1080.0, 15.0), "ideal height met natively"),
            (json!({"width": 640, "frameRate": 15}), 0, (640.0, 480.0, 15.0), "frame rate lowered by scaling"),
            (json!({"frameRate": {"max": 15}}), 0, (640.0, 480.0, 15.0), "a maximum alone brings the native rate down to it"),
            (json!({"width": {"max": 400}}), 0, (400.0, 300.0, 30.0), "a maximum width scales, keeping the aspect ratio"),
            (json!({"width": 640, "resizeMode": "none", "frameRate": 15}), 0, (640.0, 480.0, 30.0), "resizeMode none prefers a native mode"),
            (
                json!({"advanced": [{"width": 5000}, {"facingMode": "environment"}]}),
                1,
                (320.0, 240.0, 60.0),
                "an impossible advanced set is skipped, the next applies",
            ),
            (json!({"width": {"ideal": 1280}, "advanced": [{"frameRate": {"min": 60}}]}), 1, (1280.0, 720.0, 60.0), "advanced narrows, then ideals pick"),
        ];
        for (constraints, device, expected, why) in table {
            let (d, s) = select(constraints.clone()).unwrap_or_else(|e| panic!("{why}: {e}"));
            assert_eq!((d, dims(&s)), (device, expected), "{why} ({constraints})");
        }
    }

    #[test]
    fn overconstrained_names_the_constraint() {
        let table = [
            (json!({"width": {"exact": 4000}}), "width"),
            (json!({"frameRate": {"min": 120}}), "frameRate"),
            (json!({"facingMode": {"exact": "left"}}), "facingMode"),
            (json!({"deviceId": {"exact": "nope"}}), "deviceId"),
            (json!({"width": {"min": 800, "max": 600}}), "width"),
        ];
        for (constraints, name) in table {
            let err = parse_track_constraints(&constraints).and_then(|c| select_settings(&two_cameras(), &c)).unwrap_err();
            assert_eq!(err.name(), "OverconstrainedError", "{constraints}");
            assert_eq!(err.constraint(), Some(name), "{constraints}");
        }
    }

    #[test]
    fn fitness_distance_follows_the_spec() {
        let ideal = |v: f64| Constraint { ideal: Some(vec![Value::Number(v)]), ..Constraint::default() };
        assert_eq!(ideal(640.0).fitness(Some(&Value::Number(640.0))), 0.0);
        assert_eq!(ideal(640.0).fitness(Some(&Value::Number(320.0))), 0.5);
        assert_eq!(ideal(320.0).fitness(Some(&Value::Number(640.0))), 0.5);
        let required = Constraint { min: Some(100.0), ..Constraint::default() };
        assert!(required.fitness(Some(&Value::Number(99.0))).is_infinite());
        assert!(required.fitness(None).is_infinite(), "a required constraint on a property the device lacks fails");
        assert_eq!(ideal(1.0).fitness(None), 0.0, "an ideal on a missing property costs nothing");
        let text = Constraint { ideal: Some(vec![Value::Text("user".into())]), ..Constraint::default() };
        assert_eq!(text.fitness(Some(&Value::Text("environment".into()))), 1.0);
        let flag = Constraint { exact: Some(vec![Value::Bool(true)]), ..Constraint::default() };
        assert!(flag.fitness(Some(&Value::Bool(false))).is_infinite());
    }

    #[test]
    fn parsing_types_and_bare_values() {
        let c = parse_track_constraints(&json!({"width": 640, "advanced": [{"width": 320}], "unknownThing": 3})).unwrap();
        assert_eq!(c.basic[&Property::Width].ideal, Some(vec![Value::Number(640.0)]), "bare in basic is ideal");
        assert_eq!(c.advanced[0][&Property::Width].exact, Some(vec![Value::Number(320.0)]), "bare in advanced is exact");
        assert_eq!(c.basic.len(), 1, "unknown constraints are ignored");
        for bad in [json!({"width": "wide"}), json!({"echoCancellation": 1}), json!({"facingMode": 3}), json!({"advanced": 1}), json!(7)] {
            assert_eq!(parse_track_constraints(&bad).unwrap_err().name(), "TypeError", "{bad}");
        }
    }

    #[test]
    fn audio_constraints() {
        let mic = |device: usize, ec: bool| Candidate {
            device,
            settings: Settings::from([
                (Property::DeviceId, Value::Text(format!("mic{device}"))),
                (Property::SampleRate, Value::Number(48000.0)),
                (Property::ChannelCount, Value::Number(1.0)),
                (Property::EchoCancellation, Value::Bool(ec)),
            ]),
            scalable: false,
        };
        let candidates = [mic(0, false), mic(0, true)];
        let pick = |j: serde_json::Value| select_settings(&candidates, &parse_track_constraints(&j).unwrap());
        assert_eq!(pick(json!({"echoCancellation": true})).unwrap().1[&Property::EchoCancellation], Value::Bool(true));
        assert_eq!(pick(json!({"echoCancellation": false})).unwrap().1[&Property::EchoCancellation], Value::Bool(false));
        assert_eq!(pick(json!({"channelCount": {"exact": 2}})).unwrap_err().constraint(), Some("channelCount"));
        assert!(pick(json!({"width": 640})).is_ok(), "a video ideal does not stop a microphone");
        assert_eq!(pick(json!({"width": {"exact": 640}})).unwrap_err().constraint(), Some("width"));
    }
}
