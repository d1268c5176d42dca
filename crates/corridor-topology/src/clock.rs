//! The corridor clock: the system clock in real use, or an accelerated scenario clock shared
//! by every service of a demonstration, so a multi-day corridor run takes minutes.
//!
//! A scenario clock maps real time to corridor time linearly: corridor time is `start` at the
//! real instant `anchor` and runs `speed` times faster than real time. Services that read the
//! same topology (with the same anchor) agree on corridor time.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::{Error, invalid};

/// The `[clock]` section of a topology.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum ClockConfig {
    /// The system clock.
    System,
    /// An accelerated scenario clock.
    Scenario {
        /// Corridor time at the anchor, RFC 3339 (`2026-03-02T06:00:00Z`).
        start: String,
        /// How many corridor seconds pass per real second (more than zero).
        speed: f64,
        /// Real time at which the corridor clock reads `start`, RFC 3339; when absent, the
        /// moment the service starts.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        anchor: Option<String>,
    },
}

fn rfc3339(field: &str, s: &str) -> Result<SystemTime, Error> {
    humantime::parse_rfc3339_weak(s).map_err(|e| {
        invalid(
            field,
            format!("expected an RFC 3339 UTC time ({e}), got {s:?}"),
        )
    })
}

fn micros(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_micros()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_micros()).unwrap_or(i64::MAX),
    }
}

impl ClockConfig {
    pub(crate) fn check(&self) -> Result<(), Error> {
        if let Self::Scenario {
            start,
            speed,
            anchor,
        } = self
        {
            rfc3339("clock.start", start)?;
            if !(speed.is_finite() && *speed > 0.0) {
                return Err(invalid("clock.speed", "must be more than zero"));
            }
            if let Some(a) = anchor {
                rfc3339("clock.anchor", a)?;
            }
        }
        Ok(())
    }

    /// The clock this section describes.
    pub fn clock(&self) -> Result<Clock, Error> {
        Ok(match self {
            Self::System => Clock::System,
            Self::Scenario {
                start,
                speed,
                anchor,
            } => Clock::Scenario {
                start_micros: micros(rfc3339("clock.start", start)?),
                speed: *speed,
                anchor: match anchor {
                    Some(a) => rfc3339("clock.anchor", a)?,
                    None => SystemTime::now(),
                },
            },
        })
    }
}

/// A running corridor clock.
#[derive(Clone, Copy, Debug)]
pub enum Clock {
    /// The system clock.
    System,
    /// Corridor time `start_micros` at real time `anchor`, running `speed` times faster.
    Scenario {
        /// Corridor time at the anchor, unix microseconds.
        start_micros: i64,
        /// Corridor seconds per real second.
        speed: f64,
        /// The real instant of `start_micros`.
        anchor: SystemTime,
    },
}

impl Clock {
    /// Now on the corridor clock, in microseconds since the Unix epoch.
    pub fn now_micros(&self) -> i64 {
        match self {
            Self::System => micros(SystemTime::now()),
            Self::Scenario {
                start_micros,
                speed,
                anchor,
            } => {
                let real = micros(SystemTime::now()) - micros(*anchor);
                start_micros.saturating_add((real as f64 * speed) as i64)
            }
        }
    }
}

/// Formats unix microseconds as RFC 3339 UTC (microsecond precision), for people.
pub fn format_micros(t: i64) -> String {
    if t < 0 {
        return t.to_string();
    }
    let st = UNIX_EPOCH + Duration::from_micros(t as u64);
    humantime::format_rfc3339_micros(st).to_string()
}

/// Parses a time given by a person: RFC 3339 UTC or unix microseconds.
pub fn parse_time(field: &str, s: &str) -> Result<i64, Error> {
    if let Ok(n) = s.parse::<i64>() {
        return Ok(n);
    }
    rfc3339(field, s).map(micros)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenario_clock_runs_faster_from_its_start() {
        let c = ClockConfig::Scenario {
            start: "2026-03-02T06:00:00Z".into(),
            speed: 3600.0,
            anchor: Some(humantime::format_rfc3339(SystemTime::now()).to_string()),
        }
        .clock()
        .unwrap();
        let start = parse_time("t", "2026-03-02T06:00:00Z").unwrap();
        let now = c.now_micros();
        // Within a few real seconds of the anchor: within a few corridor hours of the start.
        assert!(now >= start && now < start + 4 * 3_600_000_000, "{now}");
        assert_eq!(format_micros(start), "2026-03-02T06:00:00.000000Z");
        assert_eq!(parse_time("t", "42").unwrap(), 42);
        assert!(parse_time("at", "yesterday").is_err());
    }
}
