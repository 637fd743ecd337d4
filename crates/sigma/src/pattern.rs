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

/// A value with more flag positions than `windash` expands
/// ([`MAX_WINDASH`]): the rule is refused rather than compiled into
/// 5^n patterns.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "windash: {positions} flag positions would expand to more than {} variants",
    5usize.pow(MAX_WINDASH as u32)
)]
pub struct WindashError {
    /// Flag positions found in the value.
    pub positions: usize,
}

/// `windash`: every combination of the dash characters at each position
/// where a `-` or `/` starts a command-line flag (a dash not preceded by a
/// word character and followed by one, as pySigma's `\B[-/]\b`).
pub fn windash(p: &Pattern) -> Result<Vec<Pattern>, WindashError> {
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
        return Err(WindashError {
            positions: spots.len(),
        });
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

/// [`lower_into`] as bytes (the same output): ASCII text is copied and
/// lower-cased eight bytes at a time, the rest from the first non-ASCII
/// byte on character by character.
pub fn lower_bytes_into(s: &str, out: &mut Vec<u8>) {
    const HI: u64 = 0x8080_8080_8080_8080;
    out.clear();
    out.extend_from_slice(s.as_bytes());
    let mut done = 0;
    for chunk in out.chunks_exact_mut(8) {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        let w = u64::from_le_bytes(w);
        if w & HI != 0 {
            break;
        }
        // High bit of each byte: >= b'A' and not >= b'Z' + 1 (no carries:
        // every byte is below 0x80).
        let upper =
            w.wrapping_add(0x3f3f_3f3f_3f3f_3f3f) & !w.wrapping_add(0x2525_2525_2525_2525) & HI;
        chunk.copy_from_slice(&(w | (upper >> 2)).to_le_bytes());
        done += 8;
    }
    while done < out.len() && out[done].is_ascii() {
        out[done] = out[done].to_ascii_lowercase();
        done += 1;
    }
    if done == out.len() {
        return;
    }
    // `done` follows ASCII bytes only, so it is a character boundary.
    out.truncate(done);
    let mut buf = [0u8; 4];
    for c in s[done..].chars() {
        if c.is_ascii() {
            out.push(c.to_ascii_lowercase() as u8);
        } else {
            for l in c.to_lowercase() {
                out.extend_from_slice(l.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
}

/// Lower-case literals of which every match of regex `pattern` contains
/// at least one (for rule gates), or `None` when none can be told safely.
///
/// A conservative reading of the pattern text: top-level alternatives
/// (split at `|` outside groups and classes) each contribute their longest
/// run of plain characters outside groups and classes, minus a last
/// character made optional by `?`, `*` or `{`. Anything unusual (inline
/// flags other than a leading `(?i)`/`(?m)`/`(?s)`, escapes other than
/// punctuation and `\d\s\w\b`-style classes, nested classes) gives `None`.
/// Case-insensitive patterns keep ASCII letters only, and never `s`: its
/// case-insensitive match `ſ` (U+017F) is not changed by lower-casing.
pub fn regex_literals(pattern: &str, case_insensitive: bool) -> Option<Vec<Vec<u8>>> {
    let b = pattern.as_bytes();
    let mut ci = case_insensitive;
    let mut i = 0;
    if b.starts_with(b"(?") {
        let end = b.iter().position(|&c| c == b')')?;
        let flags = &b[2..end];
        if flags.is_empty() || !flags.iter().all(|c| b"ims".contains(c)) {
            return None;
        }
        ci |= flags.contains(&b'i');
        i = end + 1;
    }
    let mut out: Vec<Vec<u8>> = Vec::new();
    let mut best: Vec<u8> = Vec::new();
    let mut run: Vec<u8> = Vec::new();
    // Whether the last token was a plain character appended to `run`.
    let mut last_lit = false;
    let mut depth = 0usize;
    let end_run = |run: &mut Vec<u8>, best: &mut Vec<u8>| {
        if run.len() > best.len() {
            *best = std::mem::take(run);
        }
        run.clear();
    };
    while i < b.len() {
        let c = b[i];
        match c {
            b'\\' => {
                let n = *b.get(i + 1)?;
                i += 2;
                if n.is_ascii_punctuation() {
                    if depth == 0 && (!ci || !n.is_ascii_alphabetic()) {
                        run.push(n);
                        last_lit = true;
                    } else {
                        last_lit = false;
                    }
                    continue;
                }
                if !b"dDsSwWbBAz".contains(&n) {
                    return None;
                }
                if depth == 0 {
                    end_run(&mut run, &mut best);
                }
                last_lit = false;
            }
            b'[' => {
                // Skip the class: `]` first (or after `^`) is literal.
                let mut j = i + 1;
                if b.get(j) == Some(&b'^') {
                    j += 1;
                }
                if b.get(j) == Some(&b']') {
                    j += 1;
                }
                loop {
                    match *b.get(j)? {
                        b'\\' => j += 2,
                        b'[' => return None,
                        b']' => break,
                        _ => j += 1,
                    }
                }
                i = j + 1;
                if depth == 0 {
                    end_run(&mut run, &mut best);
                }
                last_lit = false;
            }
            b'(' => {
                if b.get(i + 1) == Some(&b'?') && b.get(i + 2) != Some(&b':') {
                    return None;
                }
                if depth == 0 {
                    end_run(&mut run, &mut best);
                }
                depth += 1;
                i += 1;
                last_lit = false;
            }
            b')' => {
                depth = depth.checked_sub(1)?;
                i += 1;
                last_lit = false;
            }
            b'?' | b'*' | b'{' => {
                if depth == 0 {
                    if last_lit {
                        run.pop();
                    }
                    end_run(&mut run, &mut best);
                }
                if c == b'{' {
                    i += b[i..].iter().position(|&x| x == b'}')?;
                }
                i += 1;
                last_lit = false;
            }
            b'+' | b'.' | b'^' | b'$' => {
                if depth == 0 {
                    // `a+*` and `a+{0,}` make `a` optional again.
                    if c == b'+' && last_lit && matches!(b.get(i + 1), Some(b'*' | b'{')) {
                        run.pop();
                    }
                    end_run(&mut run, &mut best);
                }
                i += 1;
                last_lit = false;
            }
            b'|' if depth == 0 => {
                end_run(&mut run, &mut best);
                if best.is_empty() {
                    return None;
                }
                out.push(std::mem::take(&mut best));
                i += 1;
                last_lit = false;
            }
            _ => {
                i += 1;
                if depth > 0 {
                    last_lit = false;
                    continue;
                }
                let plain = c.is_ascii() && !(ci && matches!(c, b's' | b'S'));
                if plain && (c.is_ascii_graphic() || c == b' ') {
                    run.push(c.to_ascii_lowercase());
                    last_lit = true;
                } else {
                    // Non-ASCII or control characters end the run (a
                    // multi-byte character's other bytes land here too).
                    end_run(&mut run, &mut best);
                    last_lit = false;
                }
            }
        }
    }
    if depth != 0 {
        return None;
    }
    end_run(&mut run, &mut best);
    if best.is_empty() {
        return None;
    }
    out.push(best);
    Some(out)
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
        let e = windash(&parse_wildcards("-a -b -c -d -e")).expect_err("too many");
        assert_eq!(e, WindashError { positions: 5 });
        assert_eq!(
            e.to_string(),
            "windash: 5 flag positions would expand to more than 625 variants"
        );
    }

    #[test]
    fn regex_literals_are_necessary_substrings() {
        let l = |p: &str, ci: bool| {
            regex_literals(p, ci).map(|v| {
                v.into_iter()
                    .map(|x| String::from_utf8(x).unwrap())
                    .collect::<Vec<_>>()
            })
        };
        assert_eq!(l(r"ipconfig\s+/all", false), Some(vec!["ipconfig".into()]));
        assert_eq!(
            l(r"\$PSHome\[\s*\d{1,3}\s*\]", false),
            Some(vec!["$pshome[".into()])
        );
        assert_eq!(l("abc?d", false), Some(vec!["ab".into()]));
        assert_eq!(l("ab{0,3}", false), Some(vec!["a".into()]));
        assert_eq!(
            l("net|route", false),
            Some(vec!["net".into(), "route".into()])
        );
        assert_eq!(l("net|.*", false), None);
        assert_eq!(l(r"(?i)echo.*clip", false), Some(vec!["echo".into()]));
        // `s` matches `ſ` case-insensitively, which lower-casing keeps.
        assert_eq!(l("(?i)set", false), Some(vec!["et".into()]));
        assert_eq!(l("set", true), Some(vec!["et".into()]));
        assert_eq!(
            l(r"\w+`(?:\w+|-|.)`[\w+|\s]", false),
            Some(vec!["`".into()])
        );
        assert_eq!(l("(?x)a b", false), None);
        assert_eq!(l(r"\x41bc", false), None);
        assert_eq!(l(r"\p{L}+", false), None);
        assert_eq!(l("[[:alpha:]]x", false), None);
        assert_eq!(l("a(b|c)d", false), Some(vec!["a".into()]));
        assert_eq!(l("(ab)", false), None);
        // `+*` repeats a repetition: the character may be absent.
        assert_eq!(l(" +*", false), None);
        assert_eq!(l("ab+*c", false), Some(vec!["a".into()]));
        assert_eq!(l("ab+?c", false), Some(vec!["ab".into()]));
    }

    // Every match of each pattern contains one of its literals (checked by
    // the regex engine itself on generated texts).
    #[test]
    fn regex_literals_hold_on_matches() {
        let pats = [
            r"cmd.{0,5}(?:/c|/r).+powershell",
            r"(?i)(?:set).*&&\s?set",
            r"\\[a-zA-Z0-9]{1,32}\.[a-zA-Z0-9]{1,6}\.[ ]",
            r"shutdown\s+/r /f|net\s+stop",
            r"(?i)\.exe[\x22']?\s+x",
            r"ab+c?d*",
        ];
        let texts = [
            "CMD /c PowerShell",
            "SET a && set b",
            "ſET a && ſet b",
            r"x\abc.de. y",
            "SHUTDOWN  /r /f",
            "NET STOP x",
            "a.EXE' x",
            "abbb",
            "ab",
        ];
        for p in pats {
            let re = regex::RegexBuilder::new(p).build().unwrap();
            let lits = regex_literals(p, false);
            for t in texts {
                if re.is_match(t) {
                    let lower = t.to_lowercase();
                    let lits = lits.as_ref().unwrap();
                    assert!(
                        lits.iter()
                            .any(|l| lower.contains(std::str::from_utf8(l).unwrap())),
                        "{p} on {t}: {lits:?}"
                    );
                }
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 2048, ..Default::default() })]

        // Never panics; when the pattern compiles, every match found in a
        // random text contains one of the literals (after lower-casing).
        #[test]
        fn regex_literals_never_wrong(
            p in r"(\(\?[imsx:]\)?|[a-cS\\.?*+|()\[\]{}^$ ]|\{1,2\}|\\[dsw.$]){0,12}",
            t in r"[a-cA-CsSſ .\\$\[\](){}]{0,24}",
            ci in proptest::bool::ANY,
        ) {
            let lits = regex_literals(&p, ci);
            if let Ok(re) = regex::bytes::RegexBuilder::new(&p).case_insensitive(ci).build()
                && let Some(lits) = lits
                && re.is_match(t.as_bytes())
            {
                let mut lower = String::new();
                lower_into(&t, &mut lower);
                proptest::prop_assert!(
                    lits.iter().any(|l| memchr::memmem::find(lower.as_bytes(), l).is_some()),
                    "{p:?} matches {t:?} without any of {lits:?}"
                );
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn lower_bytes_into_equals_lower_into(
            s in r"(\PC|[A-Za-z0-9 \\]{0,20}){0,24}",
        ) {
            let (mut a, mut b) = (String::new(), Vec::new());
            lower_into(&s, &mut a);
            lower_bytes_into(&s, &mut b);
            proptest::prop_assert_eq!(a.as_bytes(), b.as_slice());
        }
    }
}
