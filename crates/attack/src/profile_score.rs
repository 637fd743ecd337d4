//! The profile and intelligence part of an actor's score: CVEs,
//! infrastructure, tooling, victimology, ports and activity period from the
//! analyst's actor profiles, and indicators an intelligence feed attributes
//! to an actor. ATT&CK evidence is scored in `score.rs`.

use crate::attribution::{EvidenceItem, EvidenceKind, Explain};
use crate::evidence::CaseEvidence;
use crate::profile::{ActorProfile, Sourced, item_reliability, parse_asn};
use crate::score::{Actor, Attributor, Params, Resolved};
use ipnet::IpNet;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::net::IpAddr;

impl Attributor<'_> {
    /// How many loaded profiles list each item `ev` shows, counted once per
    /// ranking: a profile item's weight is shared among the actors listing
    /// it, as IDF does for techniques, so an exploit or a router botnet used
    /// by several actors does not count fully for each. (With a profile for
    /// every ATT&CK group, counting per actor made ranking ~100× slower.)
    pub(crate) fn listing(&self, ev: &CaseEvidence) -> Listing {
        let mut l = Listing::default();
        for q in self.profiles {
            for cve in &ev.cves {
                if q.cves.iter().any(|x| &x.value == cve) {
                    *l.cves.entry(cve.clone()).or_default() += 1;
                }
            }
            for port in &ev.ports {
                if q.ports.iter().any(|x| x.port == *port) {
                    *l.ports.entry(*port).or_default() += 1;
                }
            }
            for kind in &ev.infrastructure_kinds {
                if q.infrastructure
                    .iter()
                    .any(|i| i.kind.eq_ignore_ascii_case(kind))
                {
                    *l.kinds.entry(kind.to_lowercase()).or_default() += 1;
                }
            }
            let mut tools: Vec<String> = q.tooling.iter().map(|t| t.value.to_lowercase()).collect();
            tools.sort_unstable();
            tools.dedup();
            for t in tools {
                *l.tools.entry(t).or_default() += 1;
            }
            if q.sectors
                .iter()
                .any(|k| victim_matches(&ev.sectors, &k.value))
            {
                l.sectors += 1;
            }
            if q.regions
                .iter()
                .any(|k| victim_matches(&ev.regions, &k.value))
            {
                l.regions += 1;
            }
        }
        l
    }

    /// Does an intelligence attribution (`G0065`, `APT40`, `Leviathan`) name actor `a`?
    pub(crate) fn names_actor(&self, a: &Actor, who: &str) -> bool {
        let who = who.trim();
        if who.eq_ignore_ascii_case(&a.id) || self.kb.resolve(who) == a.id {
            return true;
        }
        who.eq_ignore_ascii_case(&a.name)
            || a.aliases.iter().any(|x| x.eq_ignore_ascii_case(who))
            // Synonyms from the galaxies (`GADOLINIUM`, `Gingham Typhoon`…).
            || a.profile.is_some_and(|pi| {
                self.profiles[pi]
                    .aliases
                    .iter()
                    .any(|x| x.eq_ignore_ascii_case(who))
            })
    }

    /// Matched indicators that intelligence attributes to `a`: infrastructure
    /// overlap, for any actor (profiled or not). Each indicator's weight is
    /// split among the actors it is attributed to, and the total is capped at
    /// two indicators' worth so a feed with many hits on one server cannot
    /// decide the ranking alone.
    fn intel_score(
        &self,
        a: &Actor,
        r: &Resolved,
        p: &Params,
        out: &mut Option<&mut Explain>,
    ) -> f64 {
        let mut s = 0.0;
        for (ioc, share, named) in r.intel.get(&a.id).into_iter().flatten() {
            let w = (p.infra_weight * share).min(2.0 * p.infra_weight - s);
            if w <= 1e-12 {
                break;
            }
            s += w;
            if let Some(o) = out.as_deref_mut() {
                o.supporting.push(EvidenceItem::new(
                    EvidenceKind::Infrastructure,
                    ioc,
                    format!(
                        "indicator {ioc} matched the evidence; the intelligence attributes it to {named}"
                    ),
                    w,
                ));
            }
        }
        s
    }

    /// Profile part of an actor's score (CVE, infrastructure, tooling,
    /// victimology, time). Zero for actors without a profile.
    pub(crate) fn profile_score(
        &self,
        a: &Actor,
        ev: &CaseEvidence,
        r: &Resolved,
        l: &Listing,
        p: &Params,
        out: Option<&mut Explain>,
    ) -> f64 {
        let (facts, other) = self.profile_score_parts(a, ev, r, l, p, out);
        other + facts
    }

    /// [`Self::profile_score`] in two parts: (CVEs, tools and ports — the
    /// kinds whose logit scale is fitted, `Params::fact_logit_scale` —,
    /// attributed indicators, infrastructure, victims and time —
    /// `Params::profile_logit_scale`).
    pub(crate) fn profile_score_parts(
        &self,
        a: &Actor,
        ev: &CaseEvidence,
        r: &Resolved,
        l: &Listing,
        p: &Params,
        mut out: Option<&mut Explain>,
    ) -> (f64, f64) {
        let intel = self.intel_score(a, r, p, &mut out);
        let Some(pi) = a.profile else {
            return (0.0, intel);
        };
        let prof = &self.profiles[pi];
        let mut m = ProfileMatch {
            prof,
            excluded: &self.excluded_sources,
            ev,
            listing: l,
            p,
            out,
            score: intel,
        };
        // Summed in this order, as the scores' last bits depend on it.
        let mut facts = 0.0;
        let mut before = m.score;
        m.cves();
        facts += m.score - before;
        m.infrastructure();
        before = m.score;
        m.tooling(&self.tool_names(a, ev, r));
        facts += m.score - before;
        m.victims(
            EvidenceKind::Sector,
            "sector",
            &ev.sectors,
            &prof.sectors,
            Listing::share(Some(&l.sectors)),
        );
        m.victims(
            EvidenceKind::Region,
            "region",
            &ev.regions,
            &prof.regions,
            Listing::share(Some(&l.regions)),
        );
        before = m.score;
        m.ports();
        facts += m.score - before;
        m.activity_period();
        (facts, m.score - facts)
    }

    /// Tool names a profile's tooling can match, lower-cased, with the
    /// name shown: the free-text tools of the case, and the names and
    /// aliases of observed software the ATT&CK part did not already credit
    /// to `a` (shown by its ATT&CK id).
    fn tool_names(&self, a: &Actor, ev: &CaseEvidence, r: &Resolved) -> Vec<(String, String)> {
        let d = self.kb.data();
        let mut names: Vec<(String, String)> = ev
            .tools
            .iter()
            .map(|t| (t.to_lowercase(), t.clone()))
            .collect();
        for &sw in &r.sws {
            if !a.model.software.contains_key(&sw) {
                let so = &d.software[sw as usize];
                for n in std::iter::once(&so.name).chain(&so.aliases) {
                    names.push((n.to_lowercase(), so.id.clone()));
                }
            }
        }
        names
    }
}

