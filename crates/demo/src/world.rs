//! The fictional victim network: hosts, users, addresses.

use crate::rng::Rng;

/// AD NetBIOS domain name.
pub(crate) const NETBIOS: &str = "PARL";
/// DNS / AD domain.
pub(crate) const DOMAIN: &str = "parl.example.nz";
/// Domain SID prefix (invented).
pub(crate) const DOMAIN_SID: &str = "S-1-5-21-3623811015-3361044348-30300820";

/// What a host does, which decides its background activity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// Domain controller.
    Dc,
    /// File server.
    FileServer,
    /// Public web server (IIS, with Confluence behind it).
    Web,
    /// User workstation.
    Workstation,
    /// IT administrators' workstation.
    AdminWorkstation,
}

/// A Windows host.
#[derive(Debug, Clone)]
pub(crate) struct Host {
    /// NetBIOS name (`PCO-WEB01`).
    pub name: String,
    /// IPv4 address.
    pub ip: String,
    /// Role.
    pub role: Role,
    /// Per-host prefix of Sysmon process GUIDs (the machine part).
    pub guid_prefix: String,
    /// Sysmon service pid, the `Execution.ProcessID` of its events.
    pub sysmon_pid: u32,
    /// lsass.exe pid.
    pub lsass_pid: u32,
}

impl Host {
    /// Fully-qualified name, as in the EVTX `Computer` field.
    pub(crate) fn fqdn(&self) -> String {
        format!("{}.{DOMAIN}", self.name)
    }
}

/// A domain user.
#[derive(Debug, Clone)]
pub(crate) struct User {
    /// sAMAccountName (`jane.doe`).
    pub sam: String,
    /// SID.
    pub sid: String,
    /// Index of the user's workstation in [`World::hosts`].
    pub ws: usize,
    /// IT administrator (has an `adm.` account too).
    pub admin: bool,
}

/// Service accounts with SPNs (Kerberoastable) and the service class they run.
pub(crate) const SERVICE_ACCOUNTS: &[(&str, &str)] = &[
    ("svc_sql", "MSSQLSvc/PS-SQL01.parl.example.nz:1433"),
    ("svc_backup", "BackupExec/PS-FS01.parl.example.nz"),
    ("svc_confluence", "HTTP/wiki.parl.example.nz"),
    ("svc_sharepoint", "HTTP/intranet.parl.example.nz"),
    ("svc_web", "HTTP/PCO-WEB01.parl.example.nz"),
    ("svc_print", "HOST/PS-PRN01.parl.example.nz"),
];

/// The network.
#[derive(Debug, Clone)]
pub(crate) struct World {
    /// Windows hosts; the first four are DC, file server, web server, admin workstation.
    pub hosts: Vec<Host>,
    /// Users.
    pub users: Vec<User>,
    /// Linux server name and address.
    pub linux: (String, String),
}

/// Index of the domain controller in `hosts`.
pub(crate) const DC: usize = 0;
/// Index of the file server.
pub(crate) const FS: usize = 1;
/// Index of the web server.
pub(crate) const WEB: usize = 2;
/// Index of the admin workstation.
pub(crate) const ADMIN_WS: usize = 3;

const FIRST: &[&str] = &[
    "aroha",
    "james",
    "mere",
    "liam",
    "olivia",
    "wiremu",
    "charlotte",
    "noah",
    "amelia",
    "oliver",
    "isla",
    "jack",
    "ava",
    "hemi",
    "mia",
    "william",
    "harper",
    "lucas",
    "ruby",
    "leo",
    "grace",
    "thomas",
    "ella",
    "george",
    "sophie",
    "tama",
    "lily",
    "hunter",
    "zoe",
    "manaia",
    "emily",
    "samuel",
    "anahera",
    "benjamin",
    "chloe",
    "nikau",
    "hannah",
    "max",
    "kaia",
    "daniel",
];
const LAST: &[&str] = &[
    "smith", "wilson", "williams", "brown", "taylor", "jones", "ngata", "walker", "thompson",
    "white", "anderson", "harris", "martin", "parata", "clarke", "robinson", "king", "campbell",
    "edwards", "tane", "young", "wright", "scott", "turner", "hall", "mitchell", "moana", "cooper",
];

impl World {
    /// Build the network for `users` users and `workstations` workstations.
    pub(crate) fn new(rng: &mut Rng, users: usize, workstations: usize) -> World {
        let mut hosts = Vec::new();
        let mut host = |rng: &mut Rng, name: &str, ip: String, role| {
            hosts.push(Host {
                name: name.to_string(),
                ip,
                role,
                guid_prefix: rng.hex(8),
                sysmon_pid: 2000 + rng.below(1500) as u32 * 4,
                lsass_pid: 600 + rng.below(100) as u32 * 4,
            });
        };
        host(rng, "PCO-DC01", "10.20.1.10".into(), Role::Dc);
        host(rng, "PS-FS01", "10.20.1.20".into(), Role::FileServer);
        host(rng, "PCO-WEB01", "10.20.5.10".into(), Role::Web);
        host(
            rng,
            "PCO-WS001",
            "10.20.10.11".into(),
            Role::AdminWorkstation,
        );
        for i in 2..=workstations.max(2) {
            host(
                rng,
                &format!("PCO-WS{i:03}"),
                format!("10.20.10.{}", 10 + i),
                Role::Workstation,
            );
        }
        let n_ws = hosts.len() - ADMIN_WS;
        let mut seen = std::collections::BTreeSet::new();
        let mut out = Vec::new();
        let mut i = 0usize;
        while out.len() < users.max(4) && i < 10_000 {
            i += 1;
            let sam = format!("{}.{}", rng.pick(FIRST), rng.pick(LAST));
            if !seen.insert(sam.clone()) {
                continue;
            }
            let k = out.len();
            out.push(User {
                sid: format!("{DOMAIN_SID}-{}", 1104 + k),
                sam,
                // The first three users are IT administrators on the admin workstation.
                ws: if k < 3 {
                    ADMIN_WS
                } else {
                    ADMIN_WS + 1 + (k - 3) % (n_ws - 1).max(1)
                },
                admin: k < 3,
            });
        }
        World {
            hosts,
            users: out,
            linux: ("pco-lnx01".into(), "10.20.5.30".into()),
        }
    }

    /// The admin (`adm.`) account name of an IT administrator.
    pub(crate) fn adm(user: &User) -> String {
        let (f, l) = user.sam.split_once('.').unwrap_or((&user.sam, ""));
        format!("adm.{}{l}", &f[..1])
    }

    /// The domain administrator account the attacker steals.
    pub(crate) fn stolen_admin(&self) -> String {
        World::adm(&self.users[0])
    }

    /// SID of a named account (deterministic from the name).
    pub(crate) fn sid_of(name: &str) -> String {
        let h = name
            .bytes()
            .fold(7u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
        format!("{DOMAIN_SID}-{}", 2000 + h % 5000)
    }
}
