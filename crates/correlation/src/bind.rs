//! Reference resolution, alias resolution and chain ordering.

use crate::error::CorrelationError;
use crate::set::{BoundCorrelation, BoundCorrelations, CorrelationSet, Inner, Source};
use kahu_finding::{Level, attack_tags};
use kahu_sigma::RuleSet;
use std::collections::HashMap;
use std::sync::Arc;

/// Outer correlations that consume a correlation: (consumer index, slot).
type Consumers = Vec<Vec<(u32, u16)>>;

fn err(c: &crate::Correlation, construct: &str, reason: String) -> CorrelationError {
    CorrelationError::new(
        &c.origin,
        c.document,
        Some(c.rule_id().to_string()),
        construct,
        reason,
    )
}

pub(crate) fn bind(
    set: &CorrelationSet,
    rules: &RuleSet,
) -> Result<BoundCorrelations, Vec<CorrelationError>> {
    let corrs = &set.correlations;
    let mut errors = Vec::new();
    let by_ref = index_by_reference(corrs, &mut errors);
    let sources = resolve_references(corrs, rules, &by_ref, &mut errors);
    if !errors.is_empty() {
        return Err(errors);
    }
    let (order, consumers) = order_chains(corrs, &sources)?;
    let mut bound = bind_in_order(corrs, rules, &sources, &order, &consumers)?;
    push_down_carried_fields(&mut bound, &order, &consumers);
    let (routes, suppressed) = route_rules(&bound, rules.len());
    Ok(BoundCorrelations {
        inner: Arc::new(Inner {
            corrs: bound,
            order,
            routes,
            suppressed,
            consumers,
        }),
    })
}

/// Maps every correlation id and name to its index; a key used by two
/// correlations is an error (the first keeps it).
fn index_by_reference<'a>(
    corrs: &'a [crate::Correlation],
    errors: &mut Vec<CorrelationError>,
) -> HashMap<&'a str, usize> {
    let mut by_ref: HashMap<&str, usize> = HashMap::new();
    for (i, c) in corrs.iter().enumerate() {
        for key in [c.id.as_deref(), c.name.as_deref()].into_iter().flatten() {
            if let Some(&j) = by_ref.get(key) {
                if j != i {
                    errors.push(err(
                        c,
                        "",
                        format!(
                            "`{key}` is also the id or name of correlation `{}` ({})",
                            corrs[j].title, corrs[j].origin
                        ),
                    ));
                }
            } else {
                by_ref.insert(key, i);
            }
        }
    }
    by_ref
}

/// Resolves each correlation's `rules:` entries to a detection rule or an
/// inner correlation; ambiguous and unresolved references are errors.
fn resolve_references(
    corrs: &[crate::Correlation],
    rules: &RuleSet,
    by_ref: &HashMap<&str, usize>,
    errors: &mut Vec<CorrelationError>,
) -> Vec<Vec<Source>> {
    let mut sources: Vec<Vec<Source>> = Vec::with_capacity(corrs.len());
    for c in corrs {
        let mut list = Vec::with_capacity(c.rules.len());
        for (slot, r) in c.rules.iter().enumerate() {
            let construct = format!("correlation.rules[{slot}]");
            let corr = by_ref.get(r.as_str()).copied();
            let rule = rules.find(r);
            match (corr, rule) {
                (Some(_), Some(_)) => errors.push(err(
                    c,
                    &construct,
                    format!("`{r}` names both a detection rule and a correlation"),
                )),
                (Some(j), None) => list.push(Source::Correlation(j)),
                (None, Some(idx)) => list.push(Source::Rule(idx)),
                (None, None) => errors.push(err(
                    c,
                    &construct,
                    format!(
                        "unresolved reference `{r}`: no loaded detection rule or correlation has this id or name (missing, filtered by level/status, or rejected by the rule loader)"
                    ),
                )),
            }
        }
        sources.push(list);
    }
    sources
}

