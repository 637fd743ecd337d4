//! Built-in analytics: logon summaries, brute force, password spraying,
//! Kerberoasting, new services and scheduled tasks, process stacking, the
//! lateral-movement graph and pass-the-hash.
//!
//! [`Analytics`] is a streaming accumulator: give each rayon worker its
//! own, [`Analytics::observe`] every event in any order, [`Analytics::merge`]
//! the workers, then [`Analytics::finish`]. Windowed analytics evaluate at
//! `finish` over sorted per-key series, so arrival order never matters.
//!
//! Memory is bounded: each table admits at most [`AnalyticsConfig::max_keys`]
//! distinct keys (windowed series: `max_series_keys`, each at most
//! `series_points` points) and counts what it turned away in
//! [`AnalyticsReport::dropped`]. When a table is full, existing keys keep
//! counting; new keys are dropped, so the report is complete for the
//! first-admitted keys and says how much it missed.

mod auth;
mod beacon;
mod findings;
mod lateral;
mod logon;
mod persistence;
mod remote_exec;
mod stacking;

pub use auth::{AuthKind, failure_reason};
pub use beacon::Beacon;
pub use lateral::{
    GraphAccount, GraphEdge, GraphNode, HostAddress, LateralGraph, PassTheHash, Protocol,
};
pub use logon::{
    AccountSummary, BruteForce, Count, Kerberoast, LogonSummary, SPRAY_ACCOUNTS_SHOWN, Spraying,
};
pub use persistence::{PersistenceEntry, suspicious_command};
pub use stacking::{HostImage, HostStack, ProcessStacks, StackRow};

use kahu_event::Event;
use serde::{Deserialize, Serialize};

/// Thresholds and caps. Defaults are documented per field and in
/// `docs/benchmarks/reconstruct.md`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AnalyticsConfig {
    /// Distinct keys per summary table (logons, accounts, services, tasks,
    /// process stacks, graph edges). Default 100,000.
    pub max_keys: usize,
    /// Distinct (mechanism, account, source) series kept for windowed
    /// analytics, and Kerberoasting keys. Default 50,000.
    pub max_series_keys: usize,
    /// Points per series before it is coarsened (see `approximate` flags).
    /// Default 64: worst case `max_series_keys × 2 × 2 × 64 × 16 B` ≈ 200 MB,
    /// typical far less.
    pub series_points: usize,
    /// Failures of one account from one source within the window that make a
    /// brute force. Default 10.
    pub brute_force_threshold: u64,
    /// Brute-force window in seconds (inclusive: first and last failure at
    /// most this far apart). Default 600.
    pub brute_force_window_secs: u64,
    /// How long after a brute force or spray a success from the same source
    /// still counts as "followed by success". Default 3,600.
    pub success_lookahead_secs: u64,
    /// Sprayed accounts (see `spray_max_attempts_per_account`) one source
    /// must fail against within the spray window. Default 5 (the recorded
    /// sprays in EVTX-ATTACK-SAMPLES `kerberos_pwd_spray_4771` and Mordor
    /// `purplesharp_ad_playbook_I` cover 9 and 7 accounts).
    pub spray_min_accounts: usize,
    /// Spray window in seconds. Default 3,600.
    pub spray_window_secs: u64,
    /// An account counts as sprayed when it failed at most this many times
    /// in the window (spraying tries few passwords per account; an account
    /// hammered more is brute force). Default 3.
    pub spray_max_attempts_per_account: u64,
    /// Distinct RC4 service tickets from one account that make Kerberoasting
    /// high severity (fewer are reported as low). Default 5.
    pub kerberoast_min_services: usize,
    /// Rarest images listed across the fleet. Default 100.
    pub stack_top: usize,
    /// Rarest images listed per host. Default 20.
    pub host_stack_top: usize,
    /// Hosts listed in per-host stacks. Default 1,000.
    pub stack_max_hosts: usize,
}

impl Default for AnalyticsConfig {
    fn default() -> Self {
        AnalyticsConfig {
            max_keys: 100_000,
            max_series_keys: 50_000,
            series_points: 64,
            brute_force_threshold: 10,
            brute_force_window_secs: 600,
            success_lookahead_secs: 3600,
            spray_min_accounts: 5,
            spray_window_secs: 3600,
            spray_max_attempts_per_account: 3,
            kerberoast_min_services: 5,
            stack_top: 100,
            host_stack_top: 20,
            stack_max_hosts: 1000,
        }
    }
}

