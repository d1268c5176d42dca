//! The state rows the registry writes beside its ledger entries, in the same atomic batch:
//! one per object, keyed by a kind prefix and the object's id, holding its record's
//! protobuf bytes. On start they are checked against the state rebuilt from the ledger.

use corridor_core::aeo::record::{ArrangementRecord, CertificateRecord, OperatorRecord};
use corridor_proto::aeo::{
    encode_arrangement_record, encode_certificate_record, encode_operator_record,
};

/// Prefixes of the state rows, one per kind of object.
pub(crate) const ROW_PREFIXES: [&str; 3] = ["op/", "cert/", "mra/"];

/// One state row: its key (a prefix of [`ROW_PREFIXES`] and the object's id) and value (the
/// object's record, protobuf-encoded).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Row {
    pub(crate) key: Vec<u8>,
    pub(crate) value: Vec<u8>,
}

fn key(prefix: &str, id: &str) -> Vec<u8> {
    let mut k = prefix.as_bytes().to_vec();
    k.extend_from_slice(id.as_bytes());
    k
}

/// An operator's row.
pub(crate) fn operator(o: &OperatorRecord) -> Row {
    Row {
        key: key("op/", o.operator_id.as_str()),
        value: encode_operator_record(o),
    }
}

/// A certificate's row.
pub(crate) fn certificate(c: &CertificateRecord) -> Row {
    Row {
        key: key("cert/", c.certificate().aeo_id.as_str()),
        value: encode_certificate_record(c),
    }
}

/// An arrangement's row.
pub(crate) fn arrangement(m: &ArrangementRecord) -> Row {
    Row {
        key: key("mra/", m.id().as_str()),
        value: encode_arrangement_record(m),
    }
}
