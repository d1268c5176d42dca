//! How corridor services reach each other: the one place where a gRPC server or a client
//! channel gets its transport, plaintext or mutual TLS as the topology says.
//!
//! Without a `[tls]` section in the topology, servers listen in plaintext and endpoints are
//! `http://`. With one, every server presents its own certificate and requires a client
//! certificate signed by the corridor CA (`client_ca_root`), and every endpoint is
//! `https://`, trusts only the corridor CA and presents the caller's own certificate: a
//! customs node calls its peers and follows the registry as itself, the declarant as
//! itself, the `corridor` command's client verbs as `[tls].client` (see
//! [`corridor_topology`]'s TLS section). The health and reflection services are served on
//! the same port, so `grpcurl -cacert ca.crt -cert client.crt -key client.key ADDR list`
//! works under TLS as `grpcurl -plaintext ADDR list` does without it.
//!
//! [`to_completion`] is how every service runs a step that records something: in a task that
//! outlives a caller who goes away.
//!
//! [`Transport::for_role`] reads a role's files once; [`Transport::endpoint`] and
//! [`Transport::server`] build from them. [`endpoint`] and [`server`] do both at once.
//!
//! Every server holds its connections to the topology's `[connections]` limits
//! ([`corridor_topology::connections`]): [`Transport::server`] sets the HTTP/2 ones (streams
//! per connection, keepalive PINGs, the request timeout, the TLS handshake timeout), and
//! [`Transport::incoming`] the ones tonic has no setting for: how many connections are open
//! at once, how long a new one may take to send its preface, how long a client may say
//! nothing ([`incoming`]).

pub mod incoming;

use std::sync::Arc;

use corridor_topology::{Connections, Error, ServiceRole, TlsMaterial, Topology};
use tokio::net::TcpListener;
use tonic::service::Routes;
use tonic::transport::server::Router;
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity, Server, ServerTlsConfig};
use tower::util::MapResponseLayer;

pub use incoming::{Accepted, Incoming};

/// The transport of one role: plaintext, or TLS with the corridor CA and the role's own
/// certificate; and the limits its servers hold connections to. Cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct Transport {
    tls: Option<Arc<(ServiceRole, TlsMaterial)>>,
    connections: Connections,
}

/// The endpoint of the service at `addr` (`host:port`) as `me` calls it: [`Transport::for_role`]
/// then [`Transport::endpoint`].
pub fn endpoint(t: &Topology, me: &ServiceRole, addr: &str) -> Result<Endpoint, Error> {
    Transport::for_role(t, me)?.endpoint(addr)
}

/// A server builder for `me`: [`Transport::for_role`] then [`Transport::server`].
pub fn server(t: &Topology, me: &ServiceRole) -> Result<Server, Error> {
    Transport::for_role(t, me)?.server()
}

impl Transport {
    /// Plaintext: `http://` endpoints and a server without TLS, with the default connection
    /// limits.
    pub fn plaintext() -> Self {
        Self::default()
    }

    /// The transport the topology gives `role`: plaintext without a `[tls]` section, else TLS
    /// with the CA and `role`'s certificate and key, read now (a missing file, or a key file
    /// others may read, is an error here rather than at the first connection); its servers
    /// hold connections to the topology's `[connections]` limits.
    pub fn for_role(t: &Topology, role: &ServiceRole) -> Result<Self, Error> {
        let tls = t.tls_material(role)?;
        let transport = Self {
            tls: tls.map(|m| Arc::new((role.clone(), m))),
            connections: t.connections,
        };
        // Parse the PEM files now, so that a bad one names its role at start.
        if transport.is_tls() {
            transport.server()?;
        }
        Ok(transport)
    }

    /// TLS with `material`, as `role` (for callers that hold the files themselves).
    pub fn with_material(role: ServiceRole, material: TlsMaterial) -> Self {
        Self {
            tls: Some(Arc::new((role, material))),
            connections: Connections::default(),
        }
    }

    /// This transport with its servers held to `limits` instead.
    pub fn with_connections(self, limits: Connections) -> Self {
        Self {
            connections: limits,
            ..self
        }
    }

    /// The limits this transport's servers hold connections to.
    pub fn connections(&self) -> &Connections {
        &self.connections
    }

    /// The connections of `listener`, held to this transport's limits: what a server built
    /// by [`Transport::server`] serves (`serve_with_incoming`).
    pub fn incoming(&self, listener: TcpListener) -> Incoming {
        Incoming::new(listener, &self.connections)
    }

