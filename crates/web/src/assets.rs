//! The UI's static files, compiled into the binary so `kahu serve` works
//! offline from a single executable.

const INDEX: &str = include_str!("../assets/index.html");
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

/// Escape text for HTML element content and quoted attribute values.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The page shell with the case name and the CSRF token filled in.
pub fn index_html(case_name: &str, csrf: &str) -> String {
    INDEX
        .replace("{{case}}", &escape_html(case_name))
        .replace("{{csrf}}", &escape_html(csrf))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_name_is_escaped_in_the_shell() {
        let html = index_html("<script>alert(1)</script>", "abc");
        assert!(!html.contains("<script>alert"));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    }
}