/// Orders chains inner-first (Kahn); whatever is left is on a cycle.
fn order_chains(
    corrs: &[crate::Correlation],
    sources: &[Vec<Source>],
) -> Result<(Vec<usize>, Consumers), Vec<CorrelationError>> {
    let n = corrs.len();
    let mut consumers: Consumers = vec![Vec::new(); n];
    let mut pending = vec![0usize; n];
    for (i, list) in sources.iter().enumerate() {
        for (slot, s) in list.iter().enumerate() {
            if let Source::Correlation(j) = s {
                consumers[*j].push((i as u32, slot as u16));
                pending[i] += 1;
            }
        }
    }
    let mut order: Vec<usize> = (0..n).filter(|&i| pending[i] == 0).collect();
    let mut k = 0;
    while k < order.len() {
        let i = order[k];
        for &(o, _) in &consumers[i] {
            pending[o as usize] -= 1;
            if pending[o as usize] == 0 {
                order.push(o as usize);
            }
        }
        k += 1;
    }
    if order.len() < n {
        let errors = corrs
            .iter()
            .zip(&pending)
            .filter(|&(_, &p)| p > 0)
            .map(|(c, _)| {
                err(
                    c,
                    "correlation.rules",
                    "correlation chain is cyclic (refers to itself directly or through other correlations)".into(),
                )
            })
            .collect();
        return Err(errors);
    }
    Ok((order, consumers))
}

/// Names a slot answers to in `aliases`: the reference as written and the
/// referenced rule's or correlation's id and name.
fn slot_names(
    s: &Source,
    written: &str,
    corrs: &[crate::Correlation],
    rules: &RuleSet,
) -> Vec<String> {
    let mut v = vec![written.to_string()];
    match s {
        Source::Rule(idx) => {
            let r = rules.rule(*idx);
            if !r.id.is_empty() {
                v.push(r.id.to_string());
            }
            if let Some(nm) = &r.name {
                v.push(nm.to_string());
            }
        }
        Source::Correlation(j) => {
            let c = &corrs[*j];
            v.extend(c.id.iter().map(|x| x.to_string()));
            v.extend(c.name.iter().map(|x| x.to_string()));
        }
    }
    v
}