    /// Is this TLS?
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// The endpoint of the service at `addr` (`host:port`; a leading `http://` or
    /// `https://` is ignored: the transport decides): `https://` with the corridor CA and
    /// this role's certificate under TLS, `http://` otherwise. Callers add their timeouts.
    pub fn endpoint(&self, addr: &str) -> Result<Endpoint, Error> {
        let host_port = addr
            .strip_prefix("http://")
            .or_else(|| addr.strip_prefix("https://"))
            .unwrap_or(addr)
            .trim_end_matches('/');
        let scheme = if self.is_tls() { "https" } else { "http" };
        let ep = Endpoint::from_shared(format!("{scheme}://{host_port}")).map_err(|e| {
            Error::Invalid {
                field: "address".into(),
                reason: format!("{addr:?} is not host:port: {}", chain(&e)),
            }
        })?;
        let Some(tls) = &self.tls else {
            return Ok(ep);
        };
        let (role, m) = &**tls;
        let config = ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(&m.ca_pem))
            .identity(Identity::from_pem(&m.cert_pem, &m.key_pem));
        ep.tls_config(config).map_err(|e| bad_tls(role, &e))
    }

    /// A server builder: under TLS it presents this role's certificate and requires a client
    /// certificate signed by the corridor CA, with the TLS handshake held to the handshake
    /// timeout; plaintext otherwise. Either way with the HTTP/2 limits of `[connections]`:
    /// streams per connection, keepalive PINGs, and the request timeout.
    ///
    /// The request timeout is tonic's (`Server::timeout`, which also honours a client's
    /// `grpc-timeout`): it bounds the future that produces a call's response head, so a
    /// unary call from request to answer, and a server stream only until its handler returns
    /// the stream. The follow streams (`WatchConsignment`, `TrackConsignment`,
    /// `WatchChanges`, `ListEntries`) start within it and then run as long as their clients
    /// stay.
    pub fn server(&self) -> Result<Server, Error> {
        let c = &self.connections;
        let builder = Server::builder()
            .max_concurrent_streams(c.max_concurrent_streams)
            .http2_keepalive_interval(Some(c.keepalive_interval()))
            .http2_keepalive_timeout(Some(c.keepalive_timeout()))
            .timeout(c.request_timeout());
        let Some(tls) = &self.tls else {
            return Ok(builder);
        };
        let (role, m) = &**tls;
        let config = ServerTlsConfig::new()
            .identity(Identity::from_pem(&m.cert_pem, &m.key_pem))
            .client_ca_root(Certificate::from_pem(&m.ca_pem))
            .client_auth_optional(false)
            .timeout(c.handshake_timeout());
        builder.tls_config(config).map_err(|e| bad_tls(role, &e))
    }
}

impl Transport {
    /// A server on this transport with what every corridor server offers beside its own
    /// services: gRPC health, reporting each of `serving` (service names) SERVING, and
    /// reflection, v1 and v1alpha (grpcurl 1.8 and Python's grpcio-reflection speak only
    /// v1alpha), listing `serving`, health and reflection; and `http`, plain HTTP routes
    /// (HTTP/1.1 or HTTP/2) on the same port, whose fallback answers every path that is not
    /// a gRPC service's. The caller adds its own services; the [`Health`] returned changes
    /// what health reports.
    pub async fn router(
        &self,
        serving: &[&str],
        http: axum::Router,
    ) -> Result<(CorridorRouter, Health), Error> {
        let (reporter, health) = tonic_health::server::health_reporter();
        for name in serving {
            reporter
                .set_service_status(*name, tonic_health::ServingStatus::Serving)
                .await;
        }
        // Reflection lists what this server serves: its own services, health and
        // reflection (not every service of corridor's descriptor set).
        let reflection = || {
            let mut b = tonic_reflection::server::Builder::configure()
                .register_encoded_file_descriptor_set(corridor_proto::FILE_DESCRIPTOR_SET)
                .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET);
            for name in serving.iter().copied().chain([
                "grpc.health.v1.Health",
                "grpc.reflection.v1.ServerReflection",
                "grpc.reflection.v1alpha.ServerReflection",
            ]) {
                b = b.with_service_name(name);
            }
            b
        };
        let bad = |e: tonic_reflection::server::Error| Error::Invalid {
            field: "reflection".into(),
            reason: e.to_string(),
        };
        let v1 = reflection().build_v1().map_err(bad)?;
        let v1alpha = reflection().build_v1alpha().map_err(bad)?;
        let router = self
            .server()?
            .accept_http1(true)
            .layer(MapResponseLayer::new(
                conventional_codes as fn(HttpResponse) -> HttpResponse,
            ))
            .add_routes(Routes::from(http))
            .add_service(health)
            .add_service(v1)
            .add_service(v1alpha);
        Ok((router, Health { reporter }))
    }
}

