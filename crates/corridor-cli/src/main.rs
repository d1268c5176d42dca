//! `corridor`: the one binary of the corridor customs system.
//!
//! Exit codes for every subcommand: 0 success, 1 a verification or trace that found damage,
//! 2 bad input or usage (clap's own code for usage errors).

mod cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Cross-border digital customs clearance along the Middle Corridor
/// (China -> Kazakhstan -> Azerbaijan -> Turkey).
#[derive(Parser)]
#[command(name = "corridor", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the whole corridor on this machine: the registry, each customs node and the
    /// declarant as separate processes, until Ctrl-C. A service that stops on its own is
    /// named at once and the others are stopped: exit 3.
    Up(cmd::up::UpArgs),
    /// Bring the corridor up on an accelerated clock and send consignments through it, with
    /// live progress, verified ledgers and a clearance report.
    ///
    /// Exit codes: 0 every consignment driven and every ledger and trace verified; 1 a
    /// ledger or trace that did not verify, or a consignment that could not be driven; 2 bad
    /// input or usage; 3 a service stopped during the run (named at once, with
    /// `service NAME (pid N) stopped: STATUS`; the report is partial, marked PARTIAL).
    Demo(cmd::demo::DemoArgs),
    /// Integration tests of clearance flows written as data: `scenario run FILE...` (exit 0
    /// all held, 1 one did not, 2 a bad file) and `scenario schema`.
    #[command(subcommand)]
    Scenario(cmd::scenario::ScenarioCommand),
    /// Create and inspect ed25519 keys.
    #[command(subcommand)]
    Keys(cmd::keys::KeysCommand),
    /// Verify and export a node's ledger.
    #[command(subcommand)]
    Ledger(cmd::ledger::LedgerCommand),
    /// Run one corridor service (for deployment).
    Serve(cmd::serve::ServeArgs),
    /// The AEO registry's client: operators, certificates, arrangements, recognition.
    Aeo(cmd::aeo::AeoArgs),
    /// Declare a consignment through the declarant, from a JSON file.
    Declare(cmd::declarant::DeclareArgs),
    /// A consignment's status at the declarant and at every node that knows it.
    Status(cmd::declarant::IdArgs),
    /// Follow a consignment across the corridor until it completes or stops.
    Watch(cmd::declarant::IdArgs),
    /// Transfer, endorse or surrender a bill of lading; the carrier's answer.
    Bill(cmd::declarant::BillArgs),
    /// Cancel a declaration before the goods arrive at the first border.
    Cancel(cmd::declarant::CancelArgs),
    /// Record a consignment's arrival at a border post (--post UN/LOCODE), with the seals
    /// checked (an officer).
    Arrive(cmd::customs::ArriveArgs),
    /// Record a consignment's exit from a country at a border post (--post UN/LOCODE); its
    /// node hands it on (an officer).
    Exit(cmd::customs::ExitArgs),
    /// Release, hold or refuse a consignment in the yellow or red lane (an officer).
    Decide(cmd::customs::DecideArgs),
    /// List a node's consignments: awaiting an officer, flagged, open or all.
    Queue(cmd::customs::QueueArgs),
    /// Follow a consignment through every node's ledger, checking each hash link and
    /// signature (exit 1 on any break).
    Trace(cmd::trace::TraceArgs),
    /// One consignment's proof for offline checking (`proof ID --out FILE`), and its check
    /// with public keys only (`proof verify FILE`: exit 1 on any finding).
    Proof(cmd::proof::ProofArgs),
    /// The witnesses: how far each ledger is cosigned, what each witness holds, and the
    /// offline check of equivocation evidence.
    #[command(subcommand)]
    Witness(cmd::witness::WitnessCommand),
    /// Measure corridor's throughput on this machine.
    #[command(subcommand)]
    Bench(cmd::bench::BenchCommand),
    /// The corridor topology built into the binary.
    #[command(subcommand)]
    Topology(cmd::topology::TopologyCommand),
}

/// How a command ended, beyond plain success.
pub(crate) enum Outcome {
    /// Everything checked out.
    Ok,
    /// A verification found damage (exit 1); the report is already printed.
    Damaged,
    /// A service of the corridor `demo` or `up` runs stopped on its own (exit 3); it is
    /// already named (and the demo's partial report printed).
    Stopped,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CORRIDOR_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
    // A client verb whose output is piped into `head` stops quietly when the pipe closes,
    // as Unix tools do, instead of panicking on the failed write. The services and the
    // commands that run them keep SIGPIPE ignored: a closed log pipe must not kill one.
    if !matches!(
        cli.command,
        Command::Up(_)
            | Command::Demo(_)
            | Command::Scenario(_)
            | Command::Serve(_)
            | Command::Bench(_)
    ) {
        sigpipe::reset();
    }
    let result = match cli.command {
        Command::Up(c) => cmd::up::run(c),
        Command::Demo(c) => cmd::demo::run(c),
        Command::Scenario(c) => cmd::scenario::run(c),
        Command::Keys(c) => cmd::keys::run(c),
        Command::Ledger(c) => cmd::ledger::run(c),
        Command::Serve(c) => cmd::serve::run(c),
        Command::Aeo(c) => cmd::aeo::run(c),
        Command::Declare(c) => cmd::declarant::declare(c),
        Command::Status(c) => cmd::declarant::show_status(c),
        Command::Watch(c) => cmd::declarant::watch(c),
        Command::Bill(c) => cmd::declarant::bill(c),
        Command::Cancel(c) => cmd::declarant::cancel(c),
        Command::Arrive(c) => cmd::customs::arrive(c),
        Command::Exit(c) => cmd::customs::exit(c),
        Command::Decide(c) => cmd::customs::decide(c),
        Command::Queue(c) => cmd::customs::queue(c),
        Command::Trace(c) => cmd::trace::run(c),
        Command::Proof(c) => cmd::proof::run(c),
        Command::Witness(c) => cmd::witness::run(c),
        Command::Bench(c) => cmd::bench::run(c),
        Command::Topology(c) => cmd::topology::run(c),
    };
    match result {
        Ok(Outcome::Ok) => ExitCode::SUCCESS,
        Ok(Outcome::Damaged) => ExitCode::from(1),
        Ok(Outcome::Stopped) => ExitCode::from(3),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
