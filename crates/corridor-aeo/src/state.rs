//! The registry's state: the objects every recorded change left behind, and the steps that
//! change it. Pure logic over in-memory maps.
//!
//! Decisions are made by [`crate::rules`] against a [`Latest`] view; the steps here take
//! only their checked [`Change`]s: [`State::stage`] while the change is on its way to the
//! ledger, [`State::apply`] once the ledger holds it. [`crate::registry`] records every
//! change in its ledger first and applies it after; [`State::replay`] rebuilds the state
//! from ledger entries through the same checks.

use std::collections::{BTreeMap, HashMap};

use corridor_core::aeo::document::ArrangementId;
use corridor_core::aeo::record::{
    ArrangementRecord, CertificateRecord, ChangeReceipt, OperatorRecord,
};
use corridor_core::{AeoId, CountryCode, Digest, Envelope, KeyId, OperatorId, PublicKey};
use corridor_ledger::Entry;

use corridor_topology::DocumentTimes;

use crate::authority::{KnownKeys, TrustedKeys};
use crate::error::Error;
use crate::rows;
use crate::rules::{self, Change, Op, Registered, Update};

/// Where the ledger recorded a change.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Recorded {
    /// The entry's sequence number.
    pub(crate) seq: u64,
    /// The entry's hash.
    pub(crate) hash: Digest,
    /// The entry's time (microseconds since the Unix epoch).
    pub(crate) at: i64,
    /// sha256 of the exact envelope bytes the entry holds.
    pub(crate) envelope_id: Digest,
}

/// The registry's current state.
#[derive(Default)]
pub(crate) struct State {
    keys: TrustedKeys,
    operators: HashMap<OperatorId, OperatorRecord>,
    /// Operator keys ever registered: key id -> operator.
    operator_keys: HashMap<KeyId, OperatorId>,
    certs: BTreeMap<AeoId, CertificateRecord>,
    certs_by_operator: HashMap<OperatorId, Vec<AeoId>>,
    mras: BTreeMap<ArrangementId, ArrangementRecord>,
    /// Arrangement ids by unordered country pair.
    mras_by_pair: HashMap<Pair, Vec<ArrangementId>>,
    /// The receipt of every envelope recorded, by envelope id.
    receipts: HashMap<Digest, ChangeReceipt>,
    /// Changes checked and sent to the ledger but not yet durable: later changes of the same
    /// group are checked against them; queries never see them.
    staged: Staged,
}

#[derive(Default)]
struct Staged {
    operators: HashMap<OperatorId, OperatorRecord>,
    operator_keys: HashMap<KeyId, OperatorId>,
    certs: HashMap<AeoId, CertificateRecord>,
    mras: HashMap<ArrangementId, ArrangementRecord>,
}

/// Two countries in either order: the smaller code first.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Pair {
    low: CountryCode,
    high: CountryCode,
}

impl Pair {
    fn of(a: &CountryCode, b: &CountryCode) -> Self {
        let (low, high) = if a <= b { (a, b) } else { (b, a) };
        Self {
            low: low.clone(),
            high: high.clone(),
        }
    }
}

/// What the next change is checked against: the applied state with the changes staged
/// before it on top.
#[derive(Clone, Copy)]
pub(crate) struct Latest<'a> {
    state: &'a State,
}

impl KnownKeys for Latest<'_> {
    fn operator_key(&self, k: &KeyId) -> Option<(OperatorId, Option<PublicKey>)> {
        let (op, o) = self.key_owner(k)?;
        let key = o
            .key(k)
            .filter(|key| key.revoked_at_unix_micros.is_none())
            .map(|key| key.key);
        Some((op.clone(), key))
    }

    fn trusted(&self) -> &TrustedKeys {
        self.keys()
    }
}

impl Registered for Latest<'_> {
    fn operator(&self, id: &OperatorId) -> Option<&OperatorRecord> {
        Latest::operator(self, id)
    }

    fn key_owner(&self, k: &KeyId) -> Option<(&OperatorId, &OperatorRecord)> {
        Latest::key_owner(self, k)
    }

    fn certificate(&self, id: &AeoId) -> Option<&CertificateRecord> {
        Latest::certificate(self, id)
    }

    fn arrangement(&self, id: &ArrangementId) -> Option<&ArrangementRecord> {
        Latest::arrangement(self, id)
    }
}

