//! Sigma string values: wildcards, escapes and the transformation
//! modifiers (encodings, windash) that turn one written value into the
//! byte patterns actually searched for.

use base64::Engine as _;

/// One piece of a Sigma string value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// Literal bytes.
    Lit(Vec<u8>),
    /// `*`: any run of characters.
    Star,
    /// `?`: exactly one character.
    One,
}

/// A value after wildcard parsing: a sequence of pieces.
pub type Pattern = Vec<Piece>;

fn push_lit(p: &mut Pattern, b: &[u8]) {
    if let Some(Piece::Lit(l)) = p.last_mut() {
        l.extend_from_slice(b);
    } else {
        p.push(Piece::Lit(b.to_vec()));
    }
}

/// Parse wildcards and escapes (rules specification, "String Wildcard" and
/// "Escape Character"): `*` and `?` are wildcards; `\*`, `\?` and `\\` are
/// the plain characters; a backslash before anything else is itself.
pub fn parse_wildcards(s: &str) -> Pattern {
    let b = s.as_bytes();
    let mut out = Pattern::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' if i + 1 < b.len() && matches!(b[i + 1], b'*' | b'?' | b'\\') => {
                push_lit(&mut out, &b[i + 1..i + 2]);
                i += 2;
            }
            b'*' => {
                if out.last() != Some(&Piece::Star) {
                    out.push(Piece::Star);
                }
                i += 1;
            }
            b'?' => {
                out.push(Piece::One);
                i += 1;
            }
            c => {
                push_lit(&mut out, &[c]);
                i += 1;
            }
        }
    }
    out
}

/// A pattern with no wildcards as plain bytes.
pub fn literal(p: &Pattern) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    for piece in p {
        match piece {
            Piece::Lit(l) => out.extend_from_slice(l),
            _ => return None,
        }
    }
    Some(out)
}

/// `utf16le`: each character as UTF-16 little-endian code units.
pub fn utf16le(b: &[u8]) -> Vec<u8> {
    String::from_utf8_lossy(b)
        .encode_utf16()
        .flat_map(|u| u.to_le_bytes())
        .collect()
}

/// `utf16be`.
pub fn utf16be(b: &[u8]) -> Vec<u8> {
    String::from_utf8_lossy(b)
        .encode_utf16()
        .flat_map(|u| u.to_be_bytes())
        .collect()
}

/// `utf16`: a little-endian byte order mark, then UTF-16LE (modifiers appendix:
/// `cmd` > `FF FE 63 00 6d 00 64 00`).
pub fn utf16_bom(b: &[u8]) -> Vec<u8> {
    let mut out = vec![0xFF, 0xFE];
    out.extend(utf16le(b));
    out
}

/// `base64`.
pub fn base64(b: &[u8]) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .encode(b)
        .into_bytes()
}

/// `base64offset`: the three encodings of `b` shifted by 0, 1 and 2 bytes,
/// trimmed to the characters that do not depend on the surrounding data
/// (the same offsets pySigma uses).
pub fn base64_offsets(b: &[u8]) -> Vec<Vec<u8>> {
    const START: [usize; 3] = [0, 2, 3];
    const END_TRIM: [usize; 3] = [0, 3, 2];
    (0..3)
        .map(|i| {
            let mut shifted = vec![b' '; i];
            shifted.extend_from_slice(b);
            let enc = base64(&shifted);
            let end = enc.len().saturating_sub(END_TRIM[(b.len() + i) % 3]);
            enc.get(START[i]..end).unwrap_or_default().to_vec()
        })
        .collect()
}

/// The characters `windash` substitutes (modifiers appendix).
pub const DASHES: [&str; 5] = ["-", "/", "\u{2013}", "\u{2014}", "\u{2015}"];

/// Most dash positions expanded by `windash` in one value (5^n variants).
pub const MAX_WINDASH: usize = 4;

