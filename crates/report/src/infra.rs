//! The analyst's note on attacker infrastructure (`kahu assess --infra`).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// What the analyst established about attacker infrastructure: its kind
/// (`soho-router`, `vps`), optionally for one address. Written as `KIND` or
/// `IP=KIND` (`203.0.113.7=soho-router`), in `assessment.json` as on the
/// command line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct InfraNote {
    /// The address the note is about, if any.
    pub ip: Option<IpAddr>,
    /// The kind as given (trimmed; compared case-insensitively).
    pub kind: String,
}

/// Why an `--infra` value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InfraNoteError {
    /// Nothing (or nothing after `=`) names a kind.
    #[error("{0:?}: no infrastructure kind (expected KIND or IP=KIND)")]
    NoKind(String),
    /// The part before `=` is no IP address.
    #[error("{0:?}: {1:?} is not an IP address (expected KIND or IP=KIND)")]
    BadAddress(String, String),
}

impl FromStr for InfraNote {
    type Err = InfraNoteError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (ip, kind) = match text.split_once('=') {
            Some((ip, kind)) => {
                let addr = ip
                    .trim()
                    .parse()
                    .map_err(|_| InfraNoteError::BadAddress(text.into(), ip.trim().into()))?;
                (Some(addr), kind)
            }
            None => (None, text),
        };
        let kind = kind.trim();
        if kind.is_empty() {
            return Err(InfraNoteError::NoKind(text.into()));
        }
        Ok(InfraNote {
            ip,
            kind: kind.to_string(),
        })
    }
}

impl TryFrom<String> for InfraNote {
    type Error = InfraNoteError;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

impl From<InfraNote> for String {
    fn from(note: InfraNote) -> String {
        note.to_string()
    }
}

impl fmt::Display for InfraNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.ip {
            Some(ip) => write!(f, "{ip}={}", self.kind),
            None => f.write_str(&self.kind),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_and_ip_kind_parse_and_print_as_given() {
        let note: InfraNote = " 203.0.113.7 = soho-router ".parse().unwrap();
        assert_eq!(note.ip, Some("203.0.113.7".parse().unwrap()));
        assert_eq!(note.kind, "soho-router");
        assert_eq!(note.to_string(), "203.0.113.7=soho-router");
        let bare: InfraNote = "VPS".parse().unwrap();
        assert_eq!((bare.ip, bare.kind.as_str()), (None, "VPS"));
        assert_eq!(
            serde_json::to_string(&vec![note.clone(), bare]).unwrap(),
            r#"["203.0.113.7=soho-router","VPS"]"#
        );
        let back: InfraNote = serde_json::from_str(r#""203.0.113.7=soho-router""#).unwrap();
        assert_eq!(back, note);
    }

    #[test]
    fn a_bad_address_or_an_empty_kind_is_refused() {
        assert!(matches!(
            "203.0.113=router".parse::<InfraNote>(),
            Err(InfraNoteError::BadAddress(_, a)) if a == "203.0.113"
        ));
        assert!(matches!(
            "203.0.113.7= ".parse::<InfraNote>(),
            Err(InfraNoteError::NoKind(_))
        ));
        assert!("".parse::<InfraNote>().is_err());
        assert!(serde_json::from_str::<InfraNote>(r#""x=router""#).is_err());
    }
}
