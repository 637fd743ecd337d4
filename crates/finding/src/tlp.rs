//! Traffic Light Protocol levels of shared intelligence. Partners mark what
//! they share; kahu must not pass a TLP:AMBER indicator on in a TLP:CLEAR
//! bundle, so each indicator keeps the strictest marking its feed gave it.
//! The same type marks kahu's own products (the assessment, the report, the
//! STIX bundle), which is why it lives here and not in `kahu-intel`.

use serde::{Deserialize, Serialize};

/// A TLP 2.0 level (TLP 1.0 WHITE is read as CLEAR). Ordered from least to
/// most restrictive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Tlp {
    /// TLP:CLEAR (1.0: WHITE) — no limit on disclosure.
    Clear,
    /// TLP:GREEN — the recipient's community.
    Green,
    /// TLP:AMBER — the recipient's organisation and its clients.
    Amber,
    /// TLP:AMBER+STRICT — the recipient's organisation only.
    AmberStrict,
    /// TLP:RED — the named recipients only.
    Red,
}

/// The STIX extension definition under which TLP 2.0 marking definitions
/// carry their level (`"tlp_2_0": "amber+strict"`), published by OASIS in
/// cti-stix-common-objects (extension-definition-specifications/tlp-2.0).
pub const TLP2_EXTENSION_ID: &str = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d";

/// STIX 2.1 §7.2.1.4 TLP 1.0 marking definitions, and the official TLP 2.0
/// marking definitions (OASIS cti-stix-common-objects, also used by OpenCTI
/// and MISP exports).
const MARKING_IDS: [(&str, Tlp); 9] = [
    (
        "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9",
        Tlp::Clear,
    ),
    (
        "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
        Tlp::Green,
    ),
    (
        "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",
        Tlp::Amber,
    ),
    (
        "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed",
        Tlp::Red,
    ),
    (
        "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
        Tlp::Clear,
    ),
    (
        "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
        Tlp::Green,
    ),
    (
        "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
        Tlp::Amber,
    ),
    (
        "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
        Tlp::AmberStrict,
    ),
    (
        "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
        Tlp::Red,
    ),
];

impl Tlp {
    /// `TLP:AMBER`, `tlp:amber+strict`, `amber`, `white`, `TLP: RED` …
    pub fn parse(s: &str) -> Option<Tlp> {
        let s = s.trim().to_ascii_lowercase();
        let s = s.strip_prefix("tlp").map_or(s.as_str(), |r| {
            r.trim_start_matches([':', ' ', '-', '_']).trim()
        });
        Some(match s {
            "clear" | "white" => Tlp::Clear,
            "green" => Tlp::Green,
            "amber" => Tlp::Amber,
            "amber+strict" | "amber strict" | "amber-strict" => Tlp::AmberStrict,
            "red" => Tlp::Red,
            _ => return None,
        })
    }

    /// The level of a well-known STIX marking-definition id.
    pub fn from_marking_id(id: &str) -> Option<Tlp> {
        MARKING_IDS
            .iter()
            .find(|(m, _)| m.eq_ignore_ascii_case(id.trim()))
            .map(|(_, t)| *t)
    }

    /// The level a marking definition's `extensions` give through the TLP
    /// 2.0 extension, whatever the definition's own id (a partner may mint
    /// its own id for a TLP 2.0 marking).
    pub fn from_stix_extensions(extensions: &serde_json::Value) -> Option<Tlp> {
        let ext = extensions.get(TLP2_EXTENSION_ID)?;
        Tlp::parse(ext.get("tlp_2_0")?.as_str()?)
    }