fn is_word(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// `windash`: every combination of the dash characters at each position
/// where a `-` or `/` starts a command-line flag (a dash not preceded by a
/// word character and followed by one, as pySigma's `\B[-/]\b`).
pub fn windash(p: &Pattern) -> Result<Vec<Pattern>, String> {
    // Locate candidate positions as (piece index, byte offset).
    let mut spots = Vec::new();
    for (pi, piece) in p.iter().enumerate() {
        if let Piece::Lit(l) = piece {
            for (i, &c) in l.iter().enumerate() {
                if c != b'-' && c != b'/' {
                    continue;
                }
                let before_ok = i == 0 || !is_word(l[i - 1]);
                let after_ok = l.get(i + 1).is_some_and(|&n| is_word(n));
                if before_ok && after_ok {
                    spots.push((pi, i));
                }
            }
        }
    }
    if spots.len() > MAX_WINDASH {
        return Err(format!(
            "windash: {} flag positions would expand to more than {} variants",
            spots.len(),
            5usize.pow(MAX_WINDASH as u32)
        ));
    }
    let combos = 5usize.pow(spots.len() as u32);
    let mut out = Vec::with_capacity(combos);
    for mut k in 0..combos {
        let mut choice = vec![0usize; spots.len()];
        for c in choice.iter_mut() {
            *c = k % 5;
            k /= 5;
        }
        let mut variant = Pattern::new();
        for (pi, piece) in p.iter().enumerate() {
            match piece {
                Piece::Lit(l) => {
                    let mut buf = Vec::with_capacity(l.len() + 4);
                    for (i, &c) in l.iter().enumerate() {
                        if let Some(s) = spots.iter().position(|&(a, b)| a == pi && b == i) {
                            buf.extend_from_slice(DASHES[choice[s]].as_bytes());
                        } else {
                            buf.push(c);
                        }
                    }
                    push_lit(&mut variant, &buf);
                }
                other => variant.push(other.clone()),
            }
        }
        out.push(variant);
    }
    Ok(out)
}

/// Lower-case bytes the way haystacks are lower-cased: Unicode-aware for
/// valid UTF-8, ASCII-only otherwise (encoded values such as UTF-16).
pub fn lower_bytes(b: &[u8]) -> Vec<u8> {
    match std::str::from_utf8(b) {
        Ok(s) => s.to_lowercase().into_bytes(),
        Err(_) => b.to_ascii_lowercase(),
    }
}

/// Lower-case text into `out` (cleared first), reusing its capacity.
pub fn lower_into(s: &str, out: &mut String) {
    out.clear();
    if s.is_ascii() {
        out.push_str(s);
        // SAFETY-free path: ASCII lower-casing keeps UTF-8 validity.
        out.make_ascii_lowercase();
    } else {
        for c in s.chars() {
            out.extend(c.to_lowercase());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(s: &str) -> Piece {
        Piece::Lit(s.as_bytes().to_vec())
    }

    // Rules specification, "Escape Character".
    #[test]
    fn escapes_follow_the_spec_table() {
        assert_eq!(parse_wildcards(r"a\*b"), vec![lit("a*b")]);
        assert_eq!(parse_wildcards(r"a\?b"), vec![lit("a?b")]);
        // `\\*`: a backslash followed by a wildcard.
        assert_eq!(parse_wildcards(r"C:\\*"), vec![lit(r"C:\"), Piece::Star]);
        // `\\\*`: backslash and star both plain.
        assert_eq!(parse_wildcards(r"a\\\*"), vec![lit(r"a\*")]);
        // Plain single backslash not before a wildcard is itself.
        assert_eq!(parse_wildcards(r"C:\Windows\x"), vec![lit(r"C:\Windows\x")]);
        // `\\\\` is a double backslash.
        assert_eq!(parse_wildcards(r"\\\\srv"), vec![lit(r"\\srv")]);
        assert_eq!(
            parse_wildcards("a?*"),
            vec![lit("a"), Piece::One, Piece::Star]
        );
    }

    // Modifiers appendix: `cmd` > `63 00 6d 00 64 00`, utf16be `00 63 00 6d 00 64`, utf16 `FF FE 63 00 …`.
    #[test]
    fn utf16_variants() {
        assert_eq!(utf16le(b"cmd"), vec![0x63, 0, 0x6d, 0, 0x64, 0]);
        assert_eq!(utf16be(b"cmd"), vec![0, 0x63, 0, 0x6d, 0, 0x64]);
        assert_eq!(
            utf16_bom(b"cmd"),
            vec![0xFF, 0xFE, 0x63, 0, 0x6d, 0, 0x64, 0]
        );
    }

    #[test]
    fn base64offset_yields_three_shift_invariant_strings() {
        // Expected values computed independently:
        // b64("http://") = aHR0cDovLw==, b64(" http://") = IGh0dHA6Ly8=, b64("  http://") = ICBodHRwOi8v
        let v = base64_offsets(b"http://");
        assert_eq!(
            v,
            vec![
                b"aHR0cDovL".to_vec(),
                b"h0dHA6Ly".to_vec(),
                b"odHRwOi8v".to_vec()
            ]
        );
        // Each variant is found when the value sits at that offset in a longer encoded text.
        for prefix in ["", "x", "xy"] {
            let enc = base64(format!("{prefix}http://evil").as_bytes());
            assert!(
                v.iter().any(|n| memchr::memmem::find(&enc, n).is_some()),
                "offset {} not found",
                prefix.len()
            );
        }
    }

    #[test]
    fn windash_expands_flag_positions_only() {
        let v = windash(&parse_wildcards(" -enc ")).unwrap();
        let texts: Vec<_> = v
            .iter()
            .map(|p| String::from_utf8(literal(p).unwrap()).unwrap())
            .collect();
        assert_eq!(
            texts,
            vec![
                " -enc ",
                " /enc ",
                " \u{2013}enc ",
                " \u{2014}enc ",
                " \u{2015}enc "
            ]
        );
        // A hyphen inside a word is not a flag.
        assert_eq!(windash(&parse_wildcards("well-known")).unwrap().len(), 1);
        // Two flags: 25 combinations.
        assert_eq!(windash(&parse_wildcards("-a -b")).unwrap().len(), 25);
        assert!(windash(&parse_wildcards("-a -b -c -d -e")).is_err());
    }
}
