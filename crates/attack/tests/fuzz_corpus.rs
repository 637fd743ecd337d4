//! Replays the committed `actor_profile` fuzz seeds
//! (`fuzz/corpus-seed/actor_profile/`) through the entry point
//! `fuzz/fuzz_targets/actor_profile.rs` calls
//! (`kahu_attack::fuzzing::actor_profile`: parse and validate the YAML,
//! then rank the profile against the embedded ATT&CK knowledge base on a
//! small fixed case), so every `cargo test` re-checks them without
//! cargo-fuzz.
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

use kahu_attack::fuzzing::actor_profile;
use kahu_attack::{ActorProfile, Attribution, EvidenceKind, ProfileError};
use kahu_test_support::{replay_fuzz_seeds, seed_result};

/// What one seed produced: `None` for non-UTF-8 input (skipped).
type Outcome = Option<Result<(ActorProfile, Attribution), ProfileError>>;

fn outcome<'a>(
    all: &'a [(String, Outcome)],
    name: &str,
) -> &'a Result<(ActorProfile, Attribution), ProfileError> {
    seed_result(all, name)
        .as_ref()
        .unwrap_or_else(|| panic!("seed {name} is not UTF-8"))
}

#[test]
fn actor_profile_seeds() {
    let all = replay_fuzz_seeds("actor_profile", actor_profile);

    // Expected values come from the seed texts written by fuzz/make-seeds.py.
    for good in [
        "apt40-minimal.yaml",
        "id-name-only.yaml",
        "flow-style.yaml",
        "unknown-group-id.yaml",
        "anchors-merge.yaml",
        "port-zero.yaml",
        "long-values.yaml",
    ] {
        let (_, ranked) = outcome(&all, good)
            .as_ref()
            .unwrap_or_else(|e| panic!("{good} did not parse: {e}"));
        assert!(ranked.actors_ranked > 100, "{good}: ranked against ATT&CK");
    }

    // The minimal APT40 profile is normalised and, on a case built to fit
    // it, ranked first with its profile evidence in the explanation.
    let (p, ranked) = outcome(&all, "apt40-minimal.yaml").as_ref().unwrap();
    assert_eq!(p.cves[0].value, "CVE-2021-44228");
    assert_eq!(p.regions[0].value, "NZ");
    assert_eq!(p.infrastructure[2].kind, "cidr");
    assert_eq!(
        p.infrastructure[3].value.as_deref(),
        Some("c2.evil.example")
    );
    let top = &ranked.candidates[0];
    assert_eq!(top.id, "G0065");
    assert!(top.profiled);
    for kind in [
        EvidenceKind::Cve,
        EvidenceKind::Infrastructure,
        EvidenceKind::Region,
        EvidenceKind::Sector,
        EvidenceKind::Port,
    ] {
        assert!(
            top.supporting.iter().any(|e| e.kind == kind),
            "no {kind:?} in {:#?}",
            top.supporting
        );
    }

    // Well-formed YAML with wrong content is rejected by validation.
    for bad in [
        "bad-cidr.yaml",
        "bad-ip.yaml",
        "bad-asn.yaml",
        "missing-value.yaml",
        "undefined-source.yaml",
        "empty-id.yaml",
        "active-reversed.yaml",
        // a NUL in the id (the seed's other Unicode values are fine)
        "unicode.yaml",
    ] {
        assert!(
            matches!(outcome(&all, bad), Err(ProfileError::Invalid { .. })),
            "{bad}: {:?}",
            outcome(&all, bad).as_ref().err()
        );
    }
    // Malformed YAML, the wrong shape, and resource attacks are parse errors.
    for bad in [
        "unknown-keys.yaml",
        "unknown-nested-key.yaml",
        "missing-name.yaml",
        "huge-numbers.yaml",
        "huge-port.yaml",
        "bad-date.yaml",
        "wrong-types.yaml",
        "deep-nesting.yaml",
        "deep-block-nesting.yaml",
        "billion-laughs.yaml",
        "billion-laughs-typed.yaml",
        "duplicate-keys.yaml",
        "multi-doc.yaml",
        "truncated.yaml",
        "tabs-and-bad-indent.yaml",
        "empty.yaml",
        "null.yaml",
        "scalar.yaml",
    ] {
        assert!(
            matches!(outcome(&all, bad), Err(ProfileError::Yaml { .. })),
            "{bad}: {:?}",
            outcome(&all, bad).as_ref().err()
        );
    }
}
