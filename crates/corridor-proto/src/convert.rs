//! Conversions between wire messages and `corridor-core` types.

use corridor_core::{Envelope, ParseError, Signature};
use prost::Message;

use crate::v1;

impl From<&Envelope> for v1::Envelope {
    fn from(env: &Envelope) -> Self {
        v1::Envelope {
            payload_type: env.payload_type().to_owned(),
            payload: env.payload().to_vec(),
            signatures: env
                .signatures()
                .iter()
                .map(|s| v1::Signature {
                    keyid: s.key_id.to_string(),
                    sig: s.sig.to_vec(),
                })
                .collect(),
        }
    }
}

impl TryFrom<v1::Envelope> for Envelope {
    type Error = ParseError;
    fn try_from(m: v1::Envelope) -> Result<Self, ParseError> {
        let sigs = m
            .signatures
            .iter()
            .enumerate()
            .map(|(i, s)| Signature::parse(&format!("envelope.signatures[{i}]"), &s.keyid, &s.sig))
            .collect::<Result<Vec<_>, _>>()?;
        Envelope::from_parts(m.payload_type, m.payload, sigs)
    }
}

/// The envelope in field `field` of a request, which must carry payload type `expected`:
/// how a service opens each envelope it is sent, before it checks any signature.
pub fn open_envelope(
    field: &str,
    env: Option<v1::Envelope>,
    expected: &str,
) -> Result<Envelope, ParseError> {
    let env: Envelope = env
        .ok_or_else(|| ParseError::new(field, "required"))?
        .try_into()
        .map_err(|e: ParseError| e.within(field))?;
    if env.payload_type() != expected {
        return Err(ParseError::new(
            format!("{field}.payload_type"),
            format!("expected {expected:?}, got {:?}", env.payload_type()),
        ));
    }
    Ok(env)
}

/// The canonical protobuf bytes of an envelope (fields in number order): what a ledger
/// records and what an envelope id (sha256 of these bytes) covers.
pub fn encode_envelope(env: &Envelope) -> Vec<u8> {
    v1::Envelope::from(env).encode_to_vec()
}

/// Decodes envelope bytes into a core envelope (signatures not yet checked).
pub fn decode_envelope(bytes: &[u8]) -> Result<Envelope, ParseError> {
    let m = v1::Envelope::decode(bytes)
        .map_err(|e| ParseError::new("envelope", format!("not a protobuf Envelope: {e}")))?;
    m.try_into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use corridor_core::SigningKey;

    #[test]
    fn envelope_round_trips_through_the_wire() {
        let key = SigningKey::from_seed(&[1; 32]);
        let env = Envelope::sign("application/vnd.corridor.test", b"x".to_vec(), &key);
        let bytes = encode_envelope(&env);
        let back = decode_envelope(&bytes).unwrap();
        assert_eq!(back, env);
        back.verify_by(&key.public()).unwrap();
        assert_eq!(encode_envelope(&back), bytes);
    }

    #[test]
    fn malformed_envelopes_name_the_field() {
        let mut m = v1::Envelope::from(&Envelope::sign(
            "t",
            vec![],
            &SigningKey::from_seed(&[1; 32]),
        ));
        m.signatures[0].sig.truncate(10);
        let e = Envelope::try_from(m.clone()).unwrap_err();
        assert_eq!(e.field, "envelope.signatures[0].sig");
        m.signatures.clear();
        assert_eq!(
            Envelope::try_from(m).unwrap_err().field,
            "envelope.signatures"
        );
        assert_eq!(decode_envelope(b"\xff\xff").unwrap_err().field, "envelope");
    }
}
