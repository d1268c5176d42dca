//! The subcommands: each parses its arguments, calls the libraries, and prints.

pub(crate) mod aeo;
pub(crate) mod bench;
pub(crate) mod customs;
pub(crate) mod declarant;
pub(crate) mod demo;
pub(crate) mod keys;
pub(crate) mod ledger;
pub(crate) mod proof;
pub(crate) mod scenario;
pub(crate) mod serve;
pub(crate) mod topology;
pub(crate) mod trace;
pub(crate) mod up;
pub(crate) mod witness;

/// The runtime of a client verb: one thread.
pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    runtime_with(tokio::runtime::Builder::new_current_thread())
}

/// The runtime of a service, the corridor's processes and the benchmarks: a worker thread
/// per core.
pub(crate) fn runtime_all_cores() -> anyhow::Result<tokio::runtime::Runtime> {
    runtime_with(tokio::runtime::Builder::new_multi_thread())
}

fn runtime_with(mut b: tokio::runtime::Builder) -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(b.enable_all().build()?)
}

/// Runs `f` to completion on [`runtime`].
pub(crate) fn block_on<F: std::future::Future>(f: F) -> anyhow::Result<F::Output> {
    Ok(runtime()?.block_on(f))
}

/// Runs `f` to completion on [`runtime_all_cores`].
pub(crate) fn block_on_all_cores<F: std::future::Future>(f: F) -> anyhow::Result<F::Output> {
    Ok(runtime_all_cores()?.block_on(f))
}

/// The `corridor` binary itself, which `up`, `demo` and `bench corridor` start as each
/// service's process.
pub(crate) fn this_program() -> anyhow::Result<std::path::PathBuf> {
    use anyhow::Context;
    std::env::current_exe().context("cannot find the corridor binary")
}
