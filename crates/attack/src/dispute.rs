//! Withdrawing evidence an analyst disputes, so the ranking can be
//! recomputed without it (`kahu serve`'s dispute button).

use crate::CaseEvidence;

impl CaseEvidence {
    /// Remove every item named by one of `ids` — a technique, software,
    /// CVE, IP, domain, sector, region, infrastructure kind or port, as the
    /// attribution document shows it. Returns how many items were removed.
    pub fn withdraw<'a>(&mut self, ids: impl IntoIterator<Item = &'a str>) -> usize {
        let before = self.item_count();
        for id in ids {
            let id = id.trim();
            let upper = id.to_ascii_uppercase();
            self.techniques.retain(|t| *t != upper);
            self.software.retain(|s| *s != upper);
            self.cves.retain(|c| *c != upper);
            self.ips.retain(|ip| ip.to_string() != id);
            self.domains.retain(|x| !x.eq_ignore_ascii_case(id));
            self.sectors.retain(|x| !x.eq_ignore_ascii_case(id));
            self.regions.retain(|x| !x.eq_ignore_ascii_case(id));
            self.infrastructure_kinds
                .retain(|x| !x.eq_ignore_ascii_case(id));
            self.ports.retain(|p| p.to_string() != id);
        }
        before - self.item_count()
    }

    fn item_count(&self) -> usize {
        self.techniques.len()
            + self.software.len()
            + self.cves.len()
            + self.ips.len()
            + self.domains.len()
            + self.sectors.len()
            + self.regions.len()
            + self.infrastructure_kinds.len()
            + self.ports.len()
    }
}

#[cfg(test)]
mod tests {
    use crate::CaseEvidence;

    #[test]
    fn withdraws_only_the_named_items_whatever_their_case() {
        let mut ev = CaseEvidence::default();
        ev.techniques
            .extend(["T1003.001".to_string(), "T1059.001".into()]);
        ev.ips.insert("203.0.113.7".parse().expect("literal IP"));
        ev.domains.insert("Evil.example".into());
        ev.ports.insert(8080);
        let removed = ev.withdraw([
            "t1003.001",
            " evil.EXAMPLE ",
            "203.0.113.7",
            "8080",
            "T9999",
        ]);
        assert_eq!(removed, 4);
        assert_eq!(ev.techniques.iter().collect::<Vec<_>>(), ["T1059.001"]);
        assert!(ev.ips.is_empty() && ev.domains.is_empty() && ev.ports.is_empty());
    }
}