/// One actor profile scored against one case: each kind of profile
/// evidence adds to `score` and, when explaining, to `out`.
struct ProfileMatch<'a, 'o> {
    prof: &'a ActorProfile,
    /// Source keys left out ([`Exclusions::sources`](crate::Exclusions)).
    excluded: &'a [String],
    ev: &'a CaseEvidence,
    listing: &'a Listing,
    p: &'a Params,
    out: Option<&'o mut Explain>,
    score: f64,
}

impl<'a> ProfileMatch<'a, '_> {
    /// Whether a profile item citing these sources may be used (a copy of
    /// the test, so it can be held while `self` changes).
    fn allowed(&self) -> impl Fn(&[String]) -> bool + use<'a> {
        let (prof, excluded) = (self.prof, self.excluded);
        move |srcs| prof.item_allowed(srcs, excluded)
    }

    /// Record an explanation item, for (`support`) or against the actor.
    fn push(&mut self, support: bool, item: EvidenceItem) {
        if let Some(o) = self.out.as_deref_mut() {
            if support {
                o.supporting.push(item)
            } else {
                o.contradicting.push(item)
            }
        }
    }

    /// Exploited CVEs the profile lists.
    fn cves(&mut self) {
        let (prof, ev, l, p, ok) = (self.prof, self.ev, self.listing, self.p, self.allowed());
        for cve in &ev.cves {
            if let Some(c) = prof.cves.iter().find(|c| &c.value == cve && ok(&c.sources)) {
                let w = p.cve_weight * item_reliability(c.note.as_deref())
                    / Listing::share(l.cves.get(cve));
                self.score += w;
                let note = c
                    .note
                    .as_deref()
                    .map(|n| format!(" ({n})"))
                    .unwrap_or_default();
                let why = format!(
                    "{cve}{note} exploited by this actor{}",
                    provenance(prof, &c.sources, " per profile")
                );
                self.push(true, EvidenceItem::new(EvidenceKind::Cve, cve, why, w));
            }
        }
    }

    /// Infrastructure the profile lists: an IP, a network, a domain (or a
    /// subdomain of it), an AS, or a kind of infrastructure (`vps`,
    /// `soho-router`) an analyst noted on the case.
    fn infrastructure(&mut self) {
        let (prof, ok) = (self.prof, self.allowed());
        for inf in prof.infrastructure.iter().filter(|i| ok(&i.sources)) {
            let Some((what, w)) = self.infrastructure_hit(inf) else {
                continue;
            };
            let w = w * item_reliability(inf.note.as_deref());
            self.score += w;
            let note = inf
                .note
                .as_deref()
                .map(|n| format!(": {n}"))
                .unwrap_or_default();
            let why = format!(
                "infrastructure {what} matches profile ({}){note}{}",
                inf.kind,
                provenance(prof, &inf.sources, "")
            );
            self.push(
                true,
                EvidenceItem::new(EvidenceKind::Infrastructure, &what, why, w),
            );
        }
    }

    /// What of the case one profile infrastructure item matches, and its
    /// weight before the item's reliability.
    fn infrastructure_hit(&self, inf: &crate::profile::Infrastructure) -> Option<(String, f64)> {
        let (ev, l, p) = (self.ev, self.listing, self.p);
        let v = inf.value.as_deref().unwrap_or("");
        match inf.kind.as_str() {
            "ip" => v
                .parse::<IpAddr>()
                .ok()
                .filter(|ip| ev.ips.contains(ip))
                .map(|ip| (ip.to_string(), p.infra_weight)),
            "cidr" => v.parse::<IpNet>().ok().and_then(|net| {
                ev.ips
                    .iter()
                    .find(|ip| net.contains(*ip))
                    .map(|ip| (format!("{ip} in {net}"), p.infra_weight / 2.0))
            }),
            "domain" => ev
                .domains
                .iter()
                .find(|d| *d == v || d.ends_with(&format!(".{v}")))
                .map(|d| (d.clone(), p.infra_weight)),
            "asn" => parse_asn(v)
                .filter(|n| ev.asns.contains(n))
                .map(|n| (format!("AS{n}"), p.infra_weight / 2.0)),
            kind => ev
                .infrastructure_kinds
                .iter()
                .any(|k| k.eq_ignore_ascii_case(kind))
                .then(|| {
                    let shared = Listing::share(l.kinds.get(&kind.to_lowercase()));
                    (kind.to_string(), p.victim_weight / shared)
                }),
        }
    }

    /// Tools the profile lists, matched against `names`
    /// ([`Attributor::tool_names`]); each shown name is credited once.
    fn tooling(&mut self, names: &[(String, String)]) {
        let (prof, l, ok) = (self.prof, self.listing, self.allowed());
        let mut credited = HashSet::new();
        for t in prof.tooling.iter().filter(|t| ok(&t.sources)) {
            let tl = t.value.to_lowercase();
            if let Some((_, shown)) = names.iter().find(|(n, _)| *n == tl)
                && credited.insert(shown.clone())
            {
                let w = item_reliability(t.note.as_deref()) / Listing::share(l.tools.get(&tl));
                self.score += w;
                let why = format!(
                    "tool {}{}{}",
                    t.value,
                    t.note
                        .as_deref()
                        .map(|n| format!(" ({n})"))
                        .unwrap_or_default(),
                    provenance(prof, &t.sources, " listed in profile")
                );
                self.push(
                    true,
                    EvidenceItem::new(EvidenceKind::Tooling, shown, why, w),
                );
            }
        }
    }

    /// Victimology (`what` is "sector" or "region"): for the actor when an
    /// observed value is within the profile's, against it (half the
    /// weight) when the profile lists some and none matches. `shared` is
    /// the number of profiles the match is shared with.
    fn victims(
        &mut self,
        kind: EvidenceKind,
        what: &str,
        observed: &BTreeSet<String>,
        known: &[Sourced],
        shared: f64,
    ) {
        let (p, ok) = (self.p, self.allowed());
        let known: Vec<&Sourced> = known.iter().filter(|x| ok(&x.sources)).collect();
        if observed.is_empty() || known.is_empty() {
            return;
        }
        let hits: Vec<&&Sourced> = known
            .iter()
            .filter(|k| victim_matches(observed, &k.value))
            .collect();
        if let Some(h) = hits.first() {
            let best = hits
                .iter()
                .map(|h| item_reliability(h.note.as_deref()))
                .fold(0.0, f64::max);
            let w = p.victim_weight * best / shared;
            self.score += w;
            let vals: Vec<&str> = hits.iter().map(|h| h.value.as_str()).collect();
            let why = format!(
                "victim {what} {} within known victimology{}{}",
                vals.join(", "),
                if best < 1.0 { " (weak source)" } else { "" },
                provenance(self.prof, &h.sources, "")
            );
            self.push(true, EvidenceItem::new(kind, &vals.join(","), why, w));
        } else {
            self.score -= p.victim_weight / 2.0;
            let obs: Vec<&str> = observed.iter().map(String::as_str).collect();
            let why = format!(
                "victim {what} {} outside the actor's known victimology",
                obs.join(", ")
            );
            self.push(
                false,
                EvidenceItem::new(kind, &obs.join(","), why, -p.victim_weight / 2.0),
            );
        }
    }

    /// Ports the profile lists, together capped at twice the victim weight.
    fn ports(&mut self) {
        let (prof, ev, l, p, ok) = (self.prof, self.ev, self.listing, self.p, self.allowed());
        let mut port_w = 0.0;
        for port in prof.ports.iter().filter(|x| ok(&x.sources)) {
            if ev.ports.contains(&port.port) && port_w < p.victim_weight * 2.0 {
                let w = p.victim_weight * item_reliability(port.note.as_deref())
                    / Listing::share(l.ports.get(&port.port));
                port_w += w;
                let note = port
                    .note
                    .as_deref()
                    .map(|n| format!(" ({n})"))
                    .unwrap_or_default();
                let why = format!(
                    "port {}{note}{}",
                    port.port,
                    provenance(prof, &port.sources, " listed in profile")
                );
                self.push(
                    true,
                    EvidenceItem::new(EvidenceKind::Port, &port.port.to_string(), why, w),
                );
            }
        }
        self.score += port_w;
    }

    /// The case's time span against the actor's active period: activity
    /// outside it counts against the actor; inside it, or after the first
    /// day generated facts document, is shown but not scored.
    fn activity_period(&mut self) {
        let (prof, ev, p, ok) = (self.prof, self.ev, self.p, self.allowed());
        let (Some(first), Some(last)) = (ev.first_seen, ev.last_seen) else {
            return;
        };
        let span = format!("{first}/{last}");
        if let Some(act) = prof.active.as_ref().filter(|a| ok(&a.sources)) {
            let before = act.from.is_some_and(|f| last < f);
            let after = act.to.is_some_and(|t| first > t);
            let period = format!(
                "{}–{}",
                act.from.map(|d| d.to_string()).unwrap_or_default(),
                act.to
                    .map(|d| d.to_string())
                    .unwrap_or_else(|| "present".into())
            );
            if before || after {
                self.score -= p.time_weight;
                let why =
                    format!("activity {first}–{last} outside the actor's active period {period}");
                self.push(
                    false,
                    EvidenceItem::new(EvidenceKind::Time, &span, why, -p.time_weight),
                );
            } else {
                let why = format!(
                    "activity {first}–{last} within the actor's active period {period} (not scored: most actors are active now)"
                );
                self.push(true, EvidenceItem::new(EvidenceKind::Time, &span, why, 0.0));
            }
        } else if let (None, Some((since, source))) =
            (prof.active.as_ref(), prof.documented_since.as_ref())
            // Activity before the first report says nothing either way.
            && last >= *since
        {
            // Generated facts give only the first documented day (a
            // campaign's first day, a KEV listing): shown, never scored, as
            // an actor is older than its first report.
            let why = format!(
                "activity {first}–{last}; the actor is documented active since at least {since} ({source}) (not scored: a first report is not a first day)"
            );
            self.push(true, EvidenceItem::new(EvidenceKind::Time, &span, why, 0.0));
        }
    }
}