/// The streaming accumulator. See the module documentation.
#[derive(Debug, Clone)]
pub struct Analytics {
    config: AnalyticsConfig,
    events: u64,
    logon: logon::LogonTables,
    persistence: persistence::PersistenceTables,
    stacking: stacking::Stacking,
    lateral: lateral::Lateral,
    beacons: beacon::Beacons,
}

impl Default for Analytics {
    fn default() -> Self {
        Analytics::new(AnalyticsConfig::default())
    }
}

impl Analytics {
    /// An empty accumulator.
    pub fn new(config: AnalyticsConfig) -> Self {
        Analytics {
            logon: logon::LogonTables::new(&config),
            persistence: persistence::PersistenceTables::new(config.max_keys),
            stacking: stacking::Stacking::new(config.max_keys),
            lateral: lateral::Lateral::new(config.max_keys),
            beacons: beacon::Beacons::new(),
            events: 0,
            config,
        }
    }

    /// Feed one event. Events the analytics do not use cost a few compares.
    pub fn observe(&mut self, e: &Event) {
        self.events += 1;
        if let Some(a) = auth::parse(e) {
            if a.kind == AuthKind::KerberosService {
                self.logon.observe_tgs(e, &a);
            }
            self.logon.observe_auth(e, &a);
            self.lateral.observe_auth(e, &a);
        }
        if matches!(e.event_id, Some(4672 | 4634 | 4647)) && auth::is_security(e) {
            self.logon.observe_session(e);
        }
        self.persistence.observe(e);
        self.stacking.observe(e);
        self.lateral.observe(e);
        self.beacons.observe(e);
    }

    /// Combine with another accumulator (from another thread). The result
    /// is the same whatever the order, except which keys are kept once a
    /// table is full.
    pub fn merge(mut self, other: Analytics) -> Analytics {
        self.events += other.events;
        self.logon.merge(other.logon);
        self.persistence.merge(other.persistence);
        self.stacking.merge(other.stacking);
        self.lateral.merge(other.lateral);
        self.beacons.merge(other.beacons);
        self
    }

    /// Evaluate windows and produce the report.
    pub fn finish(self) -> AnalyticsReport {
        let c = &self.config;
        let mut dropped: Vec<(String, u64)> = Vec::new();
        for (name, n) in self
            .logon
            .dropped()
            .into_iter()
            .chain(self.persistence.dropped())
            .chain([("process_stacks", self.stacking.dropped())])
            .chain(self.lateral.dropped())
            .chain(self.beacons.dropped())
        {
            if n > 0 {
                dropped.push((name.to_string(), n));
            }
        }
        let l = self.logon.finish(c);
        let (services, tasks) = self.persistence.finish();
        let process_stacks = self
            .stacking
            .finish(c.stack_top, c.host_stack_top, c.stack_max_hosts);
        let (lateral, pass_the_hash) = self.lateral.finish();
        let beacons = self.beacons.finish();
        AnalyticsReport {
            events: self.events,
            logons: l.logons,
            accounts: l.accounts,
            brute_force: l.brute_force,
            spraying: l.spraying,
            kerberoasting: l.kerberoasting,
            services,
            tasks,
            process_stacks,
            lateral,
            pass_the_hash,
            beacons,
            dropped,
            config: self.config,
        }
    }
}

/// Everything the analytics found, ready to serialise for the report,
/// the case store and the web UI.
#[derive(Debug, Clone, Serialize)]
pub struct AnalyticsReport {
    /// Events observed.
    pub events: u64,
    /// Logon summaries, most failures first.
    pub logons: Vec<LogonSummary>,
    /// Per-account summaries, most active first.
    pub accounts: Vec<AccountSummary>,
    /// Brute-force bursts, those followed by success first.
    pub brute_force: Vec<BruteForce>,
    /// Password-spraying sources.
    pub spraying: Vec<Spraying>,
    /// RC4 service-ticket requesters.
    pub kerberoasting: Vec<Kerberoast>,
    /// Services installed.
    pub services: Vec<PersistenceEntry>,
    /// Scheduled tasks created, updated or launched.
    pub tasks: Vec<PersistenceEntry>,
    /// Process stacking.
    pub process_stacks: ProcessStacks,
    /// Lateral-movement graph.
    pub lateral: LateralGraph,
    /// Pass-the-hash style logons.
    pub pass_the_hash: Vec<PassTheHash>,
    /// Regular connections from one source to one destination and port
    /// (implants polling their C2), most contacts first.
    #[serde(default)]
    pub beacons: Vec<Beacon>,
    /// Tables that hit their key cap, with the number of observations
    /// turned away. Empty when nothing was lost.
    pub dropped: Vec<(String, u64)>,
    /// The configuration used.
    pub config: AnalyticsConfig,
}
