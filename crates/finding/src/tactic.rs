//! ATT&CK Enterprise tactics: the one table every crate uses (kill-chain
//! order for timelines and incidents, short names for tags and layers,
//! ATT&CK's names for matrices, labels for titles).

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
    /// TA0005
    DefenseEvasion,
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
    /// Every tactic in kill-chain order.
    pub const ALL: [Tactic; 14] = [
        Tactic::Reconnaissance,
        Tactic::ResourceDevelopment,
        Tactic::InitialAccess,
        Tactic::Execution,
        Tactic::Persistence,
        Tactic::PrivilegeEscalation,
        Tactic::DefenseEvasion,
        Tactic::CredentialAccess,
        Tactic::Discovery,
        Tactic::LateralMovement,
        Tactic::Collection,
        Tactic::CommandAndControl,
        Tactic::Exfiltration,
        Tactic::Impact,
    ];

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
        match norm.as_str() {
            // ATT&CK v19 split Defense Evasion into Stealth and Defense
            // Impairment (SigmaHQ tags use the v19 names); kahu reports in
            // v18.1 tactics, where both are Defense Evasion.
            "stealth" | "defense-impairment" => Some(Tactic::DefenseEvasion),
            _ => Tactic::ALL.into_iter().find(|t| {
                t.short_name() == norm
                    || t.attack_name()
                        .eq_ignore_ascii_case(&norm.replace('-', " "))
            }),
        }
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

/// Short names in kill-chain order (`reconnaissance` … `impact`).
pub const SHORT_NAMES: [&str; 14] = {
    let mut a = [""; 14];
    let mut i = 0;
    while i < 14 {
        a[i] = Tactic::ALL[i].short_name();
        i += 1;
    }
    a
};

/// (short name, ATT&CK name) in kill-chain order.
pub const NAMES: [(&str, &str); 14] = {
    let mut a = [("", ""); 14];
    let mut i = 0;
    while i < 14 {
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
        assert_eq!(
            Tactic::parse("attack.stealth"),
            Some(Tactic::DefenseEvasion)
        );
        assert_eq!(
            Tactic::parse("attack.defense-impairment"),
            Some(Tactic::DefenseEvasion)
        );
        assert_eq!(Tactic::parse("t1059"), None);
        for t in Tactic::ALL {
            assert_eq!(Tactic::parse(t.short_name()), Some(t));
            assert_eq!(Tactic::parse(t.attack_name()), Some(t));
        }
    }
}
