//! What an event says about who made the file it hashed: Sysmon's image
//! and driver loads (6, 7) record the signature, process creations (1)
//! the version resource. A path in `System32` is not proof that a file is
//! Windows' own — intruders plant unsigned DLLs and vulnerable drivers
//! there — and a file named `test.exe` in a user folder may be a genuine
//! Microsoft program used to side-load a DLL. Containment reads both
//! before it block-lists a hash or refuses to.

/// Who signed the hashed file, as the event records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signer {
    /// Signed, valid, by Microsoft (`Microsoft Windows`, `Microsoft
    /// Corporation`, `Microsoft Windows Publisher`…).
    Microsoft(String),
    /// Signed and valid, by someone else (a vendor's driver, a tool).
    Other(String),
    /// The event says unsigned, or the signature is not valid.
    Unsigned,
    /// The event says nothing about a signature.
    Unknown,
}

/// The signer of the file an event (or a finding's fields) hashed, read
/// through `get` (a field lookup).
pub fn signer<'a>(get: impl Fn(&str) -> Option<&'a str>) -> Signer {
    let signed = get("Signed").map(|s| s.trim().to_ascii_lowercase());
    let status = get("SignatureStatus").map(str::trim);
    let signature = get("Signature")
        .map(str::trim)
        .filter(|s| !s.is_empty() && *s != "-");
    match signed.as_deref() {
        Some("false") => return Signer::Unsigned,
        Some("true") => {}
        _ => return Signer::Unknown,
    }
    if status.is_some_and(|s| !s.eq_ignore_ascii_case("valid")) {
        return Signer::Unsigned;
    }
    match signature {
        Some(s) if s.to_ascii_lowercase().starts_with("microsoft ") => {
            Signer::Microsoft(s.to_string())
        }
        Some(s) => Signer::Other(s.to_string()),
        None => Signer::Unknown,
    }
}

/// The Microsoft program a file's version resource says it is: its
/// `OriginalFileName` (e.g. `WinWord.exe`) when the `Company` is
/// Microsoft, or just "a Microsoft program" where Sysmon (before 10)
/// recorded no original name. The resource is the file's own claim: it
/// can be forged, so it never makes a file trusted, only "check the
/// signature before blocking".
pub fn claims_microsoft<'a>(get: impl Fn(&str) -> Option<&'a str>) -> Option<String> {
    let company = get("Company")?.trim();
    if !company.to_ascii_lowercase().starts_with("microsoft") {
        return None;
    }
    let name = get("OriginalFileName")
        .map(str::trim)
        .filter(|n| !n.is_empty() && *n != "-" && *n != "?");
    Some(name.map_or_else(
        || "a Microsoft program".to_string(),
        |n| format!("Microsoft's {n}"),
    ))
}

#[cfg(test)]
mod tests {
    use super::{Signer, claims_microsoft, signer};

    fn of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<&'static str> {
        move |k| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| *v)
    }

    #[test]
    fn signatures_read_as_sysmon_writes_them() {
        assert_eq!(
            signer(of(&[
                ("Signed", "true"),
                ("Signature", "Microsoft Windows"),
                ("SignatureStatus", "Valid")
            ])),
            Signer::Microsoft("Microsoft Windows".into())
        );
        assert_eq!(
            signer(of(&[
                ("Signed", "true"),
                ("Signature", "Oracle Corporation"),
                ("SignatureStatus", "Valid")
            ])),
            Signer::Other("Oracle Corporation".into())
        );
        assert_eq!(
            signer(of(&[
                ("Signed", "false"),
                ("Signature", "-"),
                ("SignatureStatus", "Unavailable")
            ])),
            Signer::Unsigned
        );
        // Signed, but the signature does not verify: not the signer's.
        assert_eq!(
            signer(of(&[
                ("Signed", "true"),
                ("Signature", "Microsoft Windows"),
                ("SignatureStatus", "Expired")
            ])),
            Signer::Unsigned
        );
        assert_eq!(signer(of(&[("Image", "C:\\x.exe")])), Signer::Unknown);
        // "Microsoftt Corp" is not Microsoft.
        assert_eq!(
            signer(of(&[("Signed", "true"), ("Signature", "Microsoftt Corp")])),
            Signer::Other("Microsoftt Corp".into())
        );
    }

    #[test]
    fn a_microsoft_claim_needs_the_company() {
        assert_eq!(
            claims_microsoft(of(&[
                ("Company", "Microsoft Corporation"),
                ("OriginalFileName", "WinWord.exe")
            ])),
            Some("Microsoft's WinWord.exe".into())
        );
        assert_eq!(
            claims_microsoft(of(&[
                ("Company", "Microsoft Corporation"),
                ("OriginalFileName", "?")
            ])),
            Some("a Microsoft program".into())
        );
        assert_eq!(
            claims_microsoft(of(&[
                ("Company", "?"),
                ("OriginalFileName", "NTWDBLIB.dll")
            ])),
            None
        );
    }
}
