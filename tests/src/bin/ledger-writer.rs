//! Test fixture: appends envelopes to the ledger at `argv[1]` from 8 concurrent tasks until
//! killed, printing `ack <seq> <hash>` for each append once it has returned (is durable).
//! The crash test kills it with SIGKILL mid-append and checks every acknowledged entry.
//!
//! With `--until-full`, one task appends envelopes of 32 KiB, each with a caller row
//! `row/<seq>`, until an append fails (a full disk), printing `ack <seq> <hash>` for each,
//! then `failed <error>`, then `again <error>` for one more append after the failure, and
//! exits.

use std::io::Write;
use std::sync::Arc;

use corridor_core::{Envelope, SigningKey};
use corridor_ledger::RowChange;
use corridor_ledger::{Append, Ledger};

#[tokio::main]
async fn main() {
    let dir = std::env::args().nth(1).expect("usage: ledger-writer DIR");
    let key = SigningKey::from_seed(&[42; 32]);
    let ledger =
        Arc::new(Ledger::open(dir.as_ref(), "corridor/crash-test", &key).expect("open ledger"));
    if std::env::args().nth(2).as_deref() == Some("--until-full") {
        until_full(&ledger, &key).await;
        return;
    }
    let stdout = Arc::new(std::sync::Mutex::new(std::io::stdout()));
    let mut tasks = Vec::new();
    for t in 0..8u64 {
        let (ledger, key, stdout) = (ledger.clone(), key.clone(), stdout.clone());
        tasks.push(tokio::spawn(async move {
            for i in 0u64.. {
                let env = Envelope::sign(
                    "application/vnd.corridor.test",
                    format!("{t}/{i}").into_bytes(),
                    &key,
                );
                let bytes = corridor_proto::encode_envelope(&env);
                let a = ledger
                    .append(Append {
                        kind: "test.recorded".into(),
                        subject: "crash".into(),
                        time_unix_micros: 0,
                        envelope: bytes,
                        rows: vec![],
                    })
                    .await
                    .expect("append");
                let mut out = stdout.lock().unwrap_or_else(|p| p.into_inner());
                let _ = writeln!(out, "ack {} {}", a.seq, a.hash);
                let _ = out.flush();
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
}

/// One append of a 32 KiB envelope numbered `i`, with its caller row.
fn big(i: u64, key: &SigningKey) -> Append {
    let mut payload = format!("{i}/").into_bytes();
    payload.resize(32 * 1024, b'.');
    let env = Envelope::sign("application/vnd.corridor.test", payload, key);
    Append {
        kind: "test.recorded".into(),
        subject: "full".into(),
        time_unix_micros: 0,
        envelope: corridor_proto::encode_envelope(&env),
        rows: vec![RowChange::set(format!("row/{i}").into_bytes(), vec![1; 16])],
    }
}

async fn until_full(ledger: &Ledger, key: &SigningKey) {
    for i in 0u64.. {
        match ledger.append(big(i, key)).await {
            Ok(a) => println!("ack {} {}", a.seq, a.hash),
            Err(e) => {
                println!("failed {e}");
                match ledger.append(big(i + 1, key)).await {
                    Ok(a) => println!("again accepted {}", a.seq),
                    Err(e) => println!("again {e}"),
                }
                return;
            }
        }
    }
}