impl<'a> Latest<'a> {
    /// The topology's keys.
    pub(crate) fn keys(&self) -> &'a TrustedKeys {
        &self.state.keys
    }

    pub(crate) fn operator(&self, id: &OperatorId) -> Option<&'a OperatorRecord> {
        let s = self.state;
        s.staged.operators.get(id).or_else(|| s.operators.get(id))
    }

    /// The operator key `k` was ever registered for, and that operator.
    pub(crate) fn key_owner(&self, k: &KeyId) -> Option<(&'a OperatorId, &'a OperatorRecord)> {
        let s = self.state;
        let id = s
            .staged
            .operator_keys
            .get(k)
            .or_else(|| s.operator_keys.get(k))?;
        Some((id, self.operator(id)?))
    }

    pub(crate) fn certificate(&self, id: &AeoId) -> Option<&'a CertificateRecord> {
        let s = self.state;
        s.staged.certs.get(id).or_else(|| s.certs.get(id))
    }

    pub(crate) fn arrangement(&self, id: &ArrangementId) -> Option<&'a ArrangementRecord> {
        let s = self.state;
        s.staged.mras.get(id).or_else(|| s.mras.get(id))
    }
}

impl State {
    pub(crate) fn new(keys: TrustedKeys) -> Self {
        Self {
            keys,
            ..Self::default()
        }
    }

    /// The operator key `k` was ever registered for (durable changes only).
    pub(crate) fn key_owner(&self, k: &KeyId) -> Option<&OperatorId> {
        self.operator_keys.get(k)
    }

    /// The topology's keys.
    pub(crate) fn trusted(&self) -> &TrustedKeys {
        &self.keys
    }

