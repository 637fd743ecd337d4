//! ATT&CK tactics in kill-chain order, and the technique → tactic lookup
//! used to order evidence when the caller has no knowledge base at hand.

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
    pub fn short_name(self) -> &'static str {
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
        Tactic::ALL.into_iter().find(|t| t.short_name() == norm)
    }
}

impl fmt::Display for Tactic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.short_name())
    }
}

/// Tactics of a technique id (`T1059.001` or `T1059`) from the committed
/// ATT&CK map (see `tools/gen_tactic_map.py`); empty when unknown.
/// Sub-techniques take their parent's tactics, which holds for every live
/// sub-technique in ATT&CK v18.1.
pub fn tactics_of(technique: &str) -> Vec<Tactic> {
    let id = technique.trim();
    let parent = id.split('.').next().unwrap_or(id).to_ascii_uppercase();
    let map = crate::tactic_map::TECHNIQUE_TACTICS;
    match map.binary_search_by(|(k, _)| (*k).cmp(parent.as_str())) {
        Ok(i) => {
            let mask = map[i].1;
            Tactic::ALL
                .into_iter()
                .enumerate()
                .filter(|(bit, _)| mask & (1 << bit) != 0)
                .map(|(_, t)| t)
                .collect()
        }
        Err(_) => Vec::new(),
    }
}

/// A technique → tactics lookup supplied by the caller (for example backed
/// by the `kahu-attack` knowledge base). Returning an empty list falls back
/// to [`tactics_of`].
pub type TacticLookup<'a> = &'a (dyn Fn(&str) -> Vec<Tactic> + Sync);

/// Resolve a technique's tactics with the caller's lookup first, then the
/// committed map.
pub(crate) fn resolve(technique: &str, lookup: Option<TacticLookup<'_>>) -> Vec<Tactic> {
    if let Some(f) = lookup {
        let t = f(technique);
        if !t.is_empty() {
            return t;
        }
    }
    tactics_of(technique)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kill_chain_order_is_declaration_order() {
        assert!(Tactic::Reconnaissance < Tactic::InitialAccess);
        assert!(Tactic::CredentialAccess < Tactic::LateralMovement);
        assert!(Tactic::Exfiltration < Tactic::Impact);
        let mut v = Tactic::ALL.to_vec();
        v.sort();
        assert_eq!(v, Tactic::ALL.to_vec());
    }

    #[test]
    fn parses_tags_and_labels() {
        assert_eq!(
            Tactic::parse("attack.credential_access"),
            Some(Tactic::CredentialAccess)
        );
        assert_eq!(
            Tactic::parse("Lateral Movement"),
            Some(Tactic::LateralMovement)
        );
        assert_eq!(
            Tactic::parse("command-and-control"),
            Some(Tactic::CommandAndControl)
        );
        assert_eq!(Tactic::parse("t1059"), None);
    }

    #[test]
    fn committed_map_matches_attack() {
        // Facts from ATT&CK v18.1: T1110 Brute Force is credential access only;
        // T1078 Valid Accounts spans four tactics; T1021.001 RDP is lateral movement.
        assert_eq!(tactics_of("T1110.001"), vec![Tactic::CredentialAccess]);
        assert_eq!(
            tactics_of("t1078"),
            vec![
                Tactic::InitialAccess,
                Tactic::Persistence,
                Tactic::PrivilegeEscalation,
                Tactic::DefenseEvasion
            ]
        );
        assert_eq!(tactics_of("T1021.001"), vec![Tactic::LateralMovement]);
        assert!(tactics_of("T9999").is_empty());
        assert!(tactics_of("").is_empty());
    }

    #[test]
    fn caller_lookup_wins_and_falls_back() {
        let f = |t: &str| {
            if t == "T1110" {
                vec![Tactic::Impact]
            } else {
                vec![]
            }
        };
        assert_eq!(resolve("T1110", Some(&f)), vec![Tactic::Impact]);
        assert_eq!(resolve("T1021", Some(&f)), vec![Tactic::LateralMovement]);
    }
}
