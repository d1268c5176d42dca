//! The gRPC face of the node: `corridor.v1.CustomsNode`.

use std::pin::Pin;

use corridor_core::document::{ConsignmentView, DeclarationSubmission};
use corridor_core::{Digest, Envelope, payload_type};
use corridor_proto::v1::{self, ConsignmentState as S};
use tokio::sync::broadcast::error::RecvError;
use tokio_stream::Stream;
use tonic::{Request, Response, Status};

use crate::node::Node;

fn consignment_id(s: &str) -> Result<Digest, Status> {
    Digest::parse_hex("consignment_id", s).map_err(|e| Status::invalid_argument(e.to_string()))
}

/// The envelope of a signed request, which must carry payload type `expected`.
fn opened(r: v1::SignedRequest, expected: &str) -> Result<Envelope, crate::Error> {
    Ok(corridor_proto::open_envelope(
        "envelope", r.envelope, expected,
    )?)
}

fn ends_here(state: i32) -> bool {
    matches!(
        S::try_from(state).unwrap_or(S::Unspecified),
        S::HandedOver | S::Completed | S::Refused | S::Cancelled
    )
}

type EventStream = Pin<Box<dyn Stream<Item = Result<v1::ConsignmentEvent, Status>> + Send>>;

#[tonic::async_trait]
impl v1::customs_node_server::CustomsNode for Node {
    async fn submit_declaration(
        &self,
        request: Request<v1::SubmitDeclarationRequest>,
    ) -> Result<Response<v1::StepReceipt>, Status> {
        let r = request.into_inner();
        let node = self.clone();
        answer(self, async move {
            node.submit(DeclarationSubmission::try_from(r)?).await
        })
        .await
    }

    async fn deliver_advance_record(
        &self,
        request: Request<v1::SignedRequest>,
    ) -> Result<Response<v1::DeliverAdvanceRecordResponse>, Status> {
        let r = request.into_inner();
        let node = self.clone();
        answer(self, async move {
            node.deliver(opened(r, payload_type::ADVANCE_RECORD)?).await
        })
        .await
    }

    async fn record_border_event(
        &self,
        request: Request<v1::SignedRequest>,
    ) -> Result<Response<v1::StepReceipt>, Status> {
        let r = request.into_inner();
        let node = self.clone();
        answer(self, async move {
            node.border_event(opened(r, payload_type::BORDER_EVENT)?)
                .await
        })
        .await
    }

    async fn record_border_events(
        &self,
        request: Request<v1::SignedRequests>,
    ) -> Result<Response<v1::StepOutcomes>, Status> {
        use v1::step_outcome::Outcome;
        let results = each(self, request.into_inner(), |node, r| async move {
            node.border_event(opened(r, payload_type::BORDER_EVENT)?)
                .await
        })
        .await?;
        let outcomes = results
            .into_iter()
            .map(|r| v1::StepOutcome {
                outcome: Some(match r {
                    Ok(receipt) => Outcome::Receipt(v1::StepReceipt::from(&receipt)),
                    Err(s) => Outcome::Refusal(refusal(&s)),
                }),
            })
            .collect();
        Ok(Response::new(v1::StepOutcomes { outcomes }))
    }

    async fn deliver_advance_records(
        &self,
        request: Request<v1::SignedRequests>,
    ) -> Result<Response<v1::DeliverOutcomes>, Status> {
        use v1::deliver_outcome::Outcome;
        let results = each(self, request.into_inner(), |node, r| async move {
            node.deliver(opened(r, payload_type::ADVANCE_RECORD)?).await
        })
        .await?;
        let outcomes = results
            .into_iter()
            .map(|r| v1::DeliverOutcome {
                outcome: Some(match r {
                    Ok(answer) => {
                        Outcome::Response(v1::DeliverAdvanceRecordResponse::from(&answer))
                    }
                    Err(s) => Outcome::Refusal(refusal(&s)),
                }),
            })
            .collect();
        Ok(Response::new(v1::DeliverOutcomes { outcomes }))
    }

    async fn record_decision(
        &self,
        request: Request<v1::SignedRequest>,
    ) -> Result<Response<v1::StepReceipt>, Status> {
        let r = request.into_inner();
        let node = self.clone();
        answer(self, async move {
            node.decide(opened(r, payload_type::OFFICER_DECISION)?)
                .await
        })
        .await
    }

    async fn cancel_declaration(
        &self,
        request: Request<v1::SignedRequest>,
    ) -> Result<Response<v1::StepReceipt>, Status> {
        let r = request.into_inner();
        let node = self.clone();
        answer(self, async move {
            node.cancel(opened(r, payload_type::DECLARATION_CANCELLATION)?)
                .await
        })
        .await
    }

    async fn get_consignment(
        &self,
        request: Request<v1::ConsignmentRequest>,
    ) -> Result<Response<v1::ConsignmentView>, Status> {
        let id = consignment_id(&request.get_ref().consignment_id)?;
        let view = self.view(&id, true).await?;
        Ok(Response::new(v1::ConsignmentView::from(&view)))
    }

    type WatchConsignmentStream = EventStream;

