//! A local copy of the AEO registry's state, built from the registry's ledger entries as
//! `WatchChanges` streams them: a customs node decides without a round trip, and still
//! decides while the registry is down.
//!
//! Pure, no I/O ([`crate::follow`] persists and follows one). Every entry is checked before
//! it is applied: its place in the chain (sequence number and link to the entry before), its
//! hash recomputed from its fields, and then the change it records exactly as the registry
//! checks it when it rebuilds from its own ledger (every signature against the authority and
//! operator keys, the authority rules, the state). A replica therefore trusts the topology's
//! keys, not the registry's transport.
//!
//! [`operator_signed`] is the one rule a document an operator signs is checked by against
//! such a copy ([`OperatorKeys`]): the signature of the party it names, by a key registered
//! to it and valid at the document's own time. The customs nodes and the declarant use it.

use corridor_core::aeo::record::RecognitionAnswer;
use corridor_core::{AeoId, AeoTier, CountryCode, Digest, Envelope, KeyId, OperatorId, PublicKey};
use corridor_ledger::Entry;
use corridor_proto::v1;
use corridor_service::Refusal;

use crate::authority::TrustedKeys;
use crate::error::Error;
use crate::recognition;
use crate::state::State;

/// The registry's state as of a prefix of its ledger.
pub struct Replica {
    state: State,
    /// Entries applied: the next entry's sequence number.
    len: u64,
    /// Hash of the last entry applied; [`Digest::ZERO`] before the first.
    head: Digest,
}

/// Whether an operator is recognised as an AEO in a country at a time, and why: what the
/// registry's `CheckRecognition` answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recognition {
    /// Recognised: by a certificate of the country itself, or under an arrangement.
    pub recognised: bool,
    /// Why (or why not).
    pub reason: v1::RecognitionReason,
    /// The certificate the answer is about, if any.
    pub aeo_id: Option<AeoId>,
    /// The arrangement the answer is about, if any.
    pub arrangement: Option<String>,
    /// The certificate's tier, if there is a certificate.
    pub tier: Option<AeoTier>,
    /// When a suspension or revocation took effect (microseconds since the Unix epoch); 0
    /// otherwise.
    pub since: i64,
    /// The treatment the operator gets when recognised.
    pub benefits: Option<v1::ArrangementBenefits>,
    /// The answer in words.
    pub detail: String,
}

impl From<RecognitionAnswer> for Recognition {
    fn from(a: RecognitionAnswer) -> Self {
        Self {
            recognised: a.reason.recognises(),
            reason: a.reason.into(),
            aeo_id: a.aeo_id,
            arrangement: a.arrangement_id.map(|m| m.to_string()),
            tier: a.tier,
            since: a.since_unix_micros,
            benefits: a.benefits.map(Into::into),
            detail: a.detail,
        }
    }
}

impl Replica {
    /// An empty replica that trusts `keys` (the topology's, as the registry's are).
    pub fn new(keys: TrustedKeys) -> Self {
        Self {
            state: State::new(keys),
            len: 0,
            head: Digest::ZERO,
        }
    }

    /// Applies the registry's next ledger entry, as `WatchChanges` streams it.
    ///
    /// The entry must be entry [`Replica::len`], linked to [`Replica::head`], and hash to its
    /// stated hash; the change it records must pass the checks the registry makes when it
    /// rebuilds from its ledger. Otherwise [`Error::Refused`] says why, and the replica is
    /// unchanged.
    pub fn apply(&mut self, entry: &v1::LedgerEntry) -> Result<(), Error> {
        let refuse = |reason: String| Error::Refused {
            seq: entry.seq,
            reason,
        };
        if entry.seq != self.len {
            return Err(refuse(format!(
                "out of sequence: the replica holds {} entries, so the next is entry {}",
                self.len, self.len
            )));
        }
        let prev_hash =
            Digest::from_slice("prev_hash", &entry.prev_hash).map_err(|e| refuse(e.to_string()))?;
        if prev_hash != self.head {
            return Err(refuse(format!(
                "prev_hash {prev_hash} is not the hash of the entry before it ({})",
                self.head
            )));
        }
        self.apply_entry(entry)
    }

    /// Applies `entry`, one of an excerpt of the registry's ledger whose entries are proven
    /// by inclusion in a checkpoint rather than linked one to the next (a consignment proof
    /// holds the entries about the operators it names, not the whole ledger): its sequence
    /// number must be above the last applied, and it must hash to its stated hash; the
    /// change it records must pass the registry's checks against what the excerpt holds.
    /// Otherwise [`Error::Refused`] says why, and the replica is unchanged. A replica built
    /// so knows only the operators and certificates its entries are about.
    pub fn apply_proven(&mut self, entry: &v1::LedgerEntry) -> Result<(), Error> {
        if entry.seq < self.len {
            return Err(Error::Refused {
                seq: entry.seq,
                reason: format!(
                    "out of order: the entry before it in the excerpt is entry {}",
                    self.len - 1
                ),
            });
        }
        self.apply_entry(entry)
    }

