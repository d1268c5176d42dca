//! The gRPC face of the declarant: `corridor.v1.Declarant`.

use std::pin::Pin;

use corridor_core::document::declarant::BillSource;
use corridor_core::{CountryCode, Digest, ParseError};
use corridor_dcsa::Contact;
use corridor_proto::v1::{self, ConsignmentState as S};
use tokio_stream::{Stream, StreamExt};
use tonic::{Code, Request, Response, Status};

use crate::error::Error;
use crate::platform::Platform;

type EventStream = Pin<Box<dyn Stream<Item = Result<v1::ConsignmentEvent, Status>> + Send>>;

fn consignment_id(s: &str) -> Result<Digest, Status> {
    Digest::parse_hex("consignment_id", s).map_err(|e| Status::invalid_argument(e.to_string()))
}

/// Where a consignment's journey ends at a node: handed on (go to the next node), or over.
fn ending(state: i32) -> Option<bool> {
    match S::try_from(state).unwrap_or(S::Unspecified) {
        S::HandedOver => Some(true),
        S::Completed | S::Refused | S::Cancelled => Some(false),
        _ => None,
    }
}

/// The contact of an `ExportBillRequest`: none when no field is set; otherwise a name of 1
/// to 35 characters and an email or a phone.
fn contact(name: String, email: String, phone: String) -> Result<Option<Contact>, Error> {
    if name.is_empty() && email.is_empty() && phone.is_empty() {
        return Ok(None);
    }
    let chars = name.trim().chars().count();
    if !(1..=35).contains(&chars) {
        return Err(Error::from(ParseError::new(
            "contact_name",
            format!("1 to 35 characters (DCSA partyContactDetails), got {chars}"),
        )));
    }
    if email.is_empty() && phone.is_empty() {
        return Err(Error::from(ParseError::new(
            "contact_email",
            "a contact needs an email or a phone",
        )));
    }
    let some = |s: String| (!s.is_empty()).then_some(s);
    Ok(Some(Contact {
        name,
        email: some(email),
        phone: some(phone),
    }))
}

impl Platform {
    /// `SubmitConsignment` from the wire, read in the order its refusals are documented: the
    /// bill (new, on the platform, or signed by its carrier and presented with its transfer
    /// chain, their envelopes opened here with their payload types), then the declaration,
    /// whose bill id and creation time left empty are the presented bill's id and now.
    async fn submit_request(
        &self,
        r: v1::SubmitConsignmentRequest,
    ) -> Result<v1::SubmitConsignmentResponse, Error> {
        let (declarant, reference) = r
            .declaration
            .as_ref()
            .map(|d| {
                (
                    d.declarant_operator_id.clone(),
                    d.declaration_reference.clone(),
                )
            })
            .unwrap_or_default();
        self.in_turn(&declarant, &reference, async |earlier| {
            let mut r = r;
            if let Some((issued, created)) = earlier {
                if let Some(b) = r.bill_of_lading.as_mut()
                    && b.issued_at_unix_micros == 0
                {
                    b.issued_at_unix_micros = issued;
                }
                if let Some(d) = r.declaration.as_mut()
                    && d.created_at_unix_micros == 0
                {
                    d.created_at_unix_micros = created;
                }
            }
            self.submit_fresh(r).await
        })
        .await
    }

    /// [`Self::submit_request`] with its times filled in.
    async fn submit_fresh(
        &self,
        r: v1::SubmitConsignmentRequest,
    ) -> Result<v1::SubmitConsignmentResponse, Error> {
        let now = self.now();
        let source = if r.bill_of_lading_dcsa.is_empty() {
            corridor_proto::declarant::bill_source(
                r.bill_of_lading,
                &r.bill_of_lading_id,
                r.bill_of_lading_envelope,
                r.transfer_chain,
                now,
            )?
        } else {
            let other = [
                (r.bill_of_lading.is_some(), "bill_of_lading"),
                (!r.bill_of_lading_id.is_empty(), "bill_of_lading_id"),
                (
                    r.bill_of_lading_envelope.is_some(),
                    "bill_of_lading_envelope",
                ),
                (!r.transfer_chain.is_empty(), "transfer_chain"),
            ]
            .into_iter()
            .find_map(|(given, field)| given.then_some(field));
            if let Some(other) = other {
                return Err(Error::from(ParseError::new(
                    "bill_of_lading_dcsa",
                    format!(
                        "give the bill one way only ({}); the request gives {other} and bill_of_lading_dcsa",
                        corridor_proto::declarant::BILL_WAYS
                    ),
                )));
            }
            BillSource::Issue(Box::new(
                self.dcsa_bill("bill_of_lading_dcsa", &r.bill_of_lading_dcsa)?,
            ))
        };
        let bill = self.present(source).await?;
        let declaration =
            corridor_proto::declarant::request_declaration(r.declaration, &bill.id, now)?;
        let submitted = self.submit(bill, declaration).await?;
        Ok(v1::SubmitConsignmentResponse::from(&submitted))
    }

