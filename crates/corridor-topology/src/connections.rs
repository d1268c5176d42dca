//! The `[connections]` section: how many connections each corridor server holds open and for
//! how long, so that clients who open connections and say nothing (or stop answering) cannot
//! take a server's file descriptors from everyone else.
//!
//! Every field is optional; the section itself too. The limits apply to each server of the
//! corridor (the registry, the declarant, every customs node) on its own:
//!
//! ```toml
//! [connections]
//! max_connections = 4096        # open at once per server; more wait to be accepted
//! handshake_timeout_ms = 10000  # to send the HTTP/2 preface (and finish TLS)
//! idle_timeout_secs = 300       # longest a client may send nothing at all
//! keepalive_interval_secs = 30  # HTTP/2 PING (and TCP keepalive) after this much quiet
//! keepalive_timeout_secs = 20   # a PING unanswered this long closes the connection
//! max_concurrent_streams = 1024 # calls open at once on one connection
//! request_timeout_secs = 60     # to answer a call (a stream: to start it)
//! ```
//!
//! What a client sees at each limit is in `proto/LIMITS.md`.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::{Error, invalid};

/// The `[connections]` section of a topology: the limits every corridor server holds its
/// connections to (see [the module docs](self)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Connections {
    /// Connections a server holds open at once (default 4096). Past it the server stops
    /// accepting: new connections wait in the listen queue until one closes. Each is a file
    /// descriptor, so keep it well below the process's open-file limit (`ulimit -n`, systemd's
    /// `LimitNOFILE`, a container's `nofile`): at least twice this figure leaves room for the
    /// ledger's files and the server's own calls to its peers.
    pub max_connections: u32,
    /// How long a new connection has to send the HTTP/2 connection preface (and, under TLS,
    /// to finish the TLS handshake), in milliseconds (default 10000): a connection that says
    /// nothing is closed then, and frees its place.
    pub handshake_timeout_ms: u64,
    /// The longest a client may send nothing at all, in seconds (default 300); then the
    /// connection is closed. A live client answers every keepalive PING, so it must be more
    /// than `keepalive_interval_secs + keepalive_timeout_secs`: only a silent peer meets it.
    pub idle_timeout_secs: u64,
    /// After this many seconds without a frame from the client the server sends an HTTP/2
    /// PING (default 30); the same figure is the TCP keepalive time.
    pub keepalive_interval_secs: u64,
    /// How long a PING may go unanswered before the connection is closed, in seconds
    /// (default 20).
    pub keepalive_timeout_secs: u64,
    /// Calls (HTTP/2 streams) open at once on one connection (default 1024), follow streams
    /// included: announced in the server's SETTINGS, so a client's further calls wait for
    /// one to finish.
    pub max_concurrent_streams: u32,
    /// How long a server takes to answer a call, in seconds (default 60): a unary call from
    /// its request to its answer; a stream from its request until it starts (its messages
    /// after that have no limit, so `WatchConsignment`, `TrackConsignment`, `WatchChanges`
    /// and `ListEntries` follow as long as their clients stay). A call past it is answered
    /// CANCELLED `Timeout expired`; a step it started still completes.
    pub request_timeout_secs: u64,
}

impl Default for Connections {
    fn default() -> Self {
        Self {
            max_connections: 4096,
            handshake_timeout_ms: 10_000,
            idle_timeout_secs: 300,
            keepalive_interval_secs: 30,
            keepalive_timeout_secs: 20,
            max_concurrent_streams: 1024,
            request_timeout_secs: 60,
        }
    }
}

/// The largest `max_connections`: a million connections is past any open-file limit a
/// server would run with.
const MAX_CONNECTIONS: u32 = 1 << 20;

impl Connections {
    /// Is this every default (the section may be left out)?
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }

    /// `handshake_timeout_ms` as a duration.
    pub fn handshake_timeout(&self) -> Duration {
        Duration::from_millis(self.handshake_timeout_ms)
    }

    /// `idle_timeout_secs` as a duration.
    pub fn idle_timeout(&self) -> Duration {
        Duration::from_secs(self.idle_timeout_secs)
    }

    /// `keepalive_interval_secs` as a duration.
    pub fn keepalive_interval(&self) -> Duration {
        Duration::from_secs(self.keepalive_interval_secs)
    }

    /// `keepalive_timeout_secs` as a duration.
    pub fn keepalive_timeout(&self) -> Duration {
        Duration::from_secs(self.keepalive_timeout_secs)
    }

    /// `request_timeout_secs` as a duration.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_secs)
    }

    pub(crate) fn check(&self) -> Result<(), Error> {
        let field = |name: &str| format!("connections.{name}");
        if !(1..=MAX_CONNECTIONS).contains(&self.max_connections) {
            return Err(invalid(
                field("max_connections"),
                format!("must be between 1 and {MAX_CONNECTIONS}"),
            ));
        }
        for (name, value) in [
            ("handshake_timeout_ms", self.handshake_timeout_ms),
            ("idle_timeout_secs", self.idle_timeout_secs),
            ("keepalive_interval_secs", self.keepalive_interval_secs),
            ("keepalive_timeout_secs", self.keepalive_timeout_secs),
            ("request_timeout_secs", self.request_timeout_secs),
            ("max_concurrent_streams", self.max_concurrent_streams.into()),
        ] {
            if value == 0 {
                return Err(invalid(field(name), "must be more than zero"));
            }
        }
        let answered = self
            .keepalive_interval_secs
            .saturating_add(self.keepalive_timeout_secs);
        if self.idle_timeout_secs <= answered {
            return Err(invalid(
                field("idle_timeout_secs"),
                format!(
                    "must be more than keepalive_interval_secs + keepalive_timeout_secs \
                     ({answered}): a live client is quiet that long between PINGs"
                ),
            ));
        }
        if self.handshake_timeout() > self.idle_timeout() {
            return Err(invalid(
                field("handshake_timeout_ms"),
                format!(
                    "must be at most idle_timeout_secs ({} s)",
                    self.idle_timeout_secs
                ),
            ));
        }
        Ok(())
    }
}