    /// The view the rules check the next change against.
    pub(crate) fn latest(&self) -> Latest<'_> {
        Latest { state: self }
    }

    /// Checks `env` as a change of kind `op` recorded at `now` as entry `seq`
    /// ([`rules::check`] against [`State::latest`]). Nothing changes here.
    pub(crate) fn prepare(
        &self,
        op: Op,
        env: &Envelope,
        now: i64,
        seq: u64,
    ) -> Result<Change, Error> {
        rules::check(&self.latest(), op, env, now, seq)
    }

    /// [`State::prepare`] for a document submitted now, at `now` on the registry's clock: its
    /// `issued_at_unix_micros` must also lie within `times`' window around `now` (SIGNING.md
    /// section 4). Replaying a recorded entry does not ask this again.
    pub(crate) fn admit(
        &self,
        op: Op,
        env: &Envelope,
        now: i64,
        seq: u64,
        times: &DocumentTimes,
    ) -> Result<Change, Error> {
        let change = self.prepare(op, env, now, seq)?;
        times.check_window(
            "envelope.payload.issued_at_unix_micros",
            change.issued_at(),
            now,
        )?;
        Ok(change)
    }

    /// Stages a checked change: later changes are checked against it until the group it
    /// belongs to is durable ([`State::apply`]) or failed ([`State::unstage`]).
    pub(crate) fn stage(&mut self, c: &Change) {
        match c.update() {
            Update::Operator(o) => {
                for k in &o.keys {
                    let id = o.operator_id.clone();
                    self.staged.operator_keys.insert(k.key.id(), id);
                }
                let id = o.operator_id.clone();
                self.staged.operators.insert(id, o.clone());
            }
            Update::Cert(c) => {
                let id = c.certificate().aeo_id.clone();
                self.staged.certs.insert(id, c.as_ref().clone());
            }
            Update::Mra(m) => {
                self.staged.mras.insert(m.id().clone(), m.as_ref().clone());
            }
        }
    }

    /// Forgets every staged change.
    pub(crate) fn unstage(&mut self) {
        self.staged = Staged::default();
    }

    /// The receipt of an envelope already recorded (by its envelope id).
    pub(crate) fn receipt(&self, envelope_id: &Digest) -> Option<ChangeReceipt> {
        self.receipts.get(envelope_id).copied()
    }

    /// Checks ledger entry `entry` (stored hash `hash`) again as the change it recorded and
    /// applies it: the one step of rebuilding the state from a ledger, taken by the registry
    /// on start and by replicas for every entry they receive. On error (what is wrong, for
    /// the caller to name the entry) nothing changed.
    pub(crate) fn replay(&mut self, entry: &Entry, hash: Digest) -> Result<(), String> {
        let op =
            Op::from_kind(&entry.kind).ok_or_else(|| format!("unknown kind {:?}", entry.kind))?;
        let env = corridor_proto::decode_envelope(&entry.envelope).map_err(|e| e.to_string())?;
        let change = self
            .prepare(op, &env, entry.time_unix_micros, entry.seq)
            .map_err(|e| format!("no longer applies: {e}"))?;
        self.apply(
            change,
            Recorded {
                seq: entry.seq,
                hash,
                at: entry.time_unix_micros,
                envelope_id: Digest::of(&entry.envelope),
            },
        );
        Ok(())
    }

    /// Applies a checked change once the ledger has recorded it; returns its receipt.
    pub(crate) fn apply(&mut self, change: Change, at: Recorded) -> ChangeReceipt {
        let receipt = ChangeReceipt {
            seq: at.seq,
            entry_hash: at.hash,
            document_id: change.document(),
            new: true,
            recorded_at_unix_micros: at.at,
            effective_at_unix_micros: change.effective_at(),
            in_force: change.in_force(),
        };
        match change.into_update() {
            Update::Operator(o) => {
                for k in &o.keys {
                    self.operator_keys.insert(k.key.id(), o.operator_id.clone());
                }
                self.operators.insert(o.operator_id.clone(), o);
            }
            Update::Cert(c) => {
                let cert = c.certificate();
                let ids = self
                    .certs_by_operator
                    .entry(cert.operator_id.clone())
                    .or_default();
                if !ids.contains(&cert.aeo_id) {
                    ids.push(cert.aeo_id.clone());
                    ids.sort();
                }
                self.certs.insert(cert.aeo_id.clone(), *c);
            }
            Update::Mra(m) => {
                let [a, b] = &m.arrangement.countries;
                let ids = self.mras_by_pair.entry(Pair::of(a, b)).or_default();
                if !ids.contains(m.id()) {
                    ids.push(m.id().clone());
                }
                self.mras.insert(m.id().clone(), *m);
            }
        }
        self.receipts.insert(at.envelope_id, receipt);
        receipt
    }

    /// Every state row as it should be stored: key to value.
    pub(crate) fn rows(&self) -> BTreeMap<Vec<u8>, Vec<u8>> {
        let operators = self.operators.values().map(rows::operator);
        let certs = self.certs.values().map(rows::certificate);
        let mras = self.mras.values().map(rows::arrangement);
        operators
            .chain(certs)
            .chain(mras)
            .map(|r| (r.key, r.value))
            .collect()
    }

    pub(crate) fn operator(&self, id: &OperatorId) -> Option<&OperatorRecord> {
        self.operators.get(id)
    }

    /// An operator's certificates, by id.
    pub(crate) fn certificates_of(&self, id: &OperatorId) -> Vec<&CertificateRecord> {
        self.certs_by_operator
            .get(id)
            .map(|ids| ids.iter().filter_map(|a| self.certs.get(a)).collect())
            .unwrap_or_default()
    }

    /// The certificates a country's customs authority issued, by id.
    pub(crate) fn certificates_by(&self, country: &CountryCode) -> Vec<&CertificateRecord> {
        self.certs
            .values()
            .filter(|c| c.certificate().aeo_id.country() == *country)
            .collect()
    }

    /// Every arrangement, or those `country` is a party to, by id.
    pub(crate) fn arrangements(&self, country: Option<&CountryCode>) -> Vec<&ArrangementRecord> {
        self.mras
            .values()
            .filter(|m| country.is_none_or(|c| m.arrangement.party(c)))
            .collect()
    }

    /// The arrangements between `a` and `b`, in the order they were proposed.
    pub(crate) fn arrangements_between(
        &self,
        a: &CountryCode,
        b: &CountryCode,
    ) -> impl Iterator<Item = &ArrangementRecord> {
        self.mras_by_pair
            .get(&Pair::of(a, b))
            .into_iter()
            .flatten()
            .filter_map(|id| self.mras.get(id))
    }
}
