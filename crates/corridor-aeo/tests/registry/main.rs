#![allow(clippy::unwrap_used)]
//! The AEO registry over gRPC: an in-process server on 127.0.0.1:0 with a temporary ledger.
//! Each rule of the service is a test; every refused request is checked to have written
//! nothing.

mod disk;
mod recognition;
mod refusals;
mod service;
mod support;