    /// Applies `entry` once its place is checked: its hash recomputed, then the change.
    fn apply_entry(&mut self, entry: &v1::LedgerEntry) -> Result<(), Error> {
        let refuse = |reason: String| Error::Refused {
            seq: entry.seq,
            reason,
        };
        let prev_hash =
            Digest::from_slice("prev_hash", &entry.prev_hash).map_err(|e| refuse(e.to_string()))?;
        let hash = Digest::from_slice("hash", &entry.hash).map_err(|e| refuse(e.to_string()))?;
        Entry::check_limits(&entry.kind, &entry.subject, &entry.envelope).map_err(refuse)?;
        let e = Entry {
            seq: entry.seq,
            prev_hash,
            time_unix_micros: entry.time_unix_micros,
            kind: entry.kind.clone(),
            subject: entry.subject.clone(),
            envelope: entry.envelope.clone(),
        };
        let recomputed = e.hash();
        if recomputed != hash {
            return Err(refuse(format!(
                "its fields hash to {recomputed}, not to its stated hash {hash}: it was changed after it was recorded"
            )));
        }
        self.state.replay(&e, hash).map_err(refuse)?;
        self.len = entry.seq.saturating_add(1);
        self.head = hash;
        Ok(())
    }

    /// The number of entries applied (the next entry's sequence number).
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether no entry has been applied.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Hash of the last entry applied; 32 zero bytes before the first.
    pub fn head(&self) -> Digest {
        self.head
    }

    /// Whether `operator` is recognised as an AEO in `country` at `at` (microseconds since
    /// the Unix epoch): the registry's `CheckRecognition` answer at this ledger length.
    pub fn recognition(
        &self,
        operator: &OperatorId,
        country: &CountryCode,
        at: i64,
    ) -> Recognition {
        self.recognition_answer(operator, country, at).into()
    }

    /// The same answer in core values.
    pub fn recognition_answer(
        &self,
        operator: &OperatorId,
        country: &CountryCode,
        at: i64,
    ) -> RecognitionAnswer {
        recognition::check(&self.state, operator, country, at).answer(at, self.len)
    }

    /// The registry's `CheckRecognition` response at time `at` (not 0), exactly as the
    /// registry would send it at this ledger length.
    pub fn check_recognition(
        &self,
        operator: &OperatorId,
        country: &CountryCode,
        at: i64,
    ) -> v1::CheckRecognitionResponse {
        let answer = recognition::check(&self.state, operator, country, at).answer(at, self.len);
        (&answer).into()
    }

    /// Whether `id` is a registered operator.
    pub fn is_operator(&self, id: &OperatorId) -> bool {
        self.state.operator(id).is_some()
    }

    /// The operator AEO certificate `id` was issued to, if the registry lists it (whatever
    /// its status: what the id names, not whether it is in force).
    pub fn certificate_holder(&self, id: &AeoId) -> Option<OperatorId> {
        self.state
            .latest()
            .certificate(id)
            .map(|c| c.certificate().operator_id.clone())
    }

    /// The public key with id `key` if the corridor knows it at `at`: a key the topology gives
    /// to a role (a customs authority, node or officer, the registry, the declarant, an
    /// operator's topology key), or a key registered to an operator and valid at `at` (as
    /// [`Replica::operator_key`] says); otherwise why not. What every signature of an envelope
    /// a node or the declarant records must be by (SIGNING.md section 3).
    pub fn known_key(&self, key: &KeyId, at: i64) -> Result<PublicKey, String> {
        if let Some(k) = self.state.trusted().role_key(key) {
            return Ok(k);
        }
        match self.state.key_owner(key) {
            Some(operator) => self.operator_key(&operator.clone(), key, at),
            None => Err(format!("key {key} is not a key of the corridor")),
        }
    }

    /// The public key with id `key` if it is registered for `operator` and valid at `at`
    /// (added at or before `at`, and not revoked at or before `at`); otherwise which of these
    /// fails: the operator is not registered, the key is not the operator's, the key is not
    /// yet valid, or the key is revoked (and since when).
    pub fn operator_key(
        &self,
        operator: &OperatorId,
        key: &KeyId,
        at: i64,
    ) -> Result<PublicKey, String> {
        let o = self
            .state
            .operator(operator)
            .ok_or_else(|| format!("operator {operator} is not registered"))?;
        let k = o
            .key(key)
            .ok_or_else(|| format!("key {key} is not a key of operator {operator}"))?;
        if at < k.added_at_unix_micros {
            return Err(format!(
                "key {key} of operator {operator} is not yet valid at {at}: it was added at {} (unix microseconds)",
                k.added_at_unix_micros
            ));
        }
        if let Some(revoked) = k.revoked_at_unix_micros
            && revoked <= at
        {
            return Err(format!(
                "key {key} of operator {operator} is revoked since {revoked} (unix microseconds)"
            ));
        }
        Ok(k.key)
    }
}

/// Operators' keys as a copy of the registry holds them: what a document an operator signs
/// is checked against (a [`Replica`]; in tests, a fixed set).
pub trait OperatorKeys {
    /// The key `key` of `operator`, if registered to it and valid at `at`; else why not.
    fn operator_key(
        &self,
        operator: &OperatorId,
        key: &KeyId,
        at: i64,
    ) -> Result<PublicKey, String>;

