//! kahu's own Sigma rules (the project's work, Apache-2.0 like the code),
//! embedded so the binary works from any directory.

macro_rules! rules {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../rules/", $name)))),*]
    };
}

static RULES: &[(&str, &str)] = rules![];

/// The bundled rule set as `(file name, YAML text)` pairs, sorted by file name.
pub fn bundled_rules() -> &'static [(&'static str, &'static str)] {
    RULES
}
