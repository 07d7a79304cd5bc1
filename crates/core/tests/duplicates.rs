//! Near-duplicate logic: candidate pairs against the plain quadratic filter, groups against
//! a naive transitive closure, and the hash's hex form.

use std::time::Instant;

use proptest::prelude::*;
use sightline_core::duplicates::{DisjointSets, PerceptualHash, candidate_pairs, groups, hamming};

/// Every pair `i < j` within `max_distance`, in order: the oracle.
fn naive_pairs(hashes: &[PerceptualHash], max_distance: u32) -> Vec<(usize, usize)> {
    let mut pairs = Vec::new();
    for i in 0..hashes.len() {
        for j in i + 1..hashes.len() {
            if (hashes[i].0 ^ hashes[j].0).count_ones() <= max_distance {
                pairs.push((i, j));
            }
        }
    }
    pairs
}

/// Groups by reachability, computed the slow way: Warshall's transitive closure of the
/// boolean adjacency matrix.
fn naive_groups(count: usize, pairs: &[(usize, usize)]) -> Vec<Vec<usize>> {
    let mut reach = vec![vec![false; count]; count];
    for (i, row) in reach.iter_mut().enumerate() {
        row[i] = true;
    }
    for &(a, b) in pairs {
        reach[a][b] = true;
        reach[b][a] = true;
    }
    for k in 0..count {
        let via = reach[k].clone();
        for row in reach.iter_mut().filter(|row| row[k]) {
            for (r, &v) in row.iter_mut().zip(&via) {
                *r |= v;
            }
        }
    }
    let mut out: Vec<Vec<usize>> = Vec::new();
    for (i, row) in reach.iter().enumerate() {
        let members: Vec<usize> = (0..count).filter(|&j| row[j]).collect();
        // Each group once, from its smallest member.
        if members.len() >= 2 && members[0] == i {
            out.push(members);
        }
    }
    out
}