    /// Every node's events in route order, from the resume point on.
    async fn track(
        &self,
        route: Vec<CountryCode>,
        id: Digest,
        resume: Option<(String, u64)>,
        tx: tokio::sync::mpsc::Sender<Result<v1::ConsignmentEvent, Status>>,
    ) {
        let start = resume
            .as_ref()
            .and_then(|(c, _)| route.iter().position(|r| r.as_str() == c))
            .unwrap_or(0);
        for (i, cc) in route.iter().enumerate().skip(start) {
            // At the resume country, watch from the last event received itself: it is not
            // sent again, but its state says whether the journey there is already over.
            let after = match &resume {
                Some((c, seq)) if c == cc.as_str() => Some(*seq),
                _ => None,
            };
            let Some(mut client) = self.inner.nodes.grpc(cc) else {
                let _ = tx
                    .send(Err(Status::internal(format!("no node for {cc}"))))
                    .await;
                return;
            };
            let stream = client
                .watch_consignment(v1::WatchConsignmentRequest {
                    consignment_id: id.to_hex(),
                    from_sequence: after.unwrap_or(0),
                    follow: true,
                })
                .await;
            let mut stream = match stream {
                Ok(s) => s.into_inner(),
                Err(s) if s.code() == Code::NotFound && i > 0 => {
                    // Handed over means the next node has recorded it: not found there is a
                    // broken corridor, not a wait.
                    let _ = tx
                        .send(Err(Status::failed_precondition(format!(
                            "{cc} does not know the consignment its predecessor handed over"
                        ))))
                        .await;
                    return;
                }
                Err(s) => {
                    let _ = tx
                        .send(Err(Status::new(
                            s.code(),
                            format!("node of {cc}: {}", s.message()),
                        )))
                        .await;
                    return;
                }
            };
            let mut next = None;
            loop {
                let e = tokio::select! {
                    _ = self.inner.shutdown.cancelled() => {
                        let _ = tx.send(Err(Status::unavailable("the declarant is stopping"))).await;
                        return;
                    }
                    // The client went away: end now (and with it the node's stream).
                    () = tx.closed() => return,
                    e = stream.next() => e,
                };
                match e {
                    Some(Ok(e)) => {
                        let end = ending(e.state);
                        let again = after.is_some_and(|seq| e.seq <= seq);
                        if !again && tx.send(Ok(e)).await.is_err() {
                            return;
                        }
                        if end.is_some() {
                            next = end;
                            break;
                        }
                    }
                    Some(Err(s)) => {
                        let _ = tx
                            .send(Err(Status::unavailable(format!(
                                "node of {cc}: {}; resume after the last event received",
                                s.message()
                            ))))
                            .await;
                        return;
                    }
                    None => break,
                }
            }
            match next {
                Some(true) => continue,
                Some(false) => return,
                None => {
                    let _ = tx
                        .send(Err(Status::unavailable(format!(
                            "the node of {cc} ended the stream early; resume after the last event received"
                        ))))
                        .await;
                    return;
                }
            }
        }
    }
}

#[tonic::async_trait]
impl v1::declarant_server::Declarant for Platform {
    async fn submit_consignment(
        &self,
        request: Request<v1::SubmitConsignmentRequest>,
    ) -> Result<Response<v1::SubmitConsignmentResponse>, Status> {
        let r = request.into_inner();
        let p = self.clone();
        corridor_net::to_completion(&self.inner.tasks, async move { p.submit_request(r).await })
            .await
    }

    type TrackConsignmentStream = EventStream;