/// What a server's gRPC health reports, for a server whose services stop and resume serving
/// (a service whose ledger failed a write, until it is reopened).
#[derive(Clone)]
pub struct Health {
    reporter: tonic_health::server::HealthReporter,
}

impl Health {
    /// Reports `services` (service names; `""` is the server as a whole) SERVING, or
    /// NOT_SERVING.
    pub async fn set(&self, services: &[&str], serving: bool) {
        let status = if serving {
            tonic_health::ServingStatus::Serving
        } else {
            tonic_health::ServingStatus::NotServing
        };
        for name in services {
            self.reporter.set_service_status(*name, status).await;
        }
    }
}

type HttpResponse = http::Response<tonic::body::Body>;

/// The router every corridor server starts from ([`Transport::router`]): a request over the
/// server's message limit is answered RESOURCE_EXHAUSTED (`proto/LIMITS.md`), one that is not
/// a protobuf message of the RPC's type INVALID_ARGUMENT (`proto/ERRORS.md`).
pub type CorridorRouter = Router<
    tower::layer::util::Stack<
        MapResponseLayer<fn(HttpResponse) -> HttpResponse>,
        tower::layer::util::Identity,
    >,
>;

/// The codes tonic gives a request it cannot read, made the ones corridor documents; the
/// message is kept.
/// - A request over the server's message limit: tonic answers OUT_OF_RANGE "decoded message
///   length too large: found N bytes, the limit is: M bytes". It becomes RESOURCE_EXHAUSTED,
///   as gRPC's status-code table says ("a message larger than the configured limit";
///   libraries never generate OUT_OF_RANGE).
/// - A request that is not a protobuf message of the RPC's type: tonic answers INTERNAL
///   "failed to decode Protobuf message: ...". The client sent it, so it becomes
///   INVALID_ARGUMENT, and INTERNAL keeps meaning a fault of the service.
fn conventional_codes(mut r: HttpResponse) -> HttpResponse {
    let h = r.headers_mut();
    let message = h
        .get("grpc-message")
        .and_then(|m| m.to_str().ok())
        .map(|m| m.replace("%20", " "))
        .unwrap_or_default();
    let status = h.get("grpc-status").and_then(|s| s.to_str().ok());
    let code = match status {
        Some("11") if message.contains("message length too large") => {
            Some(tonic::Code::ResourceExhausted)
        }
        Some("13") if message.starts_with("failed to decode Protobuf message") => {
            Some(tonic::Code::InvalidArgument)
        }
        _ => None,
    };
    if let Some(code) = code {
        h.insert("grpc-status", http::HeaderValue::from(code as i32));
    }
    r
}

fn bad_tls(role: &ServiceRole, e: &tonic::transport::Error) -> Error {
    Error::Invalid {
        field: "tls".into(),
        reason: format!("the TLS certificate or key of {role}: {}", chain(e)),
    }
}

/// An error and its sources, `: `-separated (tonic's own message is only the outermost).
pub fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut next = e.source();
    while let Some(s) = next {
        out.push_str(": ");
        out.push_str(&s.to_string());
        next = s.source();
    }
    out
}

/// Runs a step that records something as a task of `tasks`, which finishes even if the
/// caller goes away (tonic drops a handler whose client disconnects): a step whose entries
/// are being written is never cut off before the service applies them. The services' stop
/// paths wait for `tasks`.
pub async fn to_completion<T, E, F>(
    tasks: &tokio_util::task::TaskTracker,
    step: F,
) -> Result<tonic::Response<T>, tonic::Status>
where
    T: Send + 'static,
    E: Into<tonic::Status> + Send + 'static,
    F: std::future::Future<Output = Result<T, E>> + Send + 'static,
{
    match tasks.spawn(step).await {
        Ok(r) => r.map(tonic::Response::new).map_err(Into::into),
        Err(e) => {
            tracing::error!(error = %e, "a step failed to run");
            Err(tonic::Status::internal("the step failed to run"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plaintext_endpoints_are_http_whatever_the_prefix() {
        let t = Transport::plaintext();
        for a in [
            "127.0.0.1:7401",
            "http://127.0.0.1:7401",
            "https://127.0.0.1:7401/",
        ] {
            assert_eq!(
                t.endpoint(a).map(|e| e.uri().to_string()).ok().as_deref(),
                Some("http://127.0.0.1:7401/")
            );
        }
        assert!(t.endpoint("not an address").is_err());
    }
}
