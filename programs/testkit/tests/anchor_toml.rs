//! `Anchor.toml`, each program's `declare_id!` and each committed IDL name
//! the same program ids, so that `anchor build` / `anchor deploy` and our
//! native builds agree.

use std::path::PathBuf;
use std::str::FromStr;

use anchor_lang::prelude::Pubkey;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn anchor_toml() -> toml::Value {
    let text = std::fs::read_to_string(root().join("Anchor.toml"))
        .expect("Anchor.toml at the workspace root");
    text.parse().expect("Anchor.toml parses")
}

/// The programs that exist as crates, with their declared ids.
fn declared() -> [(&'static str, Pubkey); 4] {
    [
        ("aether_staking", aether_staking::ID),
        ("aether_registry", aether_registry::ID),
        ("aether_escrow", aether_escrow::ID),
        ("aether_anchors", aether_anchors::ID),
    ]
}

const ALL: [&str; 4] = [
    "aether_staking",
    "aether_registry",
    "aether_escrow",
    "aether_anchors",
];

#[test]
fn every_cluster_names_all_four_programs_with_valid_distinct_ids() {
    let toml = anchor_toml();
    for cluster in ["localnet", "devnet"] {
        let table = toml["programs"][cluster]
            .as_table()
            .unwrap_or_else(|| panic!("[programs.{cluster}] missing"));
        let mut ids = Vec::new();
        for name in ALL {
            let id = table
                .get(name)
                .and_then(|v| v.as_str())
                .unwrap_or_else(|| panic!("{name} missing from [programs.{cluster}]"));
            ids.push(Pubkey::from_str(id).unwrap_or_else(|e| panic!("{name} in {cluster}: {e}")));
        }
        ids.sort();
        ids.dedup();
        assert_eq!(
            ids.len(),
            ALL.len(),
            "two programs share an id in {cluster}"
        );
    }
}

#[test]
fn declare_id_matches_anchor_toml() {
    let toml = anchor_toml();
    for cluster in ["localnet", "devnet"] {
        for (name, id) in declared() {
            let listed = toml["programs"][cluster][name].as_str().unwrap();
            assert_eq!(
                listed,
                id.to_string(),
                "{name}: declare_id! and Anchor.toml [programs.{cluster}] differ"
            );
        }
    }
}

#[test]
fn committed_idls_carry_the_declared_ids() {
    for (name, id) in declared() {
        let path = root().join("idl").join(format!("{name}.json"));
        let idl: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("committed IDL"))
                .expect("IDL is JSON");
        assert_eq!(idl["address"], id.to_string(), "{}", path.display());
        assert_eq!(idl["metadata"]["name"], name);
    }
}
