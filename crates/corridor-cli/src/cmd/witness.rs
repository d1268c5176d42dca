//! `corridor witness`: what the customs nodes' witnesses hold and how far each ledger is
//! witnessed (`status`), and the offline check of a piece of equivocation evidence
//! (`verify-evidence`).

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};
use corridor_core::PublicKey;
use corridor_ledger::witness::Evidence;
use corridor_proto::v1;
use corridor_proto::v1::ledger_reader_client::LedgerReaderClient;
use corridor_proto::v1::witness_client::WitnessClient;
use corridor_topology::{ServiceRole, Topology};

use crate::Outcome;
use crate::cmd::customs::TopologyArg;

#[derive(Subcommand)]
pub(crate) enum WitnessCommand {
    /// Each ledger's witnessed checkpoint (its size, who cosigned it, the quorum; a head not
    /// yet witnessed is marked UNWITNESSED HEAD, as a growing ledger's is for up to a
    /// witnessing interval), and each node's witness: the latest checkpoint it cosigned per
    /// log, and every equivocation it has proof of. Exit 1 when a witness holds proof of an
    /// equivocation; 2 when a service cannot be reached.
    Status(StatusArgs),
    /// Check a piece of equivocation evidence (the JSON a witness keeps, as `witness status
    /// --evidence DIR` writes it) with the log's public key from the topology, offline.
    /// Exit 0 it proves the log signed two histories, 1 it proves nothing, 2 bad input.
    VerifyEvidence(VerifyArgs),
}

#[derive(Args)]
pub(crate) struct StatusArgs {
    #[command(flatten)]
    topology: TopologyArg,
    /// Write each piece of evidence found to DIR as `<witness country>-<n>.json`.
    #[arg(long, value_name = "DIR")]
    evidence: Option<PathBuf>,
}

#[derive(Args)]
pub(crate) struct VerifyArgs {
    /// The evidence (JSON, proto/LEDGER.md "Witnessing").
    #[arg(value_name = "FILE")]
    file: PathBuf,
    #[command(flatten)]
    topology: TopologyArg,
}

pub(crate) fn run(c: WitnessCommand) -> anyhow::Result<Outcome> {
    match c {
        WitnessCommand::Status(a) => status(a),
        WitnessCommand::VerifyEvidence(a) => verify(a),
    }
}

/// Every ledger of the corridor: its service, a name for tables, its origin and key.
fn ledgers(t: &Topology) -> anyhow::Result<Vec<(ServiceRole, String, String, PublicKey)>> {
    let mut out = Vec::new();
    let mut roles = vec![(ServiceRole::Registry, "registry".to_owned())];
    for cc in t.country_codes() {
        roles.push((ServiceRole::Node(cc.clone()), format!("customs {cc}")));
    }
    roles.push((ServiceRole::Declarant, "declarant".to_owned()));
    for (role, label) in roles {
        let key = t.service_public_key(&role)?;
        out.push((role.clone(), label, t.ledger_origin(&role), key));
    }
    Ok(out)
}

fn status(a: StatusArgs) -> anyhow::Result<Outcome> {
    let t = a.topology.load()?;
    crate::cmd::block_on(async move {
        let connect = |addr: String| {
            let t = &t;
            async move {
                corridor_net::endpoint(t, &ServiceRole::Client, &addr)?
                    .connect()
                    .await
                    .with_context(|| format!("cannot reach {addr}"))
            }
        };
        let labels: Vec<(String, String)> = ledgers(&t)?
            .into_iter()
            .map(|(_, label, origin, _)| (origin, label))
            .collect();
        let label_of = |origin: &str| {
            labels
                .iter()
                .find(|(o, _)| o == origin)
                .map_or(origin.to_owned(), |(_, l)| l.clone())
        };
        let mut findings = false;
        println!(
            "{:<12} {:>8} {:>10}  COSIGNED BY",
            "LEDGER", "SIZE", "WITNESSED"
        );
        for (role, label, _, _) in ledgers(&t)? {
            let addr = match &role {
                ServiceRole::Registry => t.registry_addr()?,
                ServiceRole::Declarant => t.declarant_addr()?,
                ServiceRole::Node(cc) => t.node_addr(cc)?,
                ServiceRole::Client => continue,
            };
            let w = LedgerReaderClient::new(connect(addr.to_string()).await?)
                .get_witnessed_checkpoint(v1::GetWitnessedCheckpointRequest {})
                .await
                .map_err(crate::cmd::aeo::status)?
                .into_inner();
            let size = w.checkpoint.as_ref().map(|c| c.size);
            let head_witnessed = size == Some(w.ledger_size);
            let by = if w.quorum == 0 {
                "witnessing off".to_owned()
            } else if w.cosigners.is_empty() {
                format!("nobody yet (quorum {})", w.quorum)
            } else {
                let names: Vec<&str> = w
                    .cosigners
                    .iter()
                    .map(|n| n.rsplit('/').next().unwrap_or(n))
                    .collect();
                format!("{} (quorum {})", names.join(", "), w.quorum)
            };
            println!(
                "{label:<12} {:>8} {:>10}  {by}{}",
                w.ledger_size,
                size.map_or("-".to_owned(), |s| s.to_string()),
                if w.quorum > 0 && !head_witnessed {
                    "  UNWITNESSED HEAD"
                } else {
                    ""
                }
            );
        }
        println!();
        for cc in t.country_codes() {
            let s = WitnessClient::new(connect(t.node_addr(&cc)?.to_string()).await?)
                .get_witness_status(v1::GetWitnessStatusRequest {})
                .await
                .map_err(crate::cmd::aeo::status)?
                .into_inner();
            let logs: Vec<String> = s
                .logs
                .iter()
                .map(|l| format!("{} {}", label_of(&l.origin), l.size))
                .collect();
            println!("witness {cc}: cosigned {}", logs.join(", "));
            for (n, e) in s.equivocations.iter().enumerate() {
                findings = true;
                println!(
                    "  EQUIVOCATION by {} ({}): cosigned size {}, then offered size {} (found at {})",
                    label_of(&e.origin),
                    e.origin,
                    e.cosigned_size,
                    e.conflicting_size,
                    e.found_at
                );
                if let Some(dir) = &a.evidence {
                    std::fs::create_dir_all(dir)
                        .with_context(|| format!("cannot create {}", dir.display()))?;
                    let path = dir.join(format!("{cc}-{n}.json"));
                    std::fs::write(&path, &e.evidence_json)
                        .with_context(|| format!("cannot write {}", path.display()))?;
                    println!("  evidence: {}", path.display());
                }
            }
        }
        Ok(if findings {
            Outcome::Damaged
        } else {
            Outcome::Ok
        })
    })?
}

fn verify(a: VerifyArgs) -> anyhow::Result<Outcome> {
    let t = a.topology.load()?;
    let text = std::fs::read_to_string(&a.file)
        .with_context(|| format!("cannot read {}", a.file.display()))?;
    let evidence: Evidence = serde_json::from_str(&text)
        .with_context(|| format!("{} is not evidence", a.file.display()))?;
    let Some((_, label, _, key)) = ledgers(&t)?
        .into_iter()
        .find(|(_, _, origin, _)| *origin == evidence.origin)
    else {
        anyhow::bail!(
            "the evidence is of log {:?}, which is no ledger of this topology",
            evidence.origin
        );
    };
    match evidence.verify(&key) {
        Ok(what) => {
            println!("proven: {label} ({}): {what}", evidence.origin);
            Ok(Outcome::Ok)
        }
        Err(why) => {
            println!("not proven: {why}");
            Ok(Outcome::Damaged)
        }
    }
}
