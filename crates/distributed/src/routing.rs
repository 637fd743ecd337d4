//! Log-source routing: shards that no loaded rule can apply to are not
//! scanned.
//!
//! A Sigma rule applies to an event only through one of the event's log
//! sources (`kahu_sigma::logsource`): the primary one, whose product is
//! the `product` column lower-cased — or `windows` when `product` is null
//! and a channel is set — and one per `alt_logsources` entry, whose
//! product is that entry's `product` lower-cased. So when every loaded
//! rule names a product, a shard can hold a matching event only if a
//! `product` value or an `alt_logsources` product equals one of them
//! ignoring ASCII case, or `windows` is one of them and some `product` is
//! null. The Parquet footer's per-row-group statistics (min, max, null
//! count) decide that without reading a page: a string equal to `p`
//! ignoring ASCII case lies, byte-wise, between `p` upper-cased and `p`
//! lower-cased (same length, each byte between its two cases), and
//! truncated statistics stay bounds. Anything the statistics do not
//! settle keeps the shard.
//!
//! Routing is off (every shard is scanned) when a rule has no product
//! (`service`- or `category`-only log sources, keyword rules) or when
//! indicators are loaded: indicators match any event.

use crate::detect::Detection;
use parquet::file::metadata::{ParquetMetaData, RowGroupMetaData};
use parquet::file::statistics::Statistics;

/// The products (lower-case) the loaded rules are restricted to, or
/// `None` when routing is not safe: a rule without a product, or
/// indicators loaded.
pub fn rule_products(d: &Detection) -> Option<Vec<String>> {
    if !d.iocs.is_empty() {
        return None;
    }
    let mut out: Vec<String> = Vec::new();
    for set in &d.rules {
        for (_, rule) in set.rules.rules() {
            let p = rule.logsource.product.as_deref()?.to_ascii_lowercase();
            if !out.contains(&p) {
                out.push(p);
            }
        }
    }
    Some(out)
}

/// Whether some row of the shard may be one that a rule restricted to
/// `products` applies to (see the module documentation). `true` whenever
/// the statistics do not settle it.
pub(crate) fn shard_may_match(meta: &ParquetMetaData, products: &[String]) -> bool {
    meta.row_groups()
        .iter()
        .any(|rg| row_group_may_match(rg, products))
}

fn row_group_may_match(rg: &RowGroupMetaData, products: &[String]) -> bool {
    if rg.num_rows() == 0 {
        return false;
    }
    let mut primary = None;
    let mut alt = None;
    for c in rg.columns() {
        let parts = c.column_path().parts();
        match parts {
            [one] if one == "product" => primary = Some(c),
            [first, .., last] if first == "alt_logsources" && last == "product" => alt = Some(c),
            _ => {}
        }
    }
    let (Some(primary), Some(alt)) = (primary, alt) else {
        return true;
    };
    let windows = products.iter().any(|p| p == "windows");
    // Primary product: nulls are Windows events when a channel is set.
    let Some(stats) = primary.statistics() else {
        return true;
    };
    match stats.null_count_opt() {
        Some(0) => {}
        Some(_) if !windows => {}
        _ => return true,
    }
    if values_may_match(stats, products, rg.num_rows()) {
        return true;
    }
    // Alternative log sources: a null product there names no product,
    // which a rule restricted to products never applies to.
    match alt.statistics() {
        None => true,
        Some(s) => values_may_match(s, products, i64::MAX),
    }
}

/// Whether the non-null values a column chunk's statistics describe may
/// include one equal to a product ignoring ASCII case. `rows` bounds the
/// values when the statistics have no min/max (all null).
fn values_may_match(stats: &Statistics, products: &[String], rows: i64) -> bool {
    let (Some(min), Some(max)) = (stats.min_bytes_opt(), stats.max_bytes_opt()) else {
        // No min/max: the writer saw no non-null value, unless the null
        // count says otherwise or is missing.
        return match stats.null_count_opt() {
            Some(n) => rows != i64::MAX && (n as i64) < rows,
            None => true,
        };
    };
    // Every value between min and max starts with their common prefix;
    // with one distinct value (a shard of one host) that is the value.
    let k = min.iter().zip(max).take_while(|(a, b)| a == b).count();
    let prefix = &min[..k];
    products.iter().any(|p| {
        let (upper, lower) = (p.to_ascii_uppercase(), p.to_ascii_lowercase());
        let pb = p.as_bytes();
        k <= pb.len()
            && prefix.eq_ignore_ascii_case(&pb[..k])
            && !(max < upper.as_bytes() || min > lower.as_bytes())
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn case_insensitive_equals_lie_between_the_cases() {
        // The bound routing relies on, over every casing of a product.
        let p = "windows";
        let (u, l) = (p.to_ascii_uppercase(), p.to_ascii_lowercase());
        for mask in 0u32..(1 << p.len()) {
            let s: String = p
                .chars()
                .enumerate()
                .map(|(i, c)| {
                    if mask & (1 << i) != 0 {
                        c.to_ascii_uppercase()
                    } else {
                        c
                    }
                })
                .collect();
            assert!(
                u.as_bytes() <= s.as_bytes() && s.as_bytes() <= l.as_bytes(),
                "{s}"
            );
        }
        assert!("windowsx".as_bytes() > l.as_bytes());
    }
}
