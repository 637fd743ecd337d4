//! The UI's static files, compiled into the binary so `kahu serve` works
//! offline from a single executable. The page shell (`assets/index.html`)
//! is an askama template, compiled in too, escaped by the report crate's
//! escaper (the one in the tree; see `askama.toml`).

use askama::Template;

const APP_JS: &str = include_str!("../assets/app.js");
const APP_CSS: &str = include_str!("../assets/app.css");

/// An embedded asset and its content type.
pub fn get(name: &str) -> Option<(&'static str, &'static str)> {
    match name {
        "app.js" => Some((APP_JS, "text/javascript; charset=utf-8")),
        "app.css" => Some((APP_CSS, "text/css; charset=utf-8")),
        _ => None,
    }
}

/// The page shell: the case name and the CSRF token filled in, escaped.
#[derive(Template)]
#[template(path = "index.html")]
struct Index<'a> {
    case: &'a str,
    csrf: &'a str,
}

/// The page shell with the case name and the CSRF token filled in.
pub fn index_html(case_name: &str, csrf: &str) -> askama::Result<String> {
    Index {
        case: case_name,
        csrf,
    }
    .render()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_name_is_escaped_in_the_shell() {
        let html = index_html("<script>alert(1)</script>\"'", "abc\"><b>").unwrap();
        assert!(!html.contains("<script>alert"));
        assert!(!html.contains("<b>"));
        // In the title and the header (text), and the token in an attribute.
        assert_eq!(
            html.matches("&#60;script&#62;alert(1)&#60;/script&#62;&#34;&#39;")
                .count(),
            2,
            "{html}"
        );
        assert!(
            html.contains("content=\"abc&#34;&#62;&#60;b&#62;\""),
            "{html}"
        );
    }
}
