//! The declarant's client verbs: `declare`, `status`, `watch`, `bill`, `cancel`. Each finds
//! the declarant through `--topology FILE`.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use corridor_core::document::{Text, TransferAction};
use corridor_core::{Digest, Envelope, OperatorId, SigningKey, payload_type as pt};
use corridor_proto::customs::{lane_name, state_name};
use corridor_proto::examples::{Parties, plain_consignment};
use corridor_proto::v1;
use corridor_proto::v1::corridor_clock_client::CorridorClockClient;
use corridor_proto::v1::declarant_client::DeclarantClient;
use corridor_topology::Topology;
use corridor_topology::clock::format_micros;
use tokio_stream::StreamExt;
use tonic::transport::Channel;

use crate::Outcome;
use crate::cmd::customs::{TopologyArg, consignment_id};
use crate::cmd::runtime;

/// `corridor declare`.
#[derive(Args)]
pub(crate) struct DeclareArgs {
    #[command(flatten)]
    topology: TopologyArg,
    /// The consignment: the proto3 JSON form of a `corridor.v1.SubmitConsignmentRequest`
    /// (see deploy/examples/consignment.json).
    #[arg(long, value_name = "FILE", required_unless_present = "example")]
    file: Option<PathBuf>,
    /// Print a sample consignment file (the demonstration operators) and exit.
    #[arg(long, conflicts_with = "file")]
    example: bool,
    /// With `--example`: leave the bill out, for a file to declare with `--bill-dcsa` (the
    /// bill then comes from `bill example`); a consignment of its own, declaration reference
    /// XSRE-2027-0101.
    #[arg(long, requires = "example")]
    without_bill: bool,
    /// The bill of lading as a DCSA eBL 3.0 transport document (JSON): imported as `bill
    /// import --dcsa` imports one, and declared with the `--file`'s declaration.
    #[arg(long, value_name = "TD.json", requires = "file")]
    bill_dcsa: Option<PathBuf>,
}

/// A consignment id and the topology.
#[derive(Args)]
pub(crate) struct IdArgs {
    #[command(flatten)]
    topology: TopologyArg,
    /// The consignment id (64 hex digits).
    #[arg(value_name = "ID")]
    id: String,
}

/// `corridor cancel`.
#[derive(Args)]
pub(crate) struct CancelArgs {
    #[command(flatten)]
    at: IdArgs,
    /// Why the declaration is withdrawn.
    #[arg(long)]
    reason: String,
}

/// `corridor bill`.
#[derive(Args)]
pub(crate) struct BillArgs {
    #[command(flatten)]
    topology: TopologyArg,
    #[command(subcommand)]
    command: BillCommand,
}