    /// The key `key` if the corridor knows it at `at` (a topology role's, or an operator's
    /// valid then); else why not.
    fn known_key(&self, key: &KeyId, at: i64) -> Result<PublicKey, String>;
}

impl OperatorKeys for Replica {
    fn operator_key(
        &self,
        operator: &OperatorId,
        key: &KeyId,
        at: i64,
    ) -> Result<PublicKey, String> {
        Replica::operator_key(self, operator, key, at)
    }

    fn known_key(&self, key: &KeyId, at: i64) -> Result<PublicKey, String> {
        Replica::known_key(self, key, at)
    }
}

/// The keys of `keys` as they stand both at a document's own time and at `now`, its receipt:
/// what a document entering the corridor is checked against (SIGNING.md section 3). A key
/// revoked, or not yet valid, on the receiver's clock introduces nothing new, whatever date
/// the document carries; documents recorded before the revocation keep their standing, as
/// they are checked at their own times only.
pub struct AtReceipt<'a, K: ?Sized> {
    keys: &'a K,
    now: i64,
}

impl<'a, K: OperatorKeys + ?Sized> AtReceipt<'a, K> {
    /// `keys` at a document's time and at `now`.
    pub fn new(keys: &'a K, now: i64) -> Self {
        Self { keys, now }
    }

    fn at_receipt(&self, r: Result<PublicKey, String>) -> Result<PublicKey, String> {
        r.map_err(|why| {
            format!(
                "at receipt ({}): {why}",
                corridor_topology::clock::format_micros(self.now)
            )
        })
    }
}

impl<K: OperatorKeys + ?Sized> OperatorKeys for AtReceipt<'_, K> {
    fn operator_key(
        &self,
        operator: &OperatorId,
        key: &KeyId,
        at: i64,
    ) -> Result<PublicKey, String> {
        let k = self.keys.operator_key(operator, key, at)?;
        self.at_receipt(self.keys.operator_key(operator, key, self.now))?;
        Ok(k)
    }

    fn known_key(&self, key: &KeyId, at: i64) -> Result<PublicKey, String> {
        let k = self.keys.known_key(key, at)?;
        self.at_receipt(self.keys.known_key(key, self.now))?;
        Ok(k)
    }
}

/// Checks that `operator` signed `env` with a key registered to it and valid at `at`, the
/// document's own time (SIGNING.md section 3). `what` names the document. Refused
/// (Unauthenticated) as `{what} is not signed by {operator} with a key valid at {time}:
/// {why}` when no signature is by such a key, or `{what}: signature of {operator}: {why}`
/// when it is but does not verify. Every other signature of `env` must be by a key the
/// corridor knows at `at` and verify too (`{what}: signature N is not by a key of the
/// corridor: {why}`), so nothing recorded carries a signature nobody can check: once this
/// passes, every signature of `env` is verified.
pub fn operator_signed(
    keys: &(impl OperatorKeys + ?Sized),
    env: &Envelope,
    operator: &OperatorId,
    at: i64,
    what: &str,
) -> Result<(), Refusal> {
    let (i, k) = signature_of(keys, env, operator, at, what)?;
    // The first signature by this key, which verify_by checks.
    env.verify_by(&k)
        .map_err(|e| Refusal::Unauthenticated(format!("{what}: signature of {operator}: {e}")))?;
    env.verify_every(Some(i), |k| keys.known_key(k, at))
        .map_err(|e| Refusal::Unauthenticated(format!("{what}: {e}")))
}

/// Checks that `operator` is among the signers of `env`, whose signatures
/// [`operator_signed`] has verified (all of them): one is by a key registered to `operator`
/// and valid at `at`. A second required signer of one envelope (a declaration's holder) is
/// checked so, without verifying a signature twice. Refused as [`operator_signed`] refuses
/// a missing signer.
pub fn also_signed_by(
    keys: &(impl OperatorKeys + ?Sized),
    env: &Envelope,
    operator: &OperatorId,
    at: i64,
    what: &str,
) -> Result<(), Refusal> {
    signature_of(keys, env, operator, at, what).map(|_| ())
}

/// The first signature of `env` by a key registered to `operator` and valid at `at`: its
/// index and that key.
fn signature_of(
    keys: &(impl OperatorKeys + ?Sized),
    env: &Envelope,
    operator: &OperatorId,
    at: i64,
    what: &str,
) -> Result<(usize, PublicKey), Refusal> {
    let mut why = None;
    for (i, s) in env.signatures().iter().enumerate() {
        match keys.operator_key(operator, &s.key_id, at) {
            Ok(k) => return Ok((i, k)),
            Err(e) => {
                why.get_or_insert(e);
            }
        }
    }
    Err(Refusal::Unauthenticated(format!(
        "{what} is not signed by {operator} with a key valid at {}: {}",
        corridor_topology::clock::format_micros(at),
        why.unwrap_or_else(|| "no signature".into())
    )))
}
