//! What `bench corridor` measures of witnessing: the witness lag (from an entry's append,
//! its own time in the ledger, to the first moment a witnessed checkpoint covering it is
//! seen: `GetWitnessedCheckpoint` asked of every service every [`EVERY`], so a lag is
//! over-stated by at most that) and the cosignatures the witnesses made (their own counters).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use corridor_audit::connect_plain as channel;
use corridor_proto::v1;
use corridor_proto::v1::ledger_reader_client::LedgerReaderClient;
use corridor_proto::v1::witness_client::WitnessClient;
use corridor_topology::Topology;
use tokio::sync::oneshot;
use tokio_stream::StreamExt;

/// How often every service's witnessed checkpoint is asked for.
pub(super) const EVERY: Duration = Duration::from_millis(50);

/// Samples of one service's witnessed size: (Unix microseconds, size), in time order.
type Samples = Vec<(i64, u64)>;

fn now_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}

/// Every service's address: the registry, the declarant, each node.
pub(super) fn addrs(t: &Topology) -> anyhow::Result<Vec<String>> {
    let mut out = vec![t.registry.listen.clone(), t.declarant.listen.clone()];
    for cc in t.country_codes() {
        out.push(t.node_addr(&cc)?.to_string());
    }
    Ok(out)
}

/// The task asking every service for its witnessed checkpoint until stopped.
pub(super) struct Sampler {
    stop: oneshot::Sender<bool>,
    task: tokio::task::JoinHandle<anyhow::Result<Vec<Samples>>>,
}

impl Sampler {
    /// Starts sampling the services at `addrs`.
    pub(super) async fn start(addrs: &[String]) -> anyhow::Result<Self> {
        let mut clients = Vec::new();
        for a in addrs {
            clients.push(LedgerReaderClient::new(channel(a).await?));
        }
        let (stop, mut stopped) = oneshot::channel::<bool>();
        let task = tokio::spawn(async move {
            let mut samples: Vec<Samples> = vec![Vec::new(); clients.len()];
            let mut ticks = tokio::time::interval(EVERY);
            // Once stopped: whether to go on until every ledger is witnessed, and until when.
            let mut until: Option<tokio::time::Instant> = None;
            loop {
                tokio::select! {
                    wait = &mut stopped, if until.is_none() => match wait {
                        Ok(true) => until = Some(tokio::time::Instant::now() + Duration::from_secs(30)),
                        _ => return Ok(samples),
                    },
                    _ = ticks.tick() => {}
                }
                let mut covered = true;
                for (c, s) in clients.iter_mut().zip(&mut samples) {
                    let w = c
                        .get_witnessed_checkpoint(v1::GetWitnessedCheckpointRequest {})
                        .await?
                        .into_inner();
                    let size = w.checkpoint.map_or(0, |cp| cp.size);
                    covered &= size == w.ledger_size;
                    s.push((now_micros(), size));
                }
                if until.is_some_and(|u| covered || tokio::time::Instant::now() > u) {
                    return Ok(samples);
                }
            }
        });
        Ok(Self { stop, task })
    }

    /// Stops sampling; with `witnessed`, only once a sample has seen every service's
    /// witnessed checkpoint cover its ledger (at most 30 s on). The samples, per service in
    /// the order of the addresses.
    pub(super) async fn finish(self, witnessed: bool) -> anyhow::Result<Vec<Samples>> {
        let _ = self.stop.send(witnessed);
        self.task.await?
    }
}

/// The append time of every entry of the ledger at `addr`, by sequence number.
pub(super) async fn entry_times(addr: &str) -> anyhow::Result<Vec<i64>> {
    let mut s = LedgerReaderClient::new(channel(addr).await?)
        .list_entries(v1::ListEntriesRequest {
            from_sequence: 0,
            to_sequence: 0,
        })
        .await?
        .into_inner();
    let mut out = Vec::new();
    while let Some(e) = s.next().await {
        out.push(e?.time_unix_micros);
    }
    Ok(out)
}

/// The witness lag, in microseconds, of every entry appended at or after `from` (Unix
/// microseconds): to the first sample whose witnessed size covers it. An entry no sample
/// covers is left out (the sampler gave up waiting).
pub(super) fn lags(times: &[i64], from: i64, samples: &[(i64, u64)]) -> Vec<i64> {
    let mut out = Vec::new();
    let mut j = 0;
    for (seq, &t) in times.iter().enumerate() {
        if t < from {
            continue;
        }
        while j < samples.len() && (samples[j].1 <= seq as u64 || samples[j].0 < t) {
            j += 1;
        }
        let Some((at, _)) = samples.get(j) else {
            break;
        };
        out.push(at - t);
    }
    out
}

/// Cosignatures the nodes' witnesses have made since they started.
pub(super) async fn cosignatures(t: &Topology) -> anyhow::Result<u64> {
    let mut n = 0;
    for cc in t.country_codes() {
        n += WitnessClient::new(channel(&t.node_addr(&cc)?.to_string()).await?)
            .get_witness_status(v1::GetWitnessStatusRequest {})
            .await?
            .into_inner()
            .cosignatures;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::lags;

    #[test]
    fn a_lag_runs_from_an_entry_s_time_to_the_first_sample_that_covers_it() {
        // Entries at 10, 20, 30; witnessed size 0 at 15, 2 at 40, 3 at 60.
        let samples = [(15, 0), (40, 2), (60, 3)];
        assert_eq!(lags(&[10, 20, 30], 0, &samples), [30, 20, 30]);
        // Only the entries from `from` on.
        assert_eq!(lags(&[10, 20, 30], 20, &samples), [20, 30]);
        // A sample taken before an entry's time does not count for it, even if it covers
        // its sequence number (clocks of two processes).
        assert_eq!(lags(&[50], 0, &[(40, 1), (70, 1)]), [20]);
        // An entry no sample covers is left out.
        assert_eq!(lags(&[10, 20], 0, &[(30, 1)]), [20]);
    }
}