/// What to do with a bill.
#[derive(Subcommand)]
enum BillCommand {
    /// Show a bill and its transfer chain, or write it as a DCSA transport document.
    Show {
        /// The bill's document id (64 hex digits).
        #[arg(value_name = "BILL_ID")]
        id: String,
        /// Write the bill as a DCSA eBL 3.0 transport document (JSON) instead: the imported
        /// original, or one generated from the bill's data.
        #[arg(long)]
        dcsa: bool,
        /// Where to write it, in the RFC 8785 canonical form its checksum is of (default:
        /// standard output, indented).
        #[arg(long, value_name = "FILE", requires = "dcsa")]
        out: Option<PathBuf>,
        /// The contact a generated document names (DCSA partyContactDetails).
        #[arg(long, value_name = "NAME", requires = "dcsa")]
        contact_name: Option<String>,
        /// The contact's email.
        #[arg(long, value_name = "EMAIL", requires = "contact_name")]
        contact_email: Option<String>,
        /// The contact's phone.
        #[arg(long, value_name = "PHONE", requires = "contact_name")]
        contact_phone: Option<String>,
    },
    /// Write the sample consignment's bill (`declare --example`) as a DCSA eBL 3.0 transport
    /// document issued now on the declarant's corridor clock, ready for `bill import --dcsa`
    /// or `declare --bill-dcsa`.
    Example {
        /// The document's transportDocumentReference (a bill's reference is its own: give
        /// each document a new one).
        #[arg(long, value_name = "REF", default_value = "KTZE-2027-000101")]
        reference: String,
        /// Where to write it (default: standard output).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Put a DCSA eBL 3.0 transport document on the platform as a bill issued by its carrier
    /// (the declarant must hold the carrier's key).
    Import {
        /// The transport document (JSON). Checked here against the DCSA schema first: a
        /// failing one gets a line per violation and exit 2, and nothing is sent.
        #[arg(long, value_name = "TD.json")]
        dcsa: PathBuf,
    },
    /// Pass possession to another holder (signed by the current holder).
    Transfer(MoveArgs),
    /// Endorse a to-order bill to the next holder, who gains title (signed by the holder).
    Endorse(MoveArgs),
    /// Surrender the bill to its carrier for delivery (signed by the holder).
    Surrender {
        /// The bill's document id.
        #[arg(value_name = "BILL_ID")]
        id: String,
        /// The holder's private key.
        #[arg(long, value_name = "PATH")]
        key: PathBuf,
    },
    /// The carrier accepts a surrender: the bill is spent.
    Accept {
        /// The bill's document id.
        #[arg(value_name = "BILL_ID")]
        id: String,
        /// The carrier's private key.
        #[arg(long, value_name = "PATH")]
        key: PathBuf,
    },
    /// The carrier rejects a surrender: the bill returns to the holder.
    Reject {
        /// The bill's document id.
        #[arg(value_name = "BILL_ID")]
        id: String,
        /// Why.
        #[arg(long)]
        reason: String,
        /// The carrier's private key.
        #[arg(long, value_name = "PATH")]
        key: PathBuf,
    },
}

#[derive(Args)]
struct MoveArgs {
    /// The bill's document id (64 hex digits).
    #[arg(value_name = "BILL_ID")]
    id: String,
    /// The operator the bill goes to.
    #[arg(long, value_name = "OPERATOR")]
    to: String,
    /// The current holder's private key.
    #[arg(long, value_name = "PATH")]
    key: PathBuf,
}

async fn client(t: &Topology) -> anyhow::Result<DeclarantClient<Channel>> {
    let addr = &t.declarant.listen;
    let channel = corridor_net::endpoint(t, &corridor_topology::ServiceRole::Client, addr)?
        .connect()
        .await
        .with_context(|| format!("cannot reach the declarant at {addr}"))?;
    Ok(DeclarantClient::new(channel))
}

fn status(s: tonic::Status) -> anyhow::Error {
    anyhow::anyhow!("{}: {}", s.code().description(), s.message())
}

const REQUEST: &str = "corridor.v1.SubmitConsignmentRequest";

/// Reads a consignment file: proto3 JSON of a `SubmitConsignmentRequest`. A malformed file is
/// one error naming the file, the field and the reason.
pub(crate) fn read_consignment(path: &Path) -> anyhow::Result<v1::SubmitConsignmentRequest> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    parse_consignment(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

fn parse_consignment(text: &str) -> Result<v1::SubmitConsignmentRequest, String> {
    corridor_proto::json::from_json(text, REQUEST).map_err(|e| e.to_string())
}

/// The sample consignment of `deploy/examples/consignment.json`: the sample goods of
/// `corridor_core::document::examples` between the topology's demonstration operators
/// (shipper CN91610131XA01, forwarder CN91650000HG02 lodging for it, carrier
/// KZ180540012345, consignee TR3456789012), with the bill's issue and the declaration's
/// times left to the declarant (0: now) and the carriage planned from 2027-03-01.
pub(crate) fn example_request() -> v1::SubmitConsignmentRequest {
    const PLANNED_FROM: i64 = 1_803_888_000_000_000;
    plain_consignment(
        "KTZE-2027-000001",
        "XSRE-2027-0001",
        PLANNED_FROM,
        &Parties {
            shipper: "CN91610131XA01",
            declarant: "CN91650000HG02",
            carrier: "KZ180540012345",
            consignee: "TR3456789012",
        },
    )
    .request
}

/// `r` as pretty proto3 JSON.
pub(crate) fn to_json(r: &v1::SubmitConsignmentRequest) -> anyhow::Result<String> {
    Ok(corridor_proto::json::to_json(r, REQUEST)?)
}

/// Reads a DCSA transport document file and checks it as the declarant will (its size
/// before reading it, then the DCSA schema), so that a failing one is refused here with every
/// violation on a line of its own.
fn read_dcsa(path: &Path) -> anyhow::Result<String> {
    let bytes = std::fs::metadata(path)
        .with_context(|| format!("cannot read {}", path.display()))?
        .len();
    if bytes > corridor_dcsa::MAX_BYTES as u64 {
        bail!(
            "{}: {bytes} bytes, more than the {} bytes a transport document may have",
            path.display(),
            corridor_dcsa::MAX_BYTES
        );
    }
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    corridor_dcsa::TransportDocument::read(&text)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    Ok(text)
}

/// `corridor declare`.
pub(crate) fn declare(a: DeclareArgs) -> anyhow::Result<Outcome> {
    if a.example {
        let mut r = example_request();
        if a.without_bill {
            r.bill_of_lading = None;
            if let Some(d) = r.declaration.as_mut() {
                d.declaration_reference = "XSRE-2027-0101".into();
            }
        }
        print!("{}", to_json(&r)?);
        return Ok(Outcome::Ok);
    }
    let file = a.file.context("--file is required")?;
    let mut request = read_consignment(&file)?;
    if let Some(td) = &a.bill_dcsa {
        let ways = [
            (request.bill_of_lading.is_some(), "billOfLading"),
            (!request.bill_of_lading_id.is_empty(), "billOfLadingId"),
            (
                request.bill_of_lading_envelope.is_some(),
                "billOfLadingEnvelope",
            ),
            (!request.bill_of_lading_dcsa.is_empty(), "billOfLadingDcsa"),
        ];
        if let Some((_, field)) = ways.iter().find(|(given, _)| *given) {
            bail!(
                "{}: gives {field}, and --bill-dcsa gives the bill: with --bill-dcsa the file \
                 holds the rest of the request (`declare --example --without-bill`)",
                file.display()
            );
        }
        request.bill_of_lading_dcsa = read_dcsa(td)?;
    }
    let t = a.topology.load()?;
    runtime()?.block_on(async {
        let r = client(&t)
            .await?
            .submit_consignment(request)
            .await
            .map_err(|s| anyhow::anyhow!("{}: {}", file.display(), status(s)))?
            .into_inner();
        let first = r.first_node.unwrap_or_default();
        println!(
            "{}  declared at {} ({}, {} lane); bill {}",
            r.consignment_id,
            r.first_country,
            state_name(first.state),
            lane_name(first.lane),
            r.bill_of_lading_id
        );
        Ok(Outcome::Ok)
    })
}

/// `corridor status`.
pub(crate) fn show_status(a: IdArgs) -> anyhow::Result<Outcome> {
    let t = a.topology.load()?;
    let id = consignment_id(&a.id)?;
    runtime()?.block_on(async {
        let s = client(&t)
            .await?
            .get_status(v1::GetStatusRequest {
                consignment_id: id.to_hex(),
            })
            .await
            .map_err(status)?
            .into_inner();
        let submission =
            v1::SubmissionState::try_from(s.submission).map_or("unknown", |x| x.as_str_name());
        println!(
            "{} {} ({}); route {}; bill {}",
            s.consignment_id,
            s.declaration_reference,
            submission
                .trim_start_matches("SUBMISSION_STATE_")
                .to_lowercase(),
            s.route.join(" -> "),
            s.bill_of_lading_id
        );
        if !s.detail.is_empty() {
            println!("  {}", s.detail);
        }
        for v in &s.nodes {
            println!(
                "  {}: {} ({} lane){}; clearance {:.1} h",
                v.country,
                state_name(v.state),
                lane_name(v.lane),
                if v.aeo_recognised { ", AEO" } else { "" },
                v.clearance_micros as f64 / 3.6e9
            );
        }
        for u in &s.unreachable {
            println!("  unreachable: {u}");
        }
        Ok(Outcome::Ok)
    })
}

/// `corridor watch`: one line per event until the consignment completes or stops; resumes
/// after a dropped stream.
pub(crate) fn watch(a: IdArgs) -> anyhow::Result<Outcome> {
    let t = a.topology.load()?;
    let id = consignment_id(&a.id)?;
    runtime()?.block_on(async {
        let mut last: Option<(String, u64)> = None;
        let mut retries = 0;
        loop {
            let mut c = client(&t).await?;
            let (country, seq) = last.clone().unwrap_or_default();
            let mut s = c
                .track_consignment(v1::TrackConsignmentRequest {
                    consignment_id: id.to_hex(),
                    resume_after_country: country,
                    resume_after_seq: seq,
                })
                .await
                .map_err(status)?
                .into_inner();
            loop {
                match s.next().await {
                    Some(Ok(e)) => {
                        retries = 0;
                        println!(
                            "{} {} #{:<5} {:<22} {:<20} {:<7} {}",
                            format_micros(e.recorded_at_unix_micros),
                            e.country,
                            e.seq,
                            e.kind,
                            state_name(e.state),
                            lane_name(e.lane),
                            e.detail
                        );
                        let end = matches!(
                            v1::ConsignmentState::try_from(e.state),
                            Ok(v1::ConsignmentState::Completed
                                | v1::ConsignmentState::Refused
                                | v1::ConsignmentState::Cancelled)
                        );
                        last = Some((e.country, e.seq));
                        if end {
                            return Ok(Outcome::Ok);
                        }
                    }
                    Some(Err(e)) if e.code() == tonic::Code::Unavailable && retries < 5 => {
                        retries += 1;
                        tokio::time::sleep(std::time::Duration::from_millis(500 * retries)).await;
                        break;
                    }
                    Some(Err(e)) => return Err(status(e)),
                    None => return Ok(Outcome::Ok),
                }
            }
        }
    })
}

/// `corridor cancel`.
pub(crate) fn cancel(a: CancelArgs) -> anyhow::Result<Outcome> {
    let t = a.at.topology.load()?;
    let id = consignment_id(&a.at.id)?;
    runtime()?.block_on(async {
        let r = client(&t)
            .await?
            .cancel_consignment(v1::CancelConsignmentRequest {
                consignment_id: id.to_hex(),
                reason: a.reason.clone(),
            })
            .await
            .map_err(status)?
            .into_inner();
        println!("{}: {}", r.consignment_id, state_name(r.state));
        Ok(Outcome::Ok)
    })
}

fn print_bill(b: &v1::BillRecord) {
    println!(
        "bill {}: held by {}{}; {} entries, last {}",
        b.bill_of_lading_id,
        b.holder,
        if b.spent { " (spent)" } else { "" },
        b.chain.len(),
        b.last_action
    );
}

/// `corridor bill show --dcsa`: the bill as a DCSA transport document, pretty-printed.
async fn show_dcsa(
    c: &mut DeclarantClient<Channel>,
    id: &str,
    out: Option<&Path>,
    contact: [Option<String>; 3],
) -> anyhow::Result<Outcome> {
    let id = Digest::parse_hex("bill id", id)?;
    let [name, email, phone] = contact;
    let r = c
        .export_bill(v1::ExportBillRequest {
            bill_of_lading_id: id.to_hex(),
            contact_name: name.unwrap_or_default(),
            contact_email: email.unwrap_or_default(),
            contact_phone: phone.unwrap_or_default(),
        })
        .await
        .map_err(status)?
        .into_inner();
    let Some(path) = out else {
        let doc: serde_json::Value = serde_json::from_str(&r.transport_document_json)?;
        return write_json(&doc, None, |_| {});
    };
    // The file holds the canonical bytes the checksum is of.
    std::fs::write(path, &r.transport_document_json)
        .with_context(|| format!("cannot write {}", path.display()))?;
    eprintln!(
        "{}: {} DCSA transport document of bill {id}, checksum {}",
        path.display(),
        if r.generated {
            "a generated"
        } else {
            "the imported"
        },
        hex(&r.checksum)
    );
    Ok(Outcome::Ok)
}

/// Writes `doc` as pretty JSON to `out` (then calls `written` with it) or standard output.
fn write_json(
    doc: &serde_json::Value,
    out: Option<&Path>,
    written: impl FnOnce(&Path),
) -> anyhow::Result<Outcome> {
    let mut text = serde_json::to_string_pretty(doc)?;
    text.push('\n');
    match out {
        Some(path) => {
            std::fs::write(path, &text)
                .with_context(|| format!("cannot write {}", path.display()))?;
            written(path);
        }
        None => print!("{text}"),
    }
    Ok(Outcome::Ok)
}

/// Now on the corridor clock, as the declarant reads it.
async fn corridor_time(t: &Topology) -> anyhow::Result<i64> {
    let addr = &t.declarant.listen;
    let channel = corridor_net::endpoint(t, &corridor_topology::ServiceRole::Client, addr)?
        .connect()
        .await
        .with_context(|| format!("cannot reach the declarant at {addr}"))?;
    let now = CorridorClockClient::new(channel)
        .get_corridor_time(v1::GetCorridorTimeRequest {})
        .await
        .map_err(status)?
        .into_inner();
    Ok(now.now_unix_micros)
}

/// The sample consignment's bill, with reference `reference`, issued at `now`, as a DCSA
/// transport document.
fn example_document(reference: &str, now: i64) -> anyhow::Result<serde_json::Value> {
    let mut plain = example_request()
        .bill_of_lading
        .context("the sample consignment has a bill")?;
    plain.transport_document_reference = reference.to_owned();
    plain.issued_at_unix_micros = now;
    let bill = corridor_core::document::BillOfLading::try_from(plain)
        .map_err(|e| anyhow::anyhow!("--reference: {}", e.reason))?;
    let contact = corridor_dcsa::Contact {
        name: "Documentation desk".into(),
        email: Some("documentation@ktze.example".into()),
        phone: None,
    };
    corridor_dcsa::export(&bill, &[], Some(&contact)).map_err(|e| anyhow::anyhow!("{e}"))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `corridor bill`.
pub(crate) fn bill(a: BillArgs) -> anyhow::Result<Outcome> {
    // A document that fails the schema is refused before anything is reached.
    let import = match &a.command {
        BillCommand::Import { dcsa } => Some(read_dcsa(dcsa)?),
        _ => None,
    };
    let t = a.topology.load()?;
    runtime()?.block_on(async {
        let mut c = client(&t).await?;
        let get = |id: String| {
            let mut c = c.clone();
            async move {
                let id = Digest::parse_hex("bill id", &id)?;
                let r = c
                    .get_bill(v1::GetBillRequest {
                        bill_of_lading_id: id.to_hex(),
                    })
                    .await
                    .map_err(status)?
                    .into_inner();
                anyhow::Ok(r)
            }
        };
        let (record, action, to, reason, key) = match a.command {
            BillCommand::Show {
                id,
                dcsa: true,
                out,
                contact_name,
                contact_email,
                contact_phone,
            } => {
                let contact = [contact_name, contact_email, contact_phone];
                return show_dcsa(&mut c, &id, out.as_deref(), contact).await;
            }
            BillCommand::Show { id, .. } => {
                let r = get(id).await?;
                print_bill(&r);
                return Ok(Outcome::Ok);
            }
            BillCommand::Example { reference, out } => {
                let now = corridor_time(&t).await?;
                return write_json(&example_document(&reference, now)?, out.as_deref(), |p| {
                    eprintln!(
                        "{}: a DCSA transport document, reference {reference}",
                        p.display()
                    );
                });
            }
            BillCommand::Import { .. } => {
                let r = c
                    .import_bill(v1::ImportBillRequest {
                        transport_document_json: import.unwrap_or_default(),
                    })
                    .await
                    .map_err(status)?
                    .into_inner();
                print_bill(&r);
                return Ok(Outcome::Ok);
            }
            BillCommand::Transfer(m) => (
                get(m.id).await?,
                TransferAction::Transfer,
                Some(m.to),
                None,
                m.key,
            ),
            BillCommand::Endorse(m) => (
                get(m.id).await?,
                TransferAction::Endorse,
                Some(m.to),
                None,
                m.key,
            ),
            BillCommand::Surrender { id, key } => (
                get(id).await?,
                TransferAction::SurrenderForDelivery,
                None,
                None,
                key,
            ),
            BillCommand::Accept { id, key } => (
                get(id).await?,
                TransferAction::SurrenderAccepted,
                None,
                None,
                key,
            ),
            BillCommand::Reject { id, reason, key } => (
                get(id).await?,
                TransferAction::SurrenderRejected,
                None,
                Some(reason),
                key,
            ),
        };
        let key = SigningKey::load(&key)
            .with_context(|| format!("cannot load the key {}", key.display()))?;
        let tip_env: Envelope = record
            .chain
            .last()
            .cloned()
            .context("the bill has no transfer chain")?
            .try_into()?;
        let tip = corridor_proto::decode_transfer_entry(tip_env.payload())?;
        let bill_env: Envelope = record
            .bill_of_lading
            .clone()
            .context("the record carries no bill")?
            .try_into()?;
        let bill = corridor_proto::decode_bill_of_lading(bill_env.payload())?;
        let to = match (action, to) {
            (_, Some(to)) => OperatorId::parse("--to", &to)?,
            (TransferAction::SurrenderForDelivery, None) => bill.carrier.operator_id.clone(),
            (TransferAction::SurrenderAccepted, None) => bill.carrier.operator_id.clone(),
            (TransferAction::SurrenderRejected, None) => tip
                .from_holder
                .clone()
                .context("nothing to reject: the last entry is not a surrender")?,
            (_, None) => bail!("--to is required"),
        };
        let reason = reason.map(|r| Text::parse("--reason", &r)).transpose()?;
        let now = t.clock.clock()?.now_micros();
        let mut entry = tip.next(tip_env.document_id(), action, to, now, reason)?;
        if action.by_carrier() {
            let mut parts = entry.into_parts();
            parts.actor = bill.carrier.operator_id.clone();
            entry = corridor_core::document::TransferEntry::new(parts)?;
        }
        let env = Envelope::sign(
            pt::TRANSFER_ENTRY,
            corridor_proto::encode_transfer_entry(&entry),
            &key,
        );
        let r = c
            .transfer_bill(v1::TransferBillRequest {
                entry: Some(v1::Envelope::from(&env)),
            })
            .await
            .map_err(status)?
            .into_inner();
        print_bill(&r);
        Ok(Outcome::Ok)
    })
}
