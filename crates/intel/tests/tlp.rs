//! TLP markings a feed gives its indicators, however it gives them: kahu
//! must never treat a restricted indicator as shareable.
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

use kahu_intel::{IocSet, Tlp};

fn indicator(n: u32, extra: &str) -> String {
    format!(
        r#"{{"type":"indicator","spec_version":"2.1","id":"indicator--00000000-0000-4000-8000-{n:012}",
       "created":"2021-01-01T00:00:00Z","modified":"2021-01-01T00:00:00Z","valid_from":"2021-01-01T00:00:00Z",
       "pattern":"[ipv4-addr:value = '203.0.113.{n}']","pattern_type":"stix"{extra}}}"#
    )
}

fn tlp_of(set: &IocSet, n: u32) -> Option<Tlp> {
    set.indicators()
        .iter()
        .find(|i| i.id().ends_with(&format!("{n:012}")))
        .unwrap()
        .meta
        .tlp
}

#[test]
fn granular_markings_and_tlp2_extensions_under_any_id_mark_the_indicator() {
    let red_custom = "marking-definition--bbbbbbbb-0000-4000-8000-000000000001";
    let bundle = format!(
        r#"{{"type":"bundle","id":"bundle--1","objects":[
      {{"type":"marking-definition","spec_version":"2.1","id":"{red_custom}","created":"2022-10-01T00:00:00.000Z",
        "extensions":{{"extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d":
          {{"extension_type":"property-extension","tlp_2_0":"red"}}}}}},
      {},
      {},
      {},
      {}
    ]}}"#,
        // Only the pattern is marked RED (official TLP 2.0 id), the object CLEAR.
        indicator(
            1,
            r#","object_marking_refs":["marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487"],
               "granular_markings":[{"marking_ref":"marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1","selectors":["pattern"]}]"#
        ),
        // Marked through a TLP 2.0 extension under a partner's own id.
        indicator(2, &format!(r#","object_marking_refs":["{red_custom}"]"#)),
        // A granular marking under that custom id, on the description.
        indicator(
            3,
            &format!(
                r#","description":"x","granular_markings":[{{"marking_ref":"{red_custom}","selectors":["description"]}}]"#
            )
        ),
        // The official TLP 2.0 AMBER+STRICT id without its definition.
        indicator(
            4,
            r#","object_marking_refs":["marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003"]"#
        ),
    );
    let mut set = IocSet::new();
    set.load_bytes(bundle.as_bytes(), "partner.json").unwrap();
    assert_eq!(
        tlp_of(&set, 1),
        Some(Tlp::Red),
        "granular RED on the pattern"
    );
    assert_eq!(
        tlp_of(&set, 2),
        Some(Tlp::Red),
        "TLP 2.0 extension, custom id"
    );
    assert_eq!(tlp_of(&set, 3), Some(Tlp::Red), "granular, custom id");
    assert_eq!(tlp_of(&set, 4), Some(Tlp::AmberStrict));
}

#[test]
fn unmarked_indicators_take_the_given_level_and_marked_ones_keep_theirs() {
    let mut set = IocSet::new();
    set.load_bytes(
        format!(
            r#"{{"type":"bundle","id":"bundle--1","objects":[{}]}}"#,
            indicator(
                1,
                r#","object_marking_refs":["marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"]"#
            )
        )
        .as_bytes(),
        "partner.json",
    )
    .unwrap();
    let from = set.len();
    set.load_bytes(b"198.51.100.7\n198.51.100.8\n", "list.txt")
        .unwrap();
    assert_eq!(set.mark_unmarked(from, Tlp::Red), 2);
    assert_eq!(set.mark_unmarked(0, Tlp::Clear), 0, "nothing left unmarked");
    assert_eq!(tlp_of(&set, 1), Some(Tlp::Green));
    assert!(
        set.indicators()[from..]
            .iter()
            .all(|i| i.meta.tlp == Some(Tlp::Red))
    );
}