    /// The official TLP 2.0 marking-definition id of this level.
    pub fn tlp2_marking_id(self) -> &'static str {
        let (id, _) = MARKING_IDS[4..]
            .iter()
            .find(|(_, t)| *t == self)
            .expect("every level has a TLP 2.0 marking definition");
        id
    }

    /// The level's name in the TLP 2.0 extension: `amber+strict`.
    pub fn tlp2_name(self) -> &'static str {
        match self {
            Tlp::Clear => "clear",
            Tlp::Green => "green",
            Tlp::Amber => "amber",
            Tlp::AmberStrict => "amber+strict",
            Tlp::Red => "red",
        }
    }

    /// `TLP:AMBER+STRICT`.
    pub fn label(self) -> &'static str {
        match self {
            Tlp::Clear => "TLP:CLEAR",
            Tlp::Green => "TLP:GREEN",
            Tlp::Amber => "TLP:AMBER",
            Tlp::AmberStrict => "TLP:AMBER+STRICT",
            Tlp::Red => "TLP:RED",
        }
    }

    /// May information marked `self` go out in a product marked `product`?
    pub fn may_share_in(self, product: Tlp) -> bool {
        self <= product
    }
}

impl std::str::FromStr for Tlp {
    type Err = UnknownTlp;
    /// [`Tlp::parse`], with an error that lists the levels.
    fn from_str(s: &str) -> Result<Tlp, UnknownTlp> {
        Tlp::parse(s).ok_or_else(|| UnknownTlp(s.to_string()))
    }
}

/// Text that is no TLP level.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a TLP level (TLP:CLEAR, TLP:GREEN, TLP:AMBER, TLP:AMBER+STRICT, TLP:RED)")]
pub struct UnknownTlp(pub String);

/// Serde helpers for a `Tlp` written as its label (`"TLP:AMBER+STRICT"`),
/// the form of kahu's JSON outputs (`#[serde(with = "kahu_finding::tlp::as_label")]`).
/// The derived form (`"AmberStrict"`) stays for what already uses it.
pub mod as_label {
    use super::Tlp;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Write the label.
    pub fn serialize<S: Serializer>(tlp: &Tlp, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(tlp.label())
    }

    /// Read any spelling [`Tlp::parse`] accepts.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Tlp, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl std::fmt::Display for Tlp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_labels_tags_and_marking_ids() {
        assert_eq!(Tlp::parse("TLP:AMBER"), Some(Tlp::Amber));
        assert_eq!(Tlp::parse("tlp:amber+strict"), Some(Tlp::AmberStrict));
        assert_eq!(Tlp::parse("tlp:white"), Some(Tlp::Clear));
        assert_eq!(Tlp::parse("TLP: RED"), Some(Tlp::Red));
        assert_eq!(Tlp::parse("amber-ish"), None);
        assert_eq!(
            Tlp::from_marking_id("marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"),
            Some(Tlp::Amber)
        );
        assert_eq!(
            Tlp::AmberStrict.tlp2_marking_id(),
            "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003"
        );
        assert_eq!(
            Tlp::Red.tlp2_marking_id(),
            "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"
        );
        let ext = serde_json::json!({TLP2_EXTENSION_ID: {"extension_type": "property-extension", "tlp_2_0": "red"}});
        assert_eq!(Tlp::from_stix_extensions(&ext), Some(Tlp::Red));
        assert!(Tlp::Green.may_share_in(Tlp::Amber));
        assert!(!Tlp::Amber.may_share_in(Tlp::Clear));
    }

    #[test]
    fn label_serde_round_trips_and_refuses_unknown_levels() {
        #[derive(Serialize, Deserialize, PartialEq, Debug)]
        struct Marked {
            #[serde(with = "as_label")]
            tlp: Tlp,
        }
        let text = serde_json::to_string(&Marked {
            tlp: Tlp::AmberStrict,
        })
        .unwrap();
        assert_eq!(text, r#"{"tlp":"TLP:AMBER+STRICT"}"#);
        assert_eq!(
            serde_json::from_str::<Marked>(r#"{"tlp":"tlp:white"}"#).unwrap(),
            Marked { tlp: Tlp::Clear }
        );
        let err = serde_json::from_str::<Marked>(r#"{"tlp":"TLP:PURPLE"}"#).unwrap_err();
        assert!(err.to_string().contains("is not a TLP level"), "{err}");
        assert_eq!("TLP:RED".parse::<Tlp>(), Ok(Tlp::Red));
    }
}