/// Where a profile item comes from, for the explanation: an analyst's
/// source keys after `analyst_phrase` (" per profile [AA24-190A]"), and the
/// origin of each generated fact in words (" — named in ATT&CK campaign
/// C0049 (…) description; MISP galaxy threat-actor cluster APT40").
fn provenance(prof: &ActorProfile, srcs: &[String], analyst_phrase: &str) -> String {
    let (facts, keys): (Vec<&String>, Vec<&String>) =
        srcs.iter().partition(|k| crate::facts::is_fact_key(k));
    let mut out = String::new();
    if !keys.is_empty() || facts.is_empty() {
        out.push_str(analyst_phrase);
    }
    if !keys.is_empty() {
        let keys: Vec<&str> = keys.iter().map(|k| k.as_str()).collect();
        out.push_str(&format!(" [{}]", keys.join(", ")));
    }
    if !facts.is_empty() {
        let titles: Vec<&str> = facts
            .iter()
            .map(|k| {
                prof.sources
                    .get(*k)
                    .map_or(k.as_str(), |s| s.title.as_str())
            })
            .collect();
        out.push_str(&format!(" — {}", titles.join("; ")));
    }
    out
}

/// Number of loaded profiles listing each item of a case ([`Attributor::listing`]).
#[derive(Debug, Default)]
pub(crate) struct Listing {
    cves: HashMap<String, usize>,
    ports: HashMap<u16, usize>,
    kinds: HashMap<String, usize>,
    tools: HashMap<String, usize>,
    sectors: usize,
    regions: usize,
}

impl Listing {
    /// Divisor for an item listed by `n` profiles (at least 1).
    fn share(n: Option<&usize>) -> f64 {
        n.copied().unwrap_or(0).max(1) as f64
    }
}

/// Does an observed victim sector/region set match a profile value? Loose on
/// purpose (`government` matches `local government`), as analysts type them.
fn victim_matches(observed: &BTreeSet<String>, value: &str) -> bool {
    observed
        .iter()
        .any(|o| o == value || o.contains(value) || value.contains(o.as_str()))
}
