//! The one HTML escaper of the tree, used by every askama template of the
//! report and of `kahu serve`'s page shell (each crate's `askama.toml` names
//! it): askama's own HTML escaping (`& < > " '` as character references,
//! safe in element text and quoted attributes, HTML and inline SVG alike),
//! with control characters other than line feed and tab shown as U+FFFD.
//!
//! Evidence is attacker-controlled: a command line may carry terminal
//! escapes, NULs or carriage returns that a browser would drop or act on
//! silently; the replacement character shows the analyst that something
//! was there instead.

use askama::filters::Escaper;
use std::fmt::{self, Write};

/// The escaper askama uses for kahu's `.html` templates.
#[derive(Debug, Clone, Copy, Default)]
pub struct Html;

impl Escaper for Html {
    fn write_escaped_str<W: Write>(&self, mut dest: W, string: &str) -> fmt::Result {
        let mut rest = string;
        while let Some(i) = rest.find(|c| is_hidden_control(c) || is_spoofing(c)) {
            askama::filters::Html.write_escaped_str(&mut dest, &rest[..i])?;
            let c = rest[i..]
                .chars()
                .next()
                .unwrap_or(char::REPLACEMENT_CHARACTER);
            self.write_escaped_char(&mut dest, c)?;
            rest = &rest[i + c.len_utf8()..];
        }
        askama::filters::Html.write_escaped_str(dest, rest)
    }

    fn write_escaped_char<W: Write>(&self, mut dest: W, c: char) -> fmt::Result {
        if is_hidden_control(c) {
            dest.write_char(char::REPLACEMENT_CHARACTER)
        } else if is_spoofing(c) {
            // Shown, not acted on: U+202E would make `…\u{202e}txt.exe`
            // read `…exe.txt`.
            write!(dest, "{}", c.escape_default())
        } else {
            askama::filters::Html.write_escaped_char(dest, c)
        }
    }
}

use crate::safe::is_spoofing;

/// A control character a reader would not see (line feed and tab are kept:
/// they are ordinary white space in HTML).
fn is_hidden_control(c: char) -> bool {
    c.is_control() && c != '\n' && c != '\t'
}

#[cfg(test)]
mod tests {
    use super::*;

    fn esc(s: &str) -> String {
        let mut out = String::new();
        Html.write_escaped_str(&mut out, s).unwrap();
        out
    }

    /// A value in an attribute and in text, as the templates write both.
    #[derive(askama::Template)]
    #[template(source = "<p title=\"{{ v }}\">{{ v }}</p>", ext = "html")]
    struct Both<'a> {
        v: &'a str,
    }

    #[test]
    fn templates_use_this_escaper_in_attributes_and_text() {
        use askama::Template;
        let out = Both {
            v: "\"><script>x</script>'\u{1b}",
        }
        .render()
        .unwrap();
        let want = "&#34;&#62;&#60;script&#62;x&#60;/script&#62;&#39;\u{FFFD}";
        assert_eq!(out, format!("<p title=\"{want}\">{want}</p>"));
    }

    #[test]
    fn escapes_markup_and_shows_control_characters() {
        assert_eq!(
            esc("<script>alert('x')</script>&\""),
            "&#60;script&#62;alert(&#39;x&#39;)&#60;/script&#62;&#38;&#34;"
        );
        assert_eq!(
            esc("a\u{0}b\u{1b}[31m\r\u{85}é"),
            "a\u{FFFD}b\u{FFFD}[31m\u{FFFD}\u{FFFD}é"
        );
        assert_eq!(esc("line\none\ttab"), "line\none\ttab");
        let mut c = String::new();
        Html.write_escaped_char(&mut c, '\u{7}').unwrap();
        Html.write_escaped_char(&mut c, '<').unwrap();
        assert_eq!(c, "\u{FFFD}&#60;");
    }

    /// A right-to-left override made `C:\x\u{202e}txt.exe` read `…exe.txt`
    /// in the report; a zero-width space made `bob\u{200b}` read `bob`.
    #[test]
    fn shows_characters_that_reorder_or_hide_text() {
        assert_eq!(esc("C:\\x\\\u{202e}txt.exe"), "C:\\x\\\\u{202e}txt.exe");
        assert_eq!(esc("bob\u{200b}"), "bob\\u{200b}");
        assert_eq!(esc("Māui 漢"), "Māui 漢");
    }
}
