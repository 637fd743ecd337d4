//! Checks on analyst-supplied enrichment (`--region`, `--sector`, `--infra`)
//! before it reaches the ranking. A misspelt value used to be kept as given
//! and then matched nothing, so the analyst believed victimology had been
//! weighed when it had not; each value is now accepted, or rejected with the
//! reason, and the CLI prints the rejections.

use crate::profile::{ActorProfile, country_code};

/// ISO 3166-1 alpha-2 codes (officially assigned, 2024).
const ISO_3166_ALPHA2: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI \
BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ \
DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU \
GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA \
LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA \
NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB \
SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW \
TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

/// True for an officially assigned ISO 3166-1 alpha-2 code (upper-case).
pub fn is_country_code(code: &str) -> bool {
    code.len() == 2 && ISO_3166_ALPHA2.split(' ').any(|c| c == code)
}

/// A `--region` value as an ISO code, or why it was rejected.
pub fn check_region(value: &str) -> Result<String, EnrichmentError> {
    let code = country_code(value);
    if is_country_code(&code) {
        Ok(code)
    } else {
        Err(EnrichmentError::UnknownRegion {
            value: value.to_string(),
        })
    }
}

/// How many known sectors a rejection lists.
const SECTORS_SHOWN: usize = 25;

/// A `--sector` value, or why it cannot count: a sector no loaded profile
/// lists can never change a ranking.
pub fn check_sector(value: &str, profiles: &[ActorProfile]) -> Result<String, EnrichmentError> {
    let v = value.trim().to_lowercase();
    let known: Vec<String> = known(profiles, |p| {
        p.sectors.iter().map(|s| s.value.to_lowercase()).collect()
    });
    if known.contains(&v) {
        Ok(v)
    } else {
        // Generated facts bring about a hundred sector names: show those
        // that share a word with the value first, then the rest, cut short.
        let words: Vec<&str> = v.split_whitespace().collect();
        let (mut near, rest): (Vec<String>, Vec<String>) = known
            .into_iter()
            .partition(|k| words.iter().any(|w| w.len() > 2 && k.contains(w)));
        near.extend(rest);
        let more = near.len().saturating_sub(SECTORS_SHOWN);
        near.truncate(SECTORS_SHOWN);
        Err(EnrichmentError::UnprofiledSector {
            value: value.to_string(),
            known: near,
            more,
        })
    }
}

/// An `--infra` kind, or why it cannot count.
pub fn check_infrastructure_kind(
    value: &str,
    profiles: &[ActorProfile],
) -> Result<String, EnrichmentError> {
    let v = value.trim().to_lowercase();
    let known: Vec<String> = known(profiles, |p| {
        p.infrastructure
            .iter()
            .filter(|i| i.value.is_none())
            .map(|i| i.kind.to_lowercase())
            .collect()
    });
    if known.contains(&v) {
        Ok(v)
    } else {
        Err(EnrichmentError::UnprofiledInfrastructureKind {
            value: value.to_string(),
            known,
        })
    }
}

/// Analyst enrichment that is refused (`--region`) or cannot weigh
/// (`--sector`, `--infra` kinds no loaded profile lists).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnrichmentError {
    /// Not a country.
    #[error(
        "--region {value:?} is not an ISO 3166 country code or a country name kahu knows (use the two-letter code, e.g. NZ)"
    )]
    UnknownRegion {
        /// The value given.
        value: String,
    },
    /// A sector no loaded profile lists.
    #[error(
        "--sector {value:?} is listed by no loaded actor profile, so it cannot change the ranking (known: {}{})",
        known.join(", "),
        if *more > 0 { format!(" and {more} more") } else { String::new() }
    )]
    UnprofiledSector {
        /// The value given.
        value: String,
        /// The sectors the loaded profiles list, nearest to the value first, cut short.
        known: Vec<String>,
        /// How many more sectors the profiles list than `known` shows.
        more: usize,
    },
    /// An infrastructure kind no loaded profile lists.
    #[error(
        "--infra {value:?} is a kind no loaded actor profile lists, so it cannot change the ranking (known: {})",
        known.join(", ")
    )]
    UnprofiledInfrastructureKind {
        /// The value given.
        value: String,
        /// The kinds the loaded profiles list.
        known: Vec<String>,
    },
}

fn known(profiles: &[ActorProfile], f: impl Fn(&ActorProfile) -> Vec<String>) -> Vec<String> {
    let mut v: Vec<String> = profiles.iter().flat_map(f).collect();
    v.sort();
    v.dedup();
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::embedded_profiles;

    #[test]
    fn regions_are_iso_codes_or_known_names() {
        assert_eq!(check_region("NZ").as_deref(), Ok("NZ"));
        assert_eq!(check_region("new zealand").as_deref(), Ok("NZ"));
        assert!(check_region("Atlantis").is_err());
        assert!(check_region("XX").is_err());
        assert_eq!(ISO_3166_ALPHA2.split(' ').count(), 249);
    }

    #[test]
    fn sectors_and_kinds_must_be_listed_by_a_profile() {
        let p = embedded_profiles();
        assert_eq!(check_sector("Government", &p).as_deref(), Ok("government"));
        let e = check_sector("underwater basket weaving", &p).unwrap_err();
        assert!(
            matches!(&e, EnrichmentError::UnprofiledSector { known, .. } if known.iter().any(|k| k == "government")),
            "{e:?}"
        );
        assert!(e.to_string().contains("(known: "), "{e}");
        assert!(check_infrastructure_kind("soho-router", &p).is_ok());
        assert!(check_infrastructure_kind("zeppelin", &p).is_err());
    }
}
