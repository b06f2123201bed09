//! The fleet simulator: an HTTPS emulation of the ARM endpoints scready reads, and an
//! independent oracle for it.
//!
//! Start one in-process with [`Simulator::start`] (tests, benchmarks, `scready demo`) or from the
//! command line with `scready sim serve`. It serves a [`fleet::Fleet`] with ARM's URL shapes,
//! paging, errors and read throttling, injects faults on request, and records every request.
//! [`generate`] makes realistic fleets of any size, and [`answer_key`] says what a correct
//! scanner concludes about every instance of a generated fleet.
//!
//! This crate shares no code with the scanner: it writes ARM's JSON from its own types
//! ([`wire`]), evaluates RBAC with its own rules ([`authz`]), and reads its own files ([`file`]).
//! The only contract between the two is ARM's documented wire format.

#![warn(missing_docs)]

pub mod admin;
pub mod answer_key;
pub mod apply;
pub mod authz;
pub mod compute;
pub mod demo;
pub mod faults;
pub mod file;
pub mod fleet;
pub mod generate;
pub mod graph;
pub mod guest;
pub mod observe;
pub mod offline;
pub mod rbac_data;
pub mod reply;
pub mod routes;
pub mod server;
pub mod throttle;
pub mod tls;
pub mod tokens;
pub mod wire;
pub mod world;

use compute::{ComputeLimiter, ComputeThrottle, StatusOnlyShape};
use faults::{FaultPlan, FaultRule};
use fleet::Fleet;
use observe::{RequestRecord, Stats};
use server::{Latency, State};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use throttle::{Throttle, ThrottleConfig};
use tokens::TokenAuthority;
use world::World;

/// Items per list page unless the fleet or the configuration says otherwise; small, so that
/// every client exercises paging.
pub const DEFAULT_PAGE_SIZE: usize = 5;

/// How a simulator runs.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Address to listen on; must be loopback. Port 0 picks a free port.
    pub addr: SocketAddr,
    /// Where the CA is kept; a fresh temporary directory when absent.
    pub state_dir: Option<PathBuf>,
    /// Items per page; the fleet's `settings.page_size`, else [`DEFAULT_PAGE_SIZE`].
    pub page_size: Option<usize>,
    /// Read throttling.
    pub throttle: ThrottleConfig,
    /// Added latency.
    pub latency: Latency,
    /// Injected faults.
    pub faults: Vec<FaultRule>,
    /// Seed for fault rates and latency jitter.
    pub seed: u64,
    /// Lifetime of issued tokens, seconds.
    pub token_lifetime_secs: u64,
    /// What the `statusOnly=true` VM listing returns; `Status` (identity, location and the
    /// instance view only) unless a test asks for the full model.
    pub status_only_shape: StatusOnlyShape,
    /// Compute's throttling policies for VM reads; `None`: Compute does not throttle.
    pub compute_throttle: Option<ComputeThrottle>,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            state_dir: None,
            page_size: None,
            throttle: ThrottleConfig::default(),
            latency: Latency::default(),
            faults: Vec::new(),
            seed: 1,
            token_lifetime_secs: 3600,
            status_only_shape: StatusOnlyShape::Status,
            compute_throttle: None,
        }
    }
}

impl SimConfig {
    /// The default configuration with the serving settings a fleet file carries
    /// (`settings.status_only_shape`, `settings.compute_throttle`; the page size is read at
    /// start anyway).
    pub fn for_fleet(fleet: &Fleet) -> SimConfig {
        SimConfig {
            status_only_shape: fleet.settings.status_only_shape.unwrap_or_default(),
            compute_throttle: fleet.settings.compute_throttle.clone(),
            ..SimConfig::default()
        }
    }
}

/// Why a simulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The address is not a loopback address.
    #[error("refusing to listen on {0}: the simulator binds loopback addresses only")]
    NotLoopback(SocketAddr),
    /// Binding failed.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// TLS material could not be prepared.
    #[error("TLS: {0}")]
    Tls(String),
    /// The configuration is not valid.
    #[error("{0}")]
    Config(String),
}

/// A running simulator. Dropping it stops the listener.
pub struct Simulator {
    state: Arc<State>,
    addr: SocketAddr,
    ca_pem: String,
    ca_path: PathBuf,
    shutdown: tokio::sync::watch::Sender<bool>,
    task: Option<tokio::task::JoinHandle<()>>,
    _temp_dir: Option<tempfile::TempDir>,
}

