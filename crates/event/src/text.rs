//! Bounding attacker-controlled text: evidence values are cut to a length
//! before they are stored, shown or quoted in a message, always on a
//! character boundary so the cut never panics or splits a character.

/// The longest prefix of `s` of at most `max` bytes that ends on a
/// character boundary (all of `s` when it is short enough).
pub fn prefix_within(s: &str, max: usize) -> &str {
    &s[..s.floor_char_boundary(max)]
}

/// `s` cut to at most `max` bytes on a character boundary, with `…`
/// appended when anything was cut, so a reader sees the value is longer.
pub fn clip_marked(s: &str, max: usize) -> String {
    if s.len() <= max {
        s.to_string()
    } else {
        format!("{}…", prefix_within(s, max))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_fall_on_character_boundaries() {
        // "é" is two bytes (1..3), "€" three (3..6).
        let s = "aé€b";
        assert_eq!(prefix_within(s, 0), "");
        assert_eq!(prefix_within(s, 2), "a");
        assert_eq!(prefix_within(s, 3), "aé");
        assert_eq!(prefix_within(s, 5), "aé");
        assert_eq!(prefix_within(s, 6), "aé€");
        assert_eq!(prefix_within(s, 100), s);
        assert_eq!(clip_marked(s, 5), "aé…");
        assert_eq!(clip_marked(s, 7), s);
        assert_eq!(clip_marked(s, 6), "aé€…");
    }
}
