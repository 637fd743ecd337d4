//! The demo's partner intelligence: a STIX 2.1 bundle, as a partner CERT
//! would share it, attributing the case's command-and-control server (a
//! compromised SOHO router) and its domain to APT40 from the partner's own
//! investigations, marked TLP:AMBER. Real attributions rest on exactly this
//! kind of infrastructure overlap; the demo's is invented like everything else.

use serde_json::{Value, json};

/// Where [`crate::generate`] writes the bundle, relative to the demo directory
/// (outside the evidence directory: intelligence is not evidence).
pub const INTEL_FILE: &str = "intel/partner-indicators.json";

fn stable_id(kind: &str, name: &str) -> String {
    // Deterministic ids keep the demo reproducible from its seed.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes().chain(kind.bytes()) {
        h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
    }
    let g = h.rotate_left(29) ^ 0x9e37_79b9_7f4a_7c15;
    format!(
        "{kind}--{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        h >> 32,
        (h >> 16) & 0xffff,
        h & 0xfff,
        g & 0xfff,
        g >> 16
    )
}

/// The bundle for the case's C2 addresses and domains.
pub fn partner_bundle(c2_ips: &[String], domains: &[String], created: &str) -> Value {
    let identity = stable_id("identity", "partner-cert");
    let actor = stable_id("intrusion-set", "apt40");
    // Shared TLP:AMBER, as partner attributions usually are: kahu may use it
    // for the victim's assessment but must not pass it on in a TLP:CLEAR bundle.
    let amber = "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82";
    let mut objects = vec![
        json!({
            "type": "marking-definition", "spec_version": "2.1", "id": amber,
            "created": "2017-01-20T00:00:00.000Z", "definition_type": "tlp",
            "name": "TLP:AMBER", "definition": {"tlp": "amber"}
        }),
        json!({
            "type": "identity", "spec_version": "2.1", "id": identity,
            "created": created, "modified": created,
            "name": "Partner national CERT (fictional, kahu demonstration)",
            "identity_class": "organization"
        }),
        json!({
            "type": "intrusion-set", "spec_version": "2.1", "id": actor,
            "created": created, "modified": created, "created_by_ref": identity,
            "name": "APT40", "aliases": ["Leviathan"],
            "external_references": [{"source_name": "mitre-attack", "external_id": "G0065",
                "url": "https://attack.mitre.org/groups/G0065/"}]
        }),
    ];
    let mut add = |pattern: String, name: String| {
        let ind = stable_id("indicator", &pattern);
        objects.push(json!({
            "type": "indicator", "spec_version": "2.1", "id": ind,
            "created": created, "modified": created, "created_by_ref": identity,
            "name": name, "pattern": pattern, "pattern_type": "stix",
            "valid_from": created, "indicator_types": ["malicious-activity", "attribution"],
            "confidence": 70, "object_marking_refs": [amber],
            "description": "Seen by the partner as APT40 operational infrastructure in its own investigations (fictional)."
        }));
        objects.push(json!({
            "type": "relationship", "spec_version": "2.1",
            "id": stable_id("relationship", &format!("{ind}->{actor}")),
            "created": created, "modified": created, "created_by_ref": identity,
            "relationship_type": "indicates", "source_ref": ind, "target_ref": actor,
            "object_marking_refs": [amber]
        }));
    };
    for ip in c2_ips {
        add(
            format!("[ipv4-addr:value = '{ip}']"),
            format!("APT40 last-hop redirector (compromised SOHO router) {ip}"),
        );
    }
    for d in domains {
        add(
            format!("[domain-name:value = '{d}']"),
            format!("APT40 command-and-control domain {d}"),
        );
    }
    json!({
        "type": "bundle",
        "id": stable_id("bundle", "partner-indicators"),
        "objects": objects
    })
}
