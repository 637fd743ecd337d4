//! ATT&CK tactics in kill-chain order, and the technique → tactic lookup
//! used to order evidence when the caller has no knowledge base at hand.

pub use kahu_finding::Tactic;

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
