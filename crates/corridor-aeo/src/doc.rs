//! The registry's signed documents. Their validated types are those of
//! `corridor_core::aeo::document`, checked on the way in from payload bytes by the
//! `decode_*` functions of `corridor_proto::aeo`; the tier conversions are re-exported here
//! for the registry's clients.

pub use corridor_proto::aeo::{tier, tier_wire};
