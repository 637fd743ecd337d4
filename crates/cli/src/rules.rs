//! Rule options given on the command line.

use anyhow::Result;

/// Parse `NAME=VALUE` placeholder arguments (`%NAME%` in rules using
/// `|expand`); repeated names collect several values.
pub(crate) fn placeholders(
    args: &[String],
) -> Result<std::collections::HashMap<String, Vec<String>>> {
    let mut map: std::collections::HashMap<String, Vec<String>> = std::collections::HashMap::new();
    for a in args {
        let Some((name, value)) = a.split_once('=') else {
            anyhow::bail!("placeholder `{a}` is not NAME=VALUE");
        };
        let name = name.trim().trim_matches('%');
        if name.is_empty() {
            anyhow::bail!("placeholder `{a}` has an empty name");
        }
        map.entry(name.to_string())
            .or_default()
            .push(value.to_string());
    }
    Ok(map)
}