    async fn watch_consignment(
        &self,
        request: Request<v1::WatchConsignmentRequest>,
    ) -> Result<Response<EventStream>, Status> {
        let req = request.into_inner();
        let id = consignment_id(&req.consignment_id)?;
        // Subscribe before reading what is recorded, so nothing falls between the two.
        let mut rx = self.inner.events.subscribe();
        let recorded = events(self.view(&id, true).await?);
        let node = self.clone();
        let stream = async_stream(move |tx| async move {
            let mut next = req.from_sequence;
            // Over here already (even if no event is sent, from a sequence past the end):
            // nothing more will come.
            let done = recorded.last().is_some_and(|e| ends_here(e.state));
            for e in recorded {
                if e.seq < next {
                    continue;
                }
                next = e.seq + 1;
                if tx.send(Ok(e)).await.is_err() {
                    return;
                }
            }
            if !req.follow || done {
                return;
            }
            loop {
                let e = tokio::select! {
                    _ = node.inner.shutdown.cancelled() => {
                        let _ = tx.send(Err(Status::unavailable("the node is stopping"))).await;
                        return;
                    }
                    // The client went away: end now, not at the consignment's next event.
                    () = tx.closed() => return,
                    r = rx.recv() => r,
                };
                let batch = match e {
                    Ok(u) if u.consignment == id => vec![v1::ConsignmentEvent::from(&u.event)],
                    Ok(_) => continue,
                    Err(RecvError::Lagged(_)) => match node.view(&id, true).await {
                        Ok(v) => events(v),
                        Err(s) => {
                            let _ = tx.send(Err(s.into())).await;
                            return;
                        }
                    },
                    Err(RecvError::Closed) => return,
                };
                for e in batch {
                    if e.seq < next {
                        continue;
                    }
                    next = e.seq + 1;
                    let end = ends_here(e.state);
                    if tx.send(Ok(e)).await.is_err() || end {
                        return;
                    }
                }
            }
        });
        Ok(Response::new(stream))
    }

    async fn list_consignments(
        &self,
        request: Request<v1::ListConsignmentsRequest>,
    ) -> Result<Response<v1::ListConsignmentsResponse>, Status> {
        let filter = request.get_ref().filter;
        let filter = v1::QueueFilter::try_from(filter)
            .map_err(|_| {
                Status::invalid_argument(format!("filter: {filter} is not a QueueFilter"))
            })?
            .into();
        let views = self.list(filter).await;
        Ok(Response::new(v1::ListConsignmentsResponse {
            consignments: views.iter().map(v1::ConsignmentView::from).collect(),
        }))
    }

    async fn get_node_status(
        &self,
        request: Request<v1::NodeStatusRequest>,
    ) -> Result<Response<v1::NodeStatus>, Status> {
        let want = request.get_ref().min_registry_entries;
        let mut rx = self.inner.replica.subscribe();
        let _ = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            rx.wait_for(|n| *n >= want),
        )
        .await;
        Ok(Response::new(v1::NodeStatus::from(&self.status())))
    }
}

/// Runs a recording step to completion (`corridor_net::to_completion`) and answers with its
/// result on the wire.
async fn answer<T, W, Fut>(node: &Node, step: Fut) -> Result<Response<W>, Status>
where
    T: Send + 'static,
    W: for<'a> From<&'a T>,
    Fut: std::future::Future<Output = Result<T, crate::Error>> + Send + 'static,
{
    let r = corridor_net::to_completion(&node.inner.tasks, step).await?;
    Ok(Response::new(W::from(r.get_ref())))
}

/// A view's events on the wire.
fn events(v: ConsignmentView) -> Vec<v1::ConsignmentEvent> {
    v.events.iter().map(v1::ConsignmentEvent::from).collect()
}

/// Most requests one batch call takes.
pub const MAX_BATCH: usize = 1024;

/// What a batch answers for a refused request: the status the single-request RPC would have
/// returned.
fn refusal(s: &Status) -> v1::Refusal {
    v1::Refusal {
        code: s.code() as i32,
        message: s.message().to_owned(),
    }
}

/// Runs `step` on every request of a batch concurrently (each consignment has its own lock,
/// and their ledger appends share batches) and returns the results in request order.
async fn each<T, F, Fut>(
    node: &Node,
    batch: v1::SignedRequests,
    step: F,
) -> Result<Vec<Result<T, Status>>, Status>
where
    T: Send + 'static,
    F: Fn(Node, v1::SignedRequest) -> Fut,
    Fut: std::future::Future<Output = Result<T, crate::Error>> + Send + 'static,
{
    let n = batch.requests.len();
    if n > MAX_BATCH {
        return Err(Status::invalid_argument(format!(
            "requests: at most {MAX_BATCH} per call, got {n}"
        )));
    }
    // Each step runs in a task of its own, as `corridor_net::to_completion` runs a single one.
    let steps: Vec<_> = batch
        .requests
        .into_iter()
        .map(|r| node.inner.tasks.spawn(step(node.clone(), r)))
        .collect();
    let mut out = Vec::with_capacity(n);
    for s in steps {
        out.push(match s.await {
            Ok(r) => r.map_err(Status::from),
            Err(e) => {
                tracing::error!(error = %e, "a step of a batch failed to run");
                Err(Status::internal("the step failed to run"))
            }
        });
    }
    Ok(out)
}

/// A stream fed by a task through a bounded channel.
fn async_stream<F, Fut>(f: F) -> EventStream
where
    F: FnOnce(tokio::sync::mpsc::Sender<Result<v1::ConsignmentEvent, Status>>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel(64);
    tokio::spawn(f(tx));
    Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx))
}