/// Hashes that cluster as real photo hashes do: a few bases, each copy with a few bits
/// flipped (uniformly random 64-bit hashes are almost never within 16 bits of each other,
/// which would test nothing).
fn clustered_hashes() -> impl Strategy<Value = Vec<PerceptualHash>> {
    (
        prop::collection::vec(any::<u64>(), 1..6),
        prop::collection::vec(
            (
                any::<prop::sample::Index>(),
                prop::collection::vec(0u32..64, 0..12),
            ),
            0..60,
        ),
    )
        .prop_map(|(bases, copies)| {
            copies
                .into_iter()
                .map(|(base, flips)| {
                    let mut h = bases[base.index(bases.len())];
                    for bit in flips {
                        h ^= 1 << bit;
                    }
                    PerceptualHash(h)
                })
                .collect()
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn candidate_pairs_equal_the_quadratic_filter(
        hashes in clustered_hashes(),
        max_distance in 0u32..=16,
    ) {
        prop_assert_eq!(candidate_pairs(&hashes, max_distance), naive_pairs(&hashes, max_distance));
    }

    #[test]
    fn candidate_pairs_of_unrelated_hashes_equal_the_quadratic_filter(
        hashes in prop::collection::vec(any::<u64>().prop_map(PerceptualHash), 0..40),
        max_distance in 0u32..=64,
    ) {
        prop_assert_eq!(candidate_pairs(&hashes, max_distance), naive_pairs(&hashes, max_distance));
    }

    #[test]
    fn groups_are_the_transitive_closure(
        (count, pairs) in (0usize..40).prop_flat_map(|n| {
            let pairs = if n == 0 {
                Just(Vec::new()).boxed()
            } else {
                prop::collection::vec((0..n, 0..n), 0..50).boxed()
            };
            (Just(n), pairs)
        }),
    ) {
        let got = groups(count, &pairs);
        prop_assert_eq!(&got, &naive_groups(count, &pairs));
        // The promised shape, spelled out.
        for g in &got {
            prop_assert!(g.len() >= 2);
            prop_assert!(g.windows(2).all(|w| w[0] < w[1]));
        }
        prop_assert!(got.windows(2).all(|w| w[0][0] < w[1][0]));
    }

    #[test]
    fn hex_round_trips(bits in any::<u64>()) {
        let hash = PerceptualHash(bits);
        let text = hash.to_string();
        prop_assert_eq!(text.len(), 16);
        prop_assert_eq!(text.parse::<PerceptualHash>().unwrap(), hash);
        prop_assert_eq!(text.to_uppercase().parse::<PerceptualHash>().unwrap(), hash);
        let json = serde_json::to_string(&hash).unwrap();
        prop_assert_eq!(&json, &format!("\"{text}\""));
        prop_assert_eq!(serde_json::from_str::<PerceptualHash>(&json).unwrap(), hash);
    }
}

#[test]
fn hex_is_imagehash_str() {
    // `str(imagehash.phash(Image.open("astronaut_ref.png")))`: the first hash bit is the
    // most significant.
    let hash: PerceptualHash = "c2924c5532bddfc8".parse().unwrap();
    assert_eq!(hash, PerceptualHash(0xc292_4c55_32bd_dfc8));
    assert_eq!(PerceptualHash(1).to_string(), "0000000000000001");
    assert_eq!(hamming(PerceptualHash(0), PerceptualHash(u64::MAX)), 64);
    assert_eq!(PerceptualHash(0b1011).distance(PerceptualHash(0b0001)), 2);
}

#[test]
fn malformed_hex_is_refused() {
    for bad in [
        "",
        "c2924c5532bddfc",
        "c2924c5532bddfc80",
        "+2924c5532bddfc8",
        "g2924c5532bddfc8",
        " 2924c5532bddfc8",
    ] {
        assert!(bad.parse::<PerceptualHash>().is_err(), "{bad:?}");
    }
    assert!(serde_json::from_str::<PerceptualHash>("12").is_err());
    assert!(serde_json::from_str::<PerceptualHash>("\"12\"").is_err());
}

/// splitmix64: reproducible pseudo-random hashes without a dependency.
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[test]
fn twenty_thousand_hashes_find_the_planted_pairs() {
    let mut state = 7;
    let mut hashes: Vec<PerceptualHash> = (0..20_000)
        .map(|_| PerceptualHash(splitmix(&mut state)))
        .collect();
    // Every 100th hash gets a copy 10 bits away (a bit every 6) at the end of the list.
    let mut planted = Vec::new();
    for i in (0..20_000).step_by(100) {
        let flipped = hashes[i].0 ^ 0x0104_1041_0410_4104;
        planted.push((i, hashes.len()));
        hashes.push(PerceptualHash(flipped));
    }
    let start = Instant::now();
    let pairs = candidate_pairs(&hashes, 10);
    println!(
        "{} hashes, max distance 10: {} pairs in {:?}",
        hashes.len(),
        pairs.len(),
        start.elapsed()
    );
    for pair in &planted {
        assert!(pairs.contains(pair), "{pair:?}");
    }
    for &(i, j) in &pairs {
        assert!(i < j && hamming(hashes[i], hashes[j]) <= 10);
    }
}

#[test]
fn disjoint_sets_join_one_pair_at_a_time() {
    let mut sets = DisjointSets::new(6);
    assert!(sets.union(4, 2));
    assert!(sets.union(2, 5));
    assert!(!sets.union(5, 4));
    assert!(sets.same(4, 5));
    assert!(!sets.same(0, 4));
    assert!(sets.union(3, 0));
    assert_eq!(sets.groups(), vec![vec![0, 3], vec![2, 4, 5]]);
    assert_eq!(groups(3, &[]), Vec::<Vec<usize>>::new());
    assert_eq!(groups(3, &[(1, 1)]), Vec::<Vec<usize>>::new());
}
