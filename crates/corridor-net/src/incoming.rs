//! The connections a corridor server accepts, held to the topology's `[connections]` limits
//! before tonic sees them.
//!
//! tonic's server (hyper's HTTP/2 underneath) waits for a new connection's preface for as
//! long as the client likes, and accepts as many connections as arrive; HTTP/2 keepalive
//! starts only once the preface is in. So a client that opens connections and sends nothing
//! would hold a file descriptor each until the server had none left, and the server would
//! never finish a graceful shutdown. [`Incoming`] closes that gap:
//!
//! - it takes a slot of a semaphore of `max_connections` before it accepts, and a connection
//!   gives its slot back when it closes: past the limit the server accepts nothing, and new
//!   connections wait in the kernel's listen queue (costing the process no descriptor) until
//!   one closes;
//! - an [`Accepted`] connection whose client has not sent the 24 bytes of the HTTP/2 preface
//!   within `handshake_timeout_ms` fails its next read, and hyper drops it (under TLS, tonic's
//!   own handshake timeout bounds the TLS handshake; the preface follows inside it);
//! - one whose client has sent nothing at all for `idle_timeout_secs` fails the same way
//!   (the server's keepalive PINGs make a live client answer long before);
//! - accepted sockets get `TCP_NODELAY` and TCP keepalive (tonic sets neither on a stream it
//!   is handed).

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use corridor_topology::Connections;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, Sleep};
use tokio_stream::Stream;
use tokio_util::sync::PollSemaphore;
use tonic::transport::server::{Connected, TcpConnectInfo, TcpIncoming};

/// The client's first bytes on an HTTP/2 connection: `PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n`.
const PREFACE_LEN: usize = 24;

/// How often at most the server logs that it is at its connection limit: once per episode
/// would be once per accepted connection during a flood.
const FULL_WARNING_EVERY: Duration = Duration::from_secs(10);

/// The connections of a listener, at most `max_connections` open at once, each held to the
/// handshake and idle timeouts (see [the module docs](self)). Serve it with
/// `serve_with_incoming`.
pub struct Incoming {
    listener: TcpIncoming,
    slots: PollSemaphore,
    /// The slot taken for the next connection while the listener has none to give.
    slot: Option<OwnedSemaphorePermit>,
    limits: Connections,
    warned: Option<Instant>,
}

impl Incoming {
    /// The connections of `listener` under `limits`.
    pub fn new(listener: TcpListener, limits: &Connections) -> Self {
        let listener = TcpIncoming::from(listener)
            .with_nodelay(Some(true))
            .with_keepalive(Some(limits.keepalive_interval()));
        Self {
            listener,
            slots: PollSemaphore::new(Arc::new(Semaphore::new(limits.max_connections as usize))),
            slot: None,
            limits: *limits,
            warned: None,
        }
    }

    fn warn_full(&mut self) {
        let now = Instant::now();
        if self.warned.is_none_or(|w| now >= w + FULL_WARNING_EVERY) {
            self.warned = Some(now);
            tracing::warn!(
                max_connections = self.limits.max_connections,
                "at the connection limit: new connections wait until one closes"
            );
        }
    }
}

impl Stream for Incoming {
    type Item = io::Result<Accepted>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        let slot = match this.slot.take() {
            Some(slot) => slot,
            None => match this.slots.poll_acquire(cx) {
                Poll::Ready(Some(slot)) => slot,
                // The semaphore is never closed.
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => {
                    this.warn_full();
                    return Poll::Pending;
                }
            },
        };
        match Pin::new(&mut this.listener).poll_next(cx) {
            Poll::Ready(Some(Ok(io))) => {
                Poll::Ready(Some(Ok(Accepted::new(io, slot, &this.limits))))
            }
            Poll::Ready(Some(Err(e))) => {
                this.slot = Some(slot);
                Poll::Ready(Some(Err(e)))
            }
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => {
                this.slot = Some(slot);
                Poll::Pending
            }
        }
    }
}

/// An accepted connection: the socket, its place among the server's `max_connections`
/// (given back when hyper drops it), and the deadlines its client must meet.
pub struct Accepted {
    io: TcpStream,
    _slot: OwnedSemaphorePermit,
    /// Until the preface is in: when it must be.
    handshake: Option<Pin<Box<Sleep>>>,
    /// Bytes received, counted until the preface is in.
    received: usize,
    /// Fires `idle_timeout` after the last bytes received (moved on lazily, when it fires).
    idle: Pin<Box<Sleep>>,
    idle_timeout: Duration,
    last_received: Instant,
}

impl Accepted {
    fn new(io: TcpStream, slot: OwnedSemaphorePermit, limits: &Connections) -> Self {
        let now = Instant::now();
        Self {
            io,
            _slot: slot,
            handshake: Some(Box::pin(tokio::time::sleep_until(
                now + limits.handshake_timeout(),
            ))),
            received: 0,
            idle: Box::pin(tokio::time::sleep_until(now + limits.idle_timeout())),
            idle_timeout: limits.idle_timeout(),
            last_received: now,
        }
    }

    fn received(&mut self, n: usize) {
        self.last_received = Instant::now();
        if self.handshake.is_some() {
            self.received += n;
            if self.received >= PREFACE_LEN {
                self.handshake = None;
            }
        }
    }

    /// Whether a deadline has passed (with `cx` woken when the next one does).
    fn expired(&mut self, cx: &mut Context<'_>) -> Option<&'static str> {
        if let Some(h) = &mut self.handshake
            && h.as_mut().poll(cx).is_ready()
        {
            return Some("no HTTP/2 preface within the handshake timeout");
        }
        while self.idle.as_mut().poll(cx).is_ready() {
            let due = self.last_received + self.idle_timeout;
            if due <= Instant::now() {
                return Some("nothing received within the idle timeout");
            }
            self.idle.as_mut().reset(due);
        }
        None
    }
}

impl AsyncRead for Accepted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let before = buf.filled().len();
        if let Poll::Ready(r) = Pin::new(&mut this.io).poll_read(cx, buf) {
            let n = buf.filled().len() - before;
            if n > 0 {
                this.received(n);
            }
            return Poll::Ready(r);
        }
        match this.expired(cx) {
            Some(why) => {
                tracing::debug!(peer = ?this.io.peer_addr().ok(), "closing a connection: {why}");
                Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, why)))
            }
            None => Poll::Pending,
        }
    }
}

impl AsyncWrite for Accepted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// The peer and local addresses, as for a plain `TcpStream` (so `Request::remote_addr` and,
/// under TLS, `peer_certs` work as before).
impl Connected for Accepted {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> TcpConnectInfo {
        self.io.connect_info()
    }
}