/// Binds each correlation after the ones it consumes, so an inner
/// correlation's level and ATT&CK tags are known when its consumer is bound.
fn bind_in_order(
    corrs: &[crate::Correlation],
    rules: &RuleSet,
    sources: &[Vec<Source>],
    order: &[usize],
    consumers: &Consumers,
) -> Result<Vec<BoundCorrelation>, Vec<CorrelationError>> {
    let mut errors = Vec::new();
    let mut bound: Vec<Option<BoundCorrelation>> = vec![None; corrs.len()];
    for &i in order {
        let c = &corrs[i];
        let names: Vec<Vec<String>> = sources[i]
            .iter()
            .zip(&c.rules)
            .map(|(s, w)| slot_names(s, w, corrs, rules))
            .collect();
        check_aliases(c, &names, &mut errors);
        let slots = c.rules.len();
        let group_fields: Vec<Vec<String>> = (0..slots)
            .map(|s| {
                c.group_by
                    .iter()
                    .map(|g| alias_field(c, &names, g, s))
                    .collect()
            })
            .collect();
        let value_fields: Vec<Vec<String>> = (0..slots)
            .map(|s| {
                c.fields
                    .iter()
                    .map(|g| alias_field(c, &names, g, s))
                    .collect()
            })
            .collect();
        let (level, tags) = inherited_level_and_tags(&sources[i], rules, &bound);
        let attack = if c.tags.is_empty() {
            attack_tags(tags.iter().map(|t| &**t))
        } else {
            attack_tags(c.tags.iter().map(|t| &**t))
        };
        // An inner correlation reports only when some consumer asks for it.
        let suppressed = !consumers[i].is_empty()
            && !consumers[i]
                .iter()
                .any(|(o, _)| corrs[*o as usize].generate);
        bound[i] = Some(BoundCorrelation {
            def: c.clone(),
            sources: sources[i].clone(),
            group_fields,
            value_fields,
            carry: Vec::new(),
            level: c.level.unwrap_or(level),
            attack,
            suppressed,
        });
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(bound
        .into_iter()
        .map(|b| b.expect("every correlation is in the order"))
        .collect())
}

/// Every rule named under an alias must be one this correlation refers to.
fn check_aliases(
    c: &crate::Correlation,
    names: &[Vec<String>],
    errors: &mut Vec<CorrelationError>,
) {
    for a in &c.aliases {
        for (rule_name, _) in &a.fields {
            if !names.iter().any(|ns| ns.contains(rule_name)) {
                errors.push(err(
                    c,
                    &format!("correlation.aliases.{}.{rule_name}", a.name),
                    format!("`{rule_name}` is not one of the rules this correlation refers to"),
                ));
            }
        }
    }
}

/// The event field `field` means in slot `slot`: its alias for that slot's
/// rule, or the field itself.
fn alias_field(c: &crate::Correlation, names: &[Vec<String>], field: &str, slot: usize) -> String {
    c.aliases
        .iter()
        .find(|a| a.name == field)
        .and_then(|a| {
            a.fields
                .iter()
                .find(|(r, _)| names[slot].contains(r))
                .map(|(_, f)| f.clone())
        })
        .unwrap_or_else(|| field.to_string())
}

/// The highest level and all ATT&CK tags of a correlation's sources.
fn inherited_level_and_tags(
    sources: &[Source],
    rules: &RuleSet,
    bound: &[Option<BoundCorrelation>],
) -> (Level, Vec<Arc<str>>) {
    let mut level = Level::Informational;
    let mut tags: Vec<Arc<str>> = Vec::new();
    for s in sources {
        match s {
            Source::Rule(idx) => {
                let r = rules.rule(*idx);
                level = level.max(r.level);
                tags.extend(r.tags.iter().cloned());
            }
            Source::Correlation(j) => {
                let b = bound[*j]
                    .as_ref()
                    .expect("topological order: inner bound first");
                level = level.max(b.level);
                let attack = &b.attack;
                tags.extend(
                    attack
                        .techniques
                        .iter()
                        .chain(&attack.software)
                        .chain(&attack.groups)
                        .map(|t| Arc::from(format!("attack.{t}"))),
                );
            }
        }
    }
    (level, tags)
}

/// Fields chained correlations need, pushed down from the outermost.
fn push_down_carried_fields(
    bound: &mut [BoundCorrelation],
    order: &[usize],
    consumers: &Consumers,
) {
    for &i in order.iter().rev() {
        let mut carry: Vec<String> = Vec::new();
        for &(o, slot) in &consumers[i] {
            let outer = &bound[o as usize];
            for f in outer.group_fields[slot as usize]
                .iter()
                .chain(&outer.value_fields[slot as usize])
                .chain(&outer.carry)
            {
                if !bound[i].def.group_by.contains(f) && !carry.contains(f) {
                    carry.push(f.clone());
                }
            }
        }
        // The fields its own findings show, read from the same events.
        for f in &bound[i].def.shown_fields {
            if !bound[i].def.group_by.contains(f) && !carry.contains(f) {
                carry.push(f.clone());
            }
        }
        bound[i].carry = carry;
    }
}

/// For each detection rule: the (correlation, slot) pairs its matches feed,
/// and whether its own findings are suppressed (every consumer has
/// `generate: false`).
fn route_rules(bound: &[BoundCorrelation], rule_count: usize) -> (Consumers, Vec<bool>) {
    let mut routes: Consumers = vec![Vec::new(); rule_count];
    let mut generate = vec![false; rule_count];
    for (i, b) in bound.iter().enumerate() {
        for (slot, s) in b.sources.iter().enumerate() {
            if let Source::Rule(idx) = s {
                routes[idx.0 as usize].push((i as u32, slot as u16));
                generate[idx.0 as usize] |= b.def.generate;
            }
        }
    }
    let suppressed = routes
        .iter()
        .zip(&generate)
        .map(|(r, g)| !r.is_empty() && !g)
        .collect();
    (routes, suppressed)
}
