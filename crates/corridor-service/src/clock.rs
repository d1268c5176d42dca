//! The `CorridorClock` service every corridor server offers: the corridor time by the
//! service's own clock, the one it checks documents by.

use std::time::SystemTime;

use corridor_proto::v1;
use corridor_topology::Clock;
use tonic::{Request, Response, Status};

/// Answers `GetCorridorTime` with `clock`.
#[derive(Clone, Copy, Debug)]
pub struct CorridorClockService {
    clock: Clock,
}

impl CorridorClockService {
    /// The clock service of a service running on `clock`.
    pub fn new(clock: Clock) -> Self {
        Self { clock }
    }
}

/// The system time in microseconds since the Unix epoch.
fn real_micros() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

#[tonic::async_trait]
impl v1::corridor_clock_server::CorridorClock for CorridorClockService {
    async fn get_corridor_time(
        &self,
        _: Request<v1::GetCorridorTimeRequest>,
    ) -> Result<Response<v1::CorridorTime>, Status> {
        let (kind, speed) = match self.clock {
            Clock::System => (v1::ClockKind::System, 1.0),
            Clock::Scenario { speed, .. } => (v1::ClockKind::Scenario, speed),
        };
        Ok(Response::new(v1::CorridorTime {
            now_unix_micros: self.clock.now_micros(),
            kind: kind as i32,
            speed,
            real_unix_micros: real_micros(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use v1::corridor_clock_server::CorridorClock;

    #[tokio::test]
    async fn a_scenario_clock_says_its_kind_speed_and_corridor_time() {
        let start_micros = 1_772_438_400_000_000; // 2026-03-02T08:00:00Z
        let clock = Clock::Scenario {
            start_micros,
            speed: 3600.0,
            anchor: SystemTime::now(),
        };
        let before = real_micros();
        let t = CorridorClockService::new(clock)
            .get_corridor_time(Request::new(v1::GetCorridorTimeRequest {}))
            .await
            .unwrap()
            .into_inner();
        let after = real_micros();
        assert_eq!(t.kind(), v1::ClockKind::Scenario);
        assert!((t.speed - 3600.0).abs() < f64::EPSILON);
        // An hour of corridor time passes per real second: within a minute of real time,
        // the clock is at most 60 corridor hours past its start.
        let hour = 3_600_000_000;
        assert!(
            t.now_unix_micros >= start_micros && t.now_unix_micros < start_micros + 60 * hour,
            "{}",
            t.now_unix_micros
        );
        assert!(before <= t.real_unix_micros && t.real_unix_micros <= after);
    }
}
