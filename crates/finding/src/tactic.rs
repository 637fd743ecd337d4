//! ATT&CK Enterprise tactics: the one table every crate uses (kill-chain
//! order for timelines and incidents, short names for tags and layers,
//! ATT&CK's names for matrices, labels for titles, ids for links).
//!
//! It holds the tactics of ATT&CK v18.1 and v19: v19 split Defense Evasion
//! (TA0005) into Stealth (which kept TA0005) and Defense Impairment
//! (TA0112). A run shows one release's matrix ([`Tactic::matrix`]); which
//! one is decided by `kahu_attack::AttackView`.

use serde::{Deserialize, Serialize};
use std::fmt;

/// An ATT&CK Enterprise tactic. The declaration order is the kill-chain
/// order used to sort incident evidence (`Ord` follows it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tactic {
    /// TA0043
    Reconnaissance,
    /// TA0042
    ResourceDevelopment,
    /// TA0001
    InitialAccess,
    /// TA0002
    Execution,
    /// TA0003
    Persistence,
    /// TA0004
    PrivilegeEscalation,
    /// TA0005 in ATT&CK up to v18.1; split in v19 into [`Tactic::Stealth`]
    /// and [`Tactic::DefenseImpairment`].
    DefenseEvasion,
    /// TA0005 from ATT&CK v19: concealment that leaves defences intact
    /// (masquerading, obfuscation, hiding artefacts). It kept Defense
    /// Evasion's id and takes its place in the kill chain.
    Stealth,
    /// TA0112 (new in ATT&CK v19): direct interference with defences
    /// (disabling tools, clearing logs, changing the firewall). Placed
    /// right after Stealth, where Defense Evasion's other half stood.
    DefenseImpairment,
    /// TA0006
    CredentialAccess,
    /// TA0007
    Discovery,
    /// TA0008
    LateralMovement,
    /// TA0009
    Collection,
    /// TA0011
    CommandAndControl,
    /// TA0010
    Exfiltration,
    /// TA0040
    Impact,
}

impl Tactic {
    /// Every tactic of ATT&CK v18.1 and v19 in kill-chain order (Defense
    /// Evasion, then its v19 successors Stealth and Defense Impairment).
    pub const ALL: [Tactic; 16] = [
        Tactic::Reconnaissance,
        Tactic::ResourceDevelopment,
        Tactic::InitialAccess,
        Tactic::Execution,
        Tactic::Persistence,
        Tactic::PrivilegeEscalation,
        Tactic::DefenseEvasion,
        Tactic::Stealth,
        Tactic::DefenseImpairment,
        Tactic::CredentialAccess,
        Tactic::Discovery,
        Tactic::LateralMovement,
        Tactic::Collection,
        Tactic::CommandAndControl,
        Tactic::Exfiltration,
        Tactic::Impact,
    ];

    /// The Enterprise matrix of one ATT&CK release, in kill-chain order:
    /// v18.1 (and earlier) has Defense Evasion, v19 has Stealth and Defense
    /// Impairment instead.
    pub fn matrix(v19: bool) -> Vec<Tactic> {
        Tactic::ALL
            .into_iter()
            .filter(|t| match t {
                Tactic::DefenseEvasion => !v19,
                Tactic::Stealth | Tactic::DefenseImpairment => v19,
                _ => true,
            })
            .collect()
    }

    /// Whether the tactic exists only from ATT&CK v19 on.
    pub const fn is_v19_only(self) -> bool {
        matches!(self, Tactic::Stealth | Tactic::DefenseImpairment)
    }

