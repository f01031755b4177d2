//! The merkle tree of a batch of messages, defined once: the program checks
//! proofs with it, the SDK and the node build trees and proofs with it.
//!
//! - leaf = sha256(0x00 ‖ item_hash)
//! - inner node = sha256(0x01 ‖ left ‖ right)
//! - a level with an odd number of nodes promotes its last node unchanged.
//!
//! The domain bytes keep a leaf from ever passing for an inner node. A proof
//! is the leaf's index and its siblings from the bottom up, skipping levels
//! where the node was promoted; the batch's leaf count (kept on chain with
//! its root) says where those are.

use anchor_lang::prelude::*;

/// A sha256 digest.
pub type Hash32 = [u8; 32];

/// Deepest tree a `u32` leaf count can make.
pub const MAX_DEPTH: usize = 32;

/// Where a leaf sits in its batch, and the siblings on its way to the root.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug, PartialEq, Eq)]
pub struct MerkleProof {
    pub index: u32,
    pub siblings: Vec<Hash32>,
}

fn sha256(parts: &[&[u8]]) -> Hash32 {
    solana_sha256_hasher::hashv(parts).to_bytes()
}

/// The leaf of a message, from its item hash (as the message carries it).
pub fn leaf_hash(item_hash: &[u8]) -> Hash32 {
    sha256(&[&[0x00], item_hash])
}

/// The parent of two nodes.
pub fn node_hash(left: &Hash32, right: &Hash32) -> Hash32 {
    sha256(&[&[0x01], left, right])
}

fn next_level(level: &[Hash32]) -> Vec<Hash32> {
    level
        .chunks(2)
        .map(|pair| match pair {
            [left, right] => node_hash(left, right),
            [single] => *single,
            _ => unreachable!("chunks of two"),
        })
        .collect()
}

/// The root of `leaves` (already leaf-hashed); `None` for no leaves.
pub fn root(leaves: &[Hash32]) -> Option<Hash32> {
    let mut level = leaves.to_vec();
    if level.is_empty() {
        return None;
    }
    while level.len() > 1 {
        level = next_level(&level);
    }
    Some(level[0])
}

/// The proof for the leaf at `index`; `None` when out of range.
pub fn proof(leaves: &[Hash32], index: usize) -> Option<MerkleProof> {
    if index >= leaves.len() || leaves.len() > u32::MAX as usize {
        return None;
    }
    let mut siblings = Vec::new();
    let mut level = leaves.to_vec();
    let mut i = index;
    while level.len() > 1 {
        let sibling = i ^ 1;
        if sibling < level.len() {
            siblings.push(level[sibling]);
        }
        level = next_level(&level);
        i /= 2;
    }
    Some(MerkleProof {
        index: index as u32,
        siblings,
    })
}

/// True when `leaf` is at `proof.index` in the tree of `count` leaves whose root is `root`.
pub fn verify(root: &Hash32, count: u32, leaf: &Hash32, proof: &MerkleProof) -> bool {
    if count == 0 || proof.index >= count || proof.siblings.len() > MAX_DEPTH {
        return false;
    }
    let mut node = *leaf;
    let mut i = proof.index;
    let mut width = count;
    let mut siblings = proof.siblings.iter();
    while width > 1 {
        let promoted = i == width - 1 && width % 2 == 1;
        if !promoted {
            let Some(sibling) = siblings.next() else {
                return false;
            };
            node = if i.is_multiple_of(2) {
                node_hash(&node, sibling)
            } else {
                node_hash(sibling, &node)
            };
        }
        i /= 2;
        width = width.div_ceil(2);
    }
    siblings.next().is_none() && node == *root
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(n: usize) -> Vec<Hash32> {
        (0..n)
            .map(|i| leaf_hash(format!("item-{i}").as_bytes()))
            .collect()
    }

    fn check_all(n: usize, sample: impl Iterator<Item = usize>) {
        let leaves = leaves(n);
        let root = root(&leaves).unwrap();
        for i in sample {
            let p = proof(&leaves, i).unwrap();
            assert!(verify(&root, n as u32, &leaves[i], &p), "leaf {i} of {n}");
            // The same proof does not fit another leaf or another position.
            let forged = leaf_hash(b"forged");
            assert!(!verify(&root, n as u32, &forged, &p));
            if n > 1 {
                let other = (i + 1) % n;
                assert!(
                    !verify(&root, n as u32, &leaves[other], &p),
                    "leaf {other} at {i} of {n}"
                );
                let moved = MerkleProof {
                    index: other as u32,
                    ..p.clone()
                };
                assert!(
                    !verify(&root, n as u32, &leaves[i], &moved),
                    "leaf {i} moved to {other} of {n}"
                );
            }
        }
    }

    #[test]
    fn small_trees() {
        for n in [1, 2, 3, 4, 5, 7, 8, 9] {
            check_all(n, 0..n);
        }
        assert_eq!(
            root(&leaves(1)).unwrap(),
            leaves(1)[0],
            "one leaf is its own root"
        );
        let l = leaves(3);
        assert_eq!(
            root(&l).unwrap(),
            node_hash(&node_hash(&l[0], &l[1]), &l[2]),
            "odd node promoted"
        );
        assert_eq!(root(&[]), None);
    }

    #[test]
    fn a_thousand_leaves() {
        check_all(1_000, (0..1_000).step_by(37).chain([999]));
    }

    #[test]
    fn a_hundred_thousand_leaves() {
        let n = 100_000;
        check_all(n, [0, 1, 65_535, 65_536, 99_998, 99_999].into_iter());
        let p = proof(&leaves(n), 99_999).unwrap();
        assert!(p.siblings.len() <= 17, "depth of 100,000 leaves is 17");
    }

    #[test]
    fn malformed_proofs_fail() {
        let l = leaves(10);
        let r = root(&l).unwrap();
        let p = proof(&l, 4).unwrap();
        let mut short = p.clone();
        short.siblings.pop();
        assert!(!verify(&r, 10, &l[4], &short));
        let mut long = p.clone();
        long.siblings.push([0; 32]);
        assert!(!verify(&r, 10, &l[4], &long));
        assert!(!verify(
            &r,
            10,
            &l[4],
            &MerkleProof {
                index: 10,
                ..p.clone()
            }
        ));
        assert!(!verify(&r, 0, &l[4], &p));
        // The count places promoted nodes: the last of 9 leaves is promoted
        // at the bottom, which a count of 10 would not do.
        let nine = leaves(9);
        let last = proof(&nine, 8).unwrap();
        let r9 = root(&nine).unwrap();
        assert!(verify(&r9, 9, &nine[8], &last));
        assert!(
            !verify(&r9, 10, &nine[8], &last),
            "a wrong count changes the path"
        );
        // An item made of two nodes does not hash to their parent: the domain bytes differ.
        let joined = [l[0], l[1]].concat();
        assert_ne!(leaf_hash(&joined), node_hash(&l[0], &l[1]));
    }
}
