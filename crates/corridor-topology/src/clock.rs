//! The corridor clock: the system clock in real use, or an accelerated scenario clock shared
//! by every service of a demonstration, so a multi-day corridor run takes minutes.
//!
//! A scenario clock maps real time to corridor time linearly: corridor time is `start` at the
//! real instant `anchor` and runs `speed` times faster than real time. Services that read the
//! same topology (with the same anchor) agree on corridor time.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use corridor_core::ParseError;

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
    // RFC 3339 years have four digits: past 9999-12-31T23:59:59Z, the number itself.
    const LAST: i64 = 253_402_300_799_999_999;
    if !(0..=LAST).contains(&t) {
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

/// The `[document_times]` section of a topology: how far from a receiving service's corridor
/// clock a document may be dated when it enters the corridor (SIGNING.md section 3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DocumentTimes {
    /// How far ahead of the receiver's clock a document may be dated, in corridor seconds
    /// (signers' clocks drift; 300 by default).
    pub max_ahead_secs: u32,
    /// How long before the receiver's clock a document may be dated, in corridor seconds
    /// (2,592,000 by default: 30 days).
    pub max_age_secs: u32,
}

impl Default for DocumentTimes {
    fn default() -> Self {
        Self {
            max_ahead_secs: 300,
            max_age_secs: 30 * 86_400,
        }
    }
}

const SECOND: i64 = 1_000_000;

fn required(field: &str, at: i64) -> Result<(), ParseError> {
    if at <= 0 {
        return Err(ParseError::new(
            field,
            format!("required: a time in microseconds since the Unix epoch, got {at}"),
        ));
    }
    Ok(())
}

impl DocumentTimes {
    pub(crate) fn check(&self) -> Result<(), Error> {
        if self.max_age_secs == 0 {
            return Err(invalid(
                "document_times.max_age_secs",
                "must be more than zero",
            ));
        }
        Ok(())
    }

    /// Refuses a document time `at` (the document's field `field`) outside the window
    /// around `now`, the receiver's corridor time: more than `max_ahead_secs` ahead of it, or
    /// more than `max_age_secs` before it.
    pub fn check_window(&self, field: &str, at: i64, now: i64) -> Result<(), ParseError> {
        let earliest = now.saturating_sub(i64::from(self.max_age_secs) * SECOND);
        let latest = self.latest(now);
        required(field, at)?;
        if at < earliest || at > latest {
            let window = format!(
                "from {} to {}",
                format_micros(earliest),
                format_micros(latest)
            );
            return Err(self.outside(field, at, now, &window));
        }
        Ok(())
    }

    /// Refuses a document time `at` more than `max_ahead_secs` ahead of `now` (or not after
    /// the epoch): the bound on a document another corridor service recorded before, whose
    /// age is the age of the record.
    pub fn check_ahead(&self, field: &str, at: i64, now: i64) -> Result<(), ParseError> {
        required(field, at)?;
        let latest = self.latest(now);
        if at > latest {
            let window = format!("up to {}", format_micros(latest));
            return Err(self.outside(field, at, now, &window));
        }
        Ok(())
    }

    fn latest(&self, now: i64) -> i64 {
        now.saturating_add(i64::from(self.max_ahead_secs) * SECOND)
    }

    fn outside(&self, field: &str, at: i64, now: i64, window: &str) -> ParseError {
        let stated = match format_micros(at) {
            n if n == at.to_string() => n,
            t => format!("{t} ({at})"),
        };
        ParseError::new(
            field,
            format!(
                "{stated} is outside the accepted window, {window}: documents are dated on the corridor clock, now {}, at most {} s ahead and {} s behind it",
                format_micros(now),
                self.max_ahead_secs,
                self.max_age_secs,
            ),
        )
    }
}