    async fn track_consignment(
        &self,
        request: Request<v1::TrackConsignmentRequest>,
    ) -> Result<Response<EventStream>, Status> {
        let req = request.into_inner();
        let id = consignment_id(&req.consignment_id)?;
        let s = self.submission(&id)?;
        let route: Vec<CountryCode> = s
            .declaration
            .route
            .iter()
            .map(|r| r.country.clone())
            .collect();
        let resume = (!req.resume_after_country.is_empty())
            .then(|| (req.resume_after_country.clone(), req.resume_after_seq));
        if let Some((c, _)) = resume
            .as_ref()
            .filter(|(c, _)| !route.iter().any(|r| r.as_str() == c))
        {
            return Err(Status::invalid_argument(format!(
                "resume_after_country: {c} is not on the consignment's route"
            )));
        }
        let (tx, rx) = tokio::sync::mpsc::channel(64);
        let p = self.clone();
        self.inner
            .tasks
            .spawn(async move { p.track(route, id, resume, tx).await });
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        )))
    }

    async fn get_status(
        &self,
        request: Request<v1::GetStatusRequest>,
    ) -> Result<Response<v1::ConsignmentStatus>, Status> {
        let id = consignment_id(&request.get_ref().consignment_id)?;
        let s = self.submission(&id)?;
        let mut out = v1::ConsignmentStatus {
            consignment_id: id.to_hex(),
            declaration_reference: s.declaration.declaration_reference.as_str().to_string(),
            bill_of_lading_id: s.declaration.bill_of_lading_id.to_hex(),
            submission: v1::SubmissionState::from(s.state) as i32,
            detail: s.detail.clone(),
            route: s
                .declaration
                .route
                .iter()
                .map(|r| r.country.to_string())
                .collect(),
            nodes: Vec::new(),
            unreachable: Vec::new(),
        };
        for step in &s.declaration.route {
            let Some(mut c) = self.inner.nodes.grpc(&step.country) else {
                continue;
            };
            match c
                .get_consignment(v1::ConsignmentRequest {
                    consignment_id: id.to_hex(),
                })
                .await
            {
                Ok(v) => out.nodes.push(v.into_inner()),
                Err(e) if e.code() == Code::NotFound => break,
                Err(e) => {
                    out.unreachable
                        .push(format!("{}: {}", step.country, e.message()));
                    break;
                }
            }
        }
        Ok(Response::new(out))
    }

    async fn transfer_bill(
        &self,
        request: Request<v1::TransferBillRequest>,
    ) -> Result<Response<v1::BillRecord>, Status> {
        let r = request.into_inner();
        let p = self.clone();
        corridor_net::to_completion(&self.inner.tasks, async move {
            let entry = corridor_proto::declarant::transfer_request_entry(r)?;
            let record = p.transfer(entry).await?;
            Ok::<_, Error>(v1::BillRecord::from(&record))
        })
        .await
    }

    async fn get_bill(
        &self,
        request: Request<v1::GetBillRequest>,
    ) -> Result<Response<v1::BillRecord>, Status> {
        let id = Digest::parse_hex("bill_of_lading_id", &request.get_ref().bill_of_lading_id)
            .map_err(Error::from)?;
        Ok(Response::new(v1::BillRecord::from(&self.bill(&id)?)))
    }

    async fn import_bill(
        &self,
        request: Request<v1::ImportBillRequest>,
    ) -> Result<Response<v1::BillRecord>, Status> {
        let r = request.into_inner();
        let p = self.clone();
        corridor_net::to_completion(&self.inner.tasks, async move {
            let record = p.import_bill(&r.transport_document_json).await?;
            Ok::<_, Error>(v1::BillRecord::from(&record))
        })
        .await
    }

    async fn export_bill(
        &self,
        request: Request<v1::ExportBillRequest>,
    ) -> Result<Response<v1::ExportBillResponse>, Status> {
        let r = request.into_inner();
        let id =
            Digest::parse_hex("bill_of_lading_id", &r.bill_of_lading_id).map_err(Error::from)?;
        let contact = contact(r.contact_name, r.contact_email, r.contact_phone)?;
        let (json, generated) = self.export_bill(&id, contact.as_ref())?;
        Ok(Response::new(v1::ExportBillResponse {
            checksum: Digest::of(json.as_bytes()).as_bytes().to_vec(),
            transport_document_json: json,
            generated,
        }))
    }

    async fn get_platform_status(
        &self,
        request: Request<v1::PlatformStatusRequest>,
    ) -> Result<Response<v1::PlatformStatus>, Status> {
        let status = self.status(request.get_ref().min_registry_entries).await;
        Ok(Response::new(v1::PlatformStatus::from(&status)))
    }

    async fn cancel_consignment(
        &self,
        request: Request<v1::CancelConsignmentRequest>,
    ) -> Result<Response<v1::StepReceipt>, Status> {
        let r = request.into_inner();
        let p = self.clone();
        corridor_net::to_completion(&self.inner.tasks, async move {
            let id = Digest::parse_hex("consignment_id", &r.consignment_id)?;
            let receipt = p.cancel(id, &r.reason).await?;
            Ok::<_, Error>(v1::StepReceipt::from(&receipt))
        })
        .await
    }
}