impl std::fmt::Debug for Simulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulator")
            .field("addr", &self.addr)
            .field("ca_path", &self.ca_path)
            .finish_non_exhaustive()
    }
}

impl Simulator {
    /// Starts serving `fleet` (must already be validated) on a loopback address.
    pub async fn start(fleet: &Fleet, config: SimConfig) -> Result<Simulator, SimError> {
        if !config.addr.ip().is_loopback() {
            return Err(SimError::NotLoopback(config.addr));
        }
        if let Some(t) = &config.compute_throttle {
            t.validate()
                .map_err(|e| SimError::Config(format!("compute throttle: {e}")))?;
        }
        let (state_dir, temp_dir) = match &config.state_dir {
            Some(d) => (d.clone(), None),
            None => {
                let t = tempfile::Builder::new()
                    .prefix("scready-sim-")
                    .tempdir()
                    .map_err(|e| SimError::Tls(format!("cannot create a state directory: {e}")))?;
                (t.path().to_path_buf(), Some(t))
            }
        };
        let tls = tls::prepare(&state_dir).map_err(SimError::Tls)?;
        let listener = tokio::net::TcpListener::bind(config.addr)
            .await
            .map_err(|source| SimError::Bind {
                addr: config.addr,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| SimError::Bind {
            addr: config.addr,
            source,
        })?;
        let world = World::build(fleet);
        let page_size = config
            .page_size
            .or(world.page_size)
            .unwrap_or(DEFAULT_PAGE_SIZE)
            .max(1);
        let (shutdown_tx, shutdown_rx) = tokio::sync::watch::channel(false);
        let identity_header = {
            let mut rng = fastrand::Rng::with_seed(config.seed ^ 0x5eed);
            (0..32).map(|_| rng.alphanumeric()).collect()
        };
        let state = Arc::new(State {
            world: RwLock::new(Arc::new(world)),
            fleet: Mutex::new(fleet.clone()),
            tokens: TokenAuthority::new(config.token_lifetime_secs),
            throttle: Throttle::new(config.throttle.clone()),
            faults: FaultPlan::new(config.faults.clone(), config.seed),
            observer: Default::default(),
            page_size: AtomicUsize::new(page_size),
            latency: Mutex::new(config.latency),
            rng: Mutex::new(fastrand::Rng::with_seed(config.seed)),
            request_number: AtomicU64::new(0),
            identity_header,
            started: std::time::Instant::now(),
            addr,
            shutdown: shutdown_rx,
            operations: Mutex::new(Default::default()),
            status_only_shape: Mutex::new(config.status_only_shape),
            compute: ComputeLimiter::new(config.compute_throttle.clone()),
            answer_key: RwLock::new(None),
        });
        let acceptor = tokio_rustls::TlsAcceptor::from(tls.server_config.clone());
        let task = tokio::spawn(server::serve(listener, acceptor, state.clone()));
        Ok(Simulator {
            state,
            addr,
            ca_pem: tls.ca_pem,
            ca_path: tls.ca_path,
            shutdown: shutdown_tx,
            task: Some(task),
            _temp_dir: temp_dir,
        })
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `https://127.0.0.1:PORT` — the ARM endpoint and authority host of this simulator.
    pub fn base_url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// The managed-identity endpoint (`IDENTITY_ENDPOINT`).
    pub fn identity_endpoint(&self) -> String {
        format!("{}/msi/token", self.base_url())
    }

    /// The secret expected in `X-IDENTITY-HEADER` (`IDENTITY_HEADER`).
    pub fn identity_header(&self) -> &str {
        &self.state.identity_header
    }

    /// PEM of the CA that signed the server certificate.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// Where the CA PEM was written.
    pub fn ca_path(&self) -> &Path {
        &self.ca_path
    }

    /// Issues an ARM token for a principal of the fleet: a user's token (`idtyp` `user`) for a
    /// user, an application's token (`idtyp` `app`) for a service principal.
    pub fn issue_token(&self, principal: &str) -> Option<String> {
        let world = self.state.world.read().unwrap().clone();
        let info = world.principals.get(&principal.to_ascii_lowercase())?;
        let is_app = info.principal_type != fleet::PrincipalType::User;
        Some(
            self.state
                .tokens
                .issue(&info.id, &info.tenant, None, is_app)
                .0,
        )
    }

    /// Issues an ARM token for a principal of the fleet without the claim that says whose kind
    /// of token it is (`idtyp`), as some issuers send: its kind cannot be told.
    pub fn issue_token_of_unstated_kind(&self, principal: &str) -> Option<String> {
        let world = self.state.world.read().unwrap().clone();
        let info = world.principals.get(&principal.to_ascii_lowercase())?;
        Some(
            self.state
                .tokens
                .issue_unstated_kind(tokens::ARM_AUDIENCE, &info.id, &info.tenant),
        )
    }

    /// Issues a Microsoft Graph token for a principal of the fleet.
    pub fn issue_graph_token(&self, principal: &str) -> Option<String> {
        let world = self.state.world.read().unwrap().clone();
        let info = world.principals.get(&principal.to_ascii_lowercase())?;
        let is_app = info.principal_type != fleet::PrincipalType::User;
        Some(
            self.state
                .tokens
                .issue_for(tokens::GRAPH_AUDIENCE, &info.id, &info.tenant, None, is_app)
                .0,
        )
    }

    /// Issues a federated assertion that the token endpoint accepts for `client_id`
    /// (the content of `AZURE_FEDERATED_TOKEN_FILE` in workload identity).
    pub fn issue_federated_token(&self, client_id: &str) -> String {
        self.state.tokens.issue_federated(client_id)
    }

    /// Counters.
    pub fn stats(&self) -> Stats {
        self.state.stats()
    }

    /// The request log.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.state.observer.requests()
    }

    /// Clears the log and counters (the throttles and request numbering continue).
    pub fn reset_observations(&self) {
        self.state.reset_observations();
    }

    /// Number of ARM requests received so far (the next gets this plus one).
    pub fn request_count(&self) -> u64 {
        self.state.request_number.load(Ordering::SeqCst)
    }

    /// Adds a fault rule.
    pub fn add_fault(&self, rule: FaultRule) -> Result<(), String> {
        self.state.faults.add(rule)
    }

    /// Removes every fault rule.
    pub fn clear_faults(&self) {
        self.state.faults.clear();
    }

    /// Changes the throttle (buckets start full again).
    pub fn set_throttle(&self, config: ThrottleConfig) {
        self.state.throttle.reconfigure(config);
    }

    /// Changes what the `statusOnly=true` VM listing returns from now on.
    pub fn set_status_only_shape(&self, shape: StatusOnlyShape) {
        *self.state.status_only_shape.lock().unwrap() = shape;
    }

    /// Changes Compute's throttling policies (`None` turns them off); every window starts
    /// afresh.
    pub fn set_compute_throttle(&self, throttle: Option<ComputeThrottle>) -> Result<(), String> {
        if let Some(t) = &throttle {
            t.validate()?;
        }
        self.state.compute.reconfigure(throttle);
        Ok(())
    }

    /// Changes the added latency.
    pub fn set_latency(&self, latency: Latency) {
        *self.state.latency.lock().unwrap() = latency;
    }

    /// Changes the page size.
    pub fn set_page_size(&self, size: usize) {
        self.state.page_size.store(size.max(1), Ordering::Relaxed);
    }

    /// Serves another fleet from now on (e.g. the estate as it is the next night); the answer
    /// key, which belonged to the old fleet, is dropped.
    pub fn replace_fleet(&self, fleet: &Fleet) {
        *self.state.fleet.lock().unwrap() = fleet.clone();
        *self.state.world.write().unwrap() = Arc::new(World::build(fleet));
        *self.state.answer_key.write().unwrap() = None;
    }

    /// Applies a change to the estate served (see [`apply`]); the answer key, which belonged
    /// to the estate before, is dropped.
    pub fn apply(&self, change: &apply::Change) -> Result<String, String> {
        let done = self.state.apply(change)?;
        *self.state.answer_key.write().unwrap() = None;
        Ok(done)
    }

    /// Serves `key` (the answer key of the fleet served) at `GET /_sim/answer-key`; `None`
    /// answers 404 there.
    pub fn set_answer_key(&self, key: Option<answer_key::AnswerKey>) {
        let body = key.map(|k| Arc::new(serde_json::to_vec(&k).expect("the key serialises")));
        *self.state.answer_key.write().unwrap() = body;
    }

    /// Expires every token issued so far.
    pub fn expire_tokens(&self) {
        self.state.tokens.expire_all();
    }

    /// Stops the listener and waits for it.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}
