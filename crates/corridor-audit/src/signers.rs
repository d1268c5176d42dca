//! Which role signs which kind of entry, as a trace checks it:
//!
//! | kind | signed by |
//! |---|---|
//! | declaration, bill of lading, transfer | the operators the document names, with a key valid at the document's own time (from the registry's ledger) |
//! | advance record received | the node of the previous country on the route |
//! | advance record acknowledged | the node of the next country on the route |
//! | arrival, exit, officer's decision | an officer of the node's country |
//! | anything else | the node itself |

use corridor_aeo::replica::Replica;
use corridor_core::{CountryCode, Envelope, OperatorId, PublicKey};
use corridor_customs::consignment::kind;
use corridor_ledger::Entry;
use corridor_topology::Topology;
use corridor_topology::clock::format_micros;

/// The operators whose registered keys must sign entry `e` (by its kind, as
/// [`Signers::check`] checks them): those of a declaration, bill or transfer; none for the
/// other kinds, or for an envelope that does not decode (the check then says why).
pub fn operators(e: &Entry) -> Vec<OperatorId> {
    let Ok(env) = corridor_proto::decode_envelope(&e.envelope) else {
        return Vec::new();
    };
    match e.kind.as_str() {
        kind::DECLARATION_ACCEPTED => corridor_proto::decode_declaration(env.payload())
            .map(|d| {
                vec![
                    d.declarant_operator_id.clone(),
                    d.holder_operator_id.clone(),
                ]
            })
            .unwrap_or_default(),
        kind::BILL_PRESENTED => corridor_proto::decode_bill_of_lading(env.payload())
            .map(|b| vec![b.carrier.operator_id.clone()])
            .unwrap_or_default(),
        kind::BILL_TRANSFER => corridor_proto::decode_transfer_entry(env.payload())
            .map(|t| vec![t.actor.clone()])
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// The keys a trace checks signatures against: the topology's, and the operators' from the
/// registry's ledger.
pub struct Signers {
    t: Topology,
    replica: Replica,
    route: Vec<CountryCode>,
}

impl Signers {
    /// The signers of corridor `t`, with the operators' keys of `replica`.
    pub fn new(t: Topology, replica: Replica) -> Self {
        let route = t.country_codes();
        Self { t, replica, route }
    }

    /// The countries of the route, in order.
    pub fn route(&self) -> &[CountryCode] {
        &self.route
    }

    fn node_key(&self, cc: &CountryCode) -> Option<PublicKey> {
        self.t.node_keys().ok()?.get(cc).copied()
    }

    fn officer_signed(&self, cc: &CountryCode, env: &Envelope) -> Result<String, String> {
        let officers = self.t.officer_keys(cc).map_err(|e| e.to_string())?;
        for (name, k) in officers {
            if env.verify_by(&k).is_ok() {
                return Ok(format!("officer {name} of {cc}"));
            }
        }
        Err(format!("not signed by an officer of {cc}"))
    }

    fn node_signed(&self, cc: &CountryCode, env: &Envelope) -> Result<String, String> {
        let k = self
            .node_key(cc)
            .ok_or_else(|| format!("no key for the node of {cc}"))?;
        env.verify_by(&k)
            .map(|()| format!("node {cc}"))
            .map_err(|e| format!("not signed by the node of {cc}: {e}"))
    }

    fn operator_signed(&self, op: &OperatorId, at: i64, env: &Envelope) -> Result<String, String> {
        let mut why = String::from("no signature");
        for s in env.signatures() {
            match self.replica.operator_key(op, &s.key_id, at) {
                Ok(k) => {
                    return env
                        .verify_by(&k)
                        .map(|()| format!("{op}"))
                        .map_err(|e| format!("{op}: {e}"));
                }
                Err(e) => why = e,
            }
        }
        Err(format!(
            "not signed by {op} with a key valid at {}: {why}",
            format_micros(at)
        ))
    }

    /// The country before `cc` on the route.
    pub fn before(&self, cc: &CountryCode) -> Option<&CountryCode> {
        let i = self.route.iter().position(|c| c == cc)?;
        i.checked_sub(1).map(|i| &self.route[i])
    }

    /// The country after `cc` on the route.
    pub fn after(&self, cc: &CountryCode) -> Option<&CountryCode> {
        let i = self.route.iter().position(|c| c == cc)?;
        self.route.get(i + 1)
    }

    /// Checks the signatures of entry `e` of the ledger of `cc`, whose envelope is `env`,
    /// against the role its kind requires; says who signed. `declarant` is the declarant of
    /// the consignment (from its accepted declaration), whom its cancellation must be signed
    /// by.
    pub fn check(
        &self,
        cc: &CountryCode,
        e: &Entry,
        env: &Envelope,
        declarant: Option<&OperatorId>,
    ) -> Result<String, String> {
        match e.kind.as_str() {
            kind::DECLARATION_CANCELLED => {
                let c = corridor_proto::decode_declaration_cancellation(env.payload())
                    .map_err(|x| x.to_string())?;
                let op = declarant.ok_or("a cancellation of no accepted declaration")?;
                self.operator_signed(op, c.cancelled_at_unix_micros(), env)
            }
            kind::DECLARATION_ACCEPTED => {
                let d =
                    corridor_proto::decode_declaration(env.payload()).map_err(|x| x.to_string())?;
                let at = d.created_at_unix_micros;
                let mut who = self.operator_signed(&d.declarant_operator_id, at, env)?;
                if d.holder_operator_id != d.declarant_operator_id {
                    who = format!(
                        "{who} and {}",
                        self.operator_signed(&d.holder_operator_id, at, env)?
                    );
                }
                Ok(who)
            }
            kind::BILL_PRESENTED => {
                let b = corridor_proto::decode_bill_of_lading(env.payload())
                    .map_err(|x| x.to_string())?;
                self.operator_signed(&b.carrier.operator_id, b.issued_at_unix_micros, env)
            }
            kind::BILL_TRANSFER => {
                let t = corridor_proto::decode_transfer_entry(env.payload())
                    .map_err(|x| x.to_string())?;
                self.operator_signed(&t.actor, t.time_unix_micros, env)
            }
            kind::BILL_CHAIN_HEAD => {
                let k = self.t.declarant_key().map_err(|e| e.to_string())?;
                env.verify_by(&k)
                    .map(|()| "the declarant".to_string())
                    .map_err(|e| format!("not signed by the declarant: {e}"))
            }
            kind::ADVANCE_RECEIVED => {
                let p = self
                    .before(cc)
                    .ok_or("an advance record at the first country")?;
                self.node_signed(p, env)
            }
            kind::ADVANCE_ACKNOWLEDGED => {
                let n = self.after(cc).ok_or("a receipt at the last country")?;
                self.node_signed(n, env)
            }
            kind::BORDER_ARRIVAL | kind::BORDER_EXIT | kind::OFFICER_DECISION => {
                self.officer_signed(cc, env)
            }
            _ => self.node_signed(cc, env),
        }
    }
}