    /// ATT&CK's tactic id (`TA0006`). Defense Evasion and Stealth share
    /// TA0005 (Stealth kept the id in v19).
    pub const fn id(self) -> &'static str {
        match self {
            Tactic::Reconnaissance => "TA0043",
            Tactic::ResourceDevelopment => "TA0042",
            Tactic::InitialAccess => "TA0001",
            Tactic::Execution => "TA0002",
            Tactic::Persistence => "TA0003",
            Tactic::PrivilegeEscalation => "TA0004",
            Tactic::DefenseEvasion | Tactic::Stealth => "TA0005",
            Tactic::DefenseImpairment => "TA0112",
            Tactic::CredentialAccess => "TA0006",
            Tactic::Discovery => "TA0007",
            Tactic::LateralMovement => "TA0008",
            Tactic::Collection => "TA0009",
            Tactic::CommandAndControl => "TA0011",
            Tactic::Exfiltration => "TA0010",
            Tactic::Impact => "TA0040",
        }
    }

    /// ATT&CK's short name (`credential-access`), as used in Sigma tags.
    pub const fn short_name(self) -> &'static str {
        match self {
            Tactic::Reconnaissance => "reconnaissance",
            Tactic::ResourceDevelopment => "resource-development",
            Tactic::InitialAccess => "initial-access",
            Tactic::Execution => "execution",
            Tactic::Persistence => "persistence",
            Tactic::PrivilegeEscalation => "privilege-escalation",
            Tactic::DefenseEvasion => "defense-evasion",
            Tactic::Stealth => "stealth",
            Tactic::DefenseImpairment => "defense-impairment",
            Tactic::CredentialAccess => "credential-access",
            Tactic::Discovery => "discovery",
            Tactic::LateralMovement => "lateral-movement",
            Tactic::Collection => "collection",
            Tactic::CommandAndControl => "command-and-control",
            Tactic::Exfiltration => "exfiltration",
            Tactic::Impact => "impact",
        }
    }

    /// Human name (`Credential access`), for titles.
    pub fn label(self) -> &'static str {
        match self {
            Tactic::Reconnaissance => "Reconnaissance",
            Tactic::ResourceDevelopment => "Resource development",
            Tactic::InitialAccess => "Initial access",
            Tactic::Execution => "Execution",
            Tactic::Persistence => "Persistence",
            Tactic::PrivilegeEscalation => "Privilege escalation",
            Tactic::DefenseEvasion => "Defense evasion",
            Tactic::Stealth => "Stealth",
            Tactic::DefenseImpairment => "Defense impairment",
            Tactic::CredentialAccess => "Credential access",
            Tactic::Discovery => "Discovery",
            Tactic::LateralMovement => "Lateral movement",
            Tactic::Collection => "Collection",
            Tactic::CommandAndControl => "Command and control",
            Tactic::Exfiltration => "Exfiltration",
            Tactic::Impact => "Impact",
        }
    }

    /// Parse a short name, a Sigma tag (`attack.credential_access`) or a
    /// label; separators `-`, `_` and space are equivalent.
    pub fn parse(s: &str) -> Option<Tactic> {
        let s = s.trim();
        let s = s.strip_prefix("attack.").unwrap_or(s);
        let norm: String = s
            .chars()
            .map(|c| match c {
                '_' | ' ' => '-',
                c => c.to_ascii_lowercase(),
            })
            .collect();
        Tactic::ALL.into_iter().find(|t| {
            t.short_name() == norm
                || t.attack_name()
                    .eq_ignore_ascii_case(&norm.replace('-', " "))
        })
    }

    /// ATT&CK's own name (`Command and Control`), as matrices show it.
    pub const fn attack_name(self) -> &'static str {
        match self {
            Tactic::Reconnaissance => "Reconnaissance",
            Tactic::ResourceDevelopment => "Resource Development",
            Tactic::InitialAccess => "Initial Access",
            Tactic::Execution => "Execution",
            Tactic::Persistence => "Persistence",
            Tactic::PrivilegeEscalation => "Privilege Escalation",
            Tactic::DefenseEvasion => "Defense Evasion",
            Tactic::Stealth => "Stealth",
            Tactic::DefenseImpairment => "Defense Impairment",
            Tactic::CredentialAccess => "Credential Access",
            Tactic::Discovery => "Discovery",
            Tactic::LateralMovement => "Lateral Movement",
            Tactic::Collection => "Collection",
            Tactic::CommandAndControl => "Command and Control",
            Tactic::Exfiltration => "Exfiltration",
            Tactic::Impact => "Impact",
        }
    }
}

impl fmt::Display for Tactic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.short_name())
    }
}

/// Short names in kill-chain order (`reconnaissance` … `impact`), both
/// releases' (see [`Tactic::ALL`]).
pub const SHORT_NAMES: [&str; 16] = {
    let mut a = [""; 16];
    let mut i = 0;
    while i < 16 {
        a[i] = Tactic::ALL[i].short_name();
        i += 1;
    }
    a
};

/// (short name, ATT&CK name) in kill-chain order, both releases'.
pub const NAMES: [(&str, &str); 16] = {
    let mut a = [("", ""); 16];
    let mut i = 0;
    while i < 16 {
        a[i] = (Tactic::ALL[i].short_name(), Tactic::ALL[i].attack_name());
        i += 1;
    }
    a
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kill_chain_order_is_declaration_order() {
        assert!(Tactic::Reconnaissance < Tactic::InitialAccess);
        assert!(Tactic::CredentialAccess < Tactic::LateralMovement);
        let mut v = Tactic::ALL.to_vec();
        v.sort();
        assert_eq!(v, Tactic::ALL.to_vec());
    }

    #[test]
    fn parses_tags_labels_names_and_v19_tactics() {
        assert_eq!(
            Tactic::parse("attack.credential_access"),
            Some(Tactic::CredentialAccess)
        );
        assert_eq!(
            Tactic::parse("Lateral Movement"),
            Some(Tactic::LateralMovement)
        );
        assert_eq!(
            Tactic::parse("Command and Control"),
            Some(Tactic::CommandAndControl)
        );
        assert_eq!(Tactic::parse("attack.stealth"), Some(Tactic::Stealth));
        assert_eq!(
            Tactic::parse("attack.defense-impairment"),
            Some(Tactic::DefenseImpairment)
        );
        assert_eq!(
            Tactic::parse("attack.defense_evasion"),
            Some(Tactic::DefenseEvasion)
        );
        assert_eq!(Tactic::parse("t1059"), None);
        for t in Tactic::ALL {
            assert_eq!(Tactic::parse(t.short_name()), Some(t));
            assert_eq!(Tactic::parse(t.attack_name()), Some(t));
        }
    }

    #[test]
    fn each_release_has_its_own_matrix() {
        let v18 = Tactic::matrix(false);
        let v19 = Tactic::matrix(true);
        assert_eq!(v18.len(), 14);
        assert_eq!(v19.len(), 15);
        assert!(v18.contains(&Tactic::DefenseEvasion) && !v18.contains(&Tactic::Stealth));
        assert!(!v19.contains(&Tactic::DefenseEvasion));
        // Stealth and Defense Impairment stand where Defense Evasion stood.
        let pos = |m: &[Tactic], t| m.iter().position(|x| *x == t);
        assert_eq!(
            pos(&v18, Tactic::DefenseEvasion),
            pos(&v19, Tactic::Stealth)
        );
        assert_eq!(
            pos(&v19, Tactic::DefenseImpairment),
            pos(&v19, Tactic::CredentialAccess).map(|i| i - 1)
        );
        assert_eq!(Tactic::DefenseImpairment.id(), "TA0112");
        assert_eq!(Tactic::Stealth.id(), "TA0005");
    }
}
