//! Near-duplicate detection without pixels: 64-bit perceptual hashes, the pairs of them
//! close in Hamming distance, and the groups that confirmed pairs join into.
//!
//! The image side (computing a hash, confirming a candidate pair by looking at both images)
//! lives with the tensors in the vision crate; here is only what must scale to a whole
//! project: finding the candidate pairs among 10,000+ hashes without comparing every pair,
//! and closing the confirmed pairs transitively into groups.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The default Hamming threshold between candidate hashes: `imagehash`'s customary
/// "similar" cut-off for 64-bit pHashes. On the fixtures a JPEG re-encode, a half-size copy
/// and a σ = 2 blur all hash 0 bits from their original, while the three different photos
/// are 30 to 36 bits apart (about the 32 two random hashes differ by), so 10 leaves wide
/// margins on both sides; the SSIM check removes the rare unrelated pair it lets through.
pub const DEFAULT_MAX_DISTANCE: u32 = 10;

/// The default SSIM (grey, 256x256, data range 1) a candidate pair needs to be confirmed.
/// On the fixtures: quality-30 JPEG re-encodes score 0.97 to 0.98 against their originals,
/// half-size copies 0.96 to 0.99, σ = 2 Gaussian blurs 0.89 to 0.91, different photos
/// 0.13 to 0.23. 0.93 makes a re-encode or a rescale of the same picture a duplicate but
/// not a visibly blurred (or otherwise degraded) version; lower it to about 0.85 to group
/// those too. Groups are transitive, though: a blurred copy still joins its original's
/// group through an in-between copy (a downscaled one, itself smoothed, scores 0.94 to
/// 0.96 against the σ = 2 blur).
pub const DEFAULT_MIN_SSIM: f64 = 0.93;

/// A 64-bit perceptual hash (the DCT pHash of Python's `imagehash.phash`).
///
/// Bit 63 (the most significant) is the first bit of the 8x8 hash read row by row, so the
/// hex form is exactly the string `str(imagehash.phash(image))` prints, and hashes stored
/// by either side compare with the other's. Serialised as that 16-hex-digit string: a JSON
/// number would lose bits above 2^53 in JavaScript.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PerceptualHash(pub u64);

impl PerceptualHash {
    /// The number of bits in which `self` and `other` differ.
    pub fn distance(self, other: PerceptualHash) -> u32 {
        hamming(self, other)
    }
}

impl fmt::Display for PerceptualHash {
    /// 16 lower-case hex digits, zero-padded (`imagehash`'s `str()`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

/// Why a string is not a [`PerceptualHash`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a perceptual hash is 16 hex digits, got `{0}`")]
pub struct ParseHashError(pub String);

impl FromStr for PerceptualHash {
    type Err = ParseHashError;

    /// Exactly 16 hex digits, either case. Shorter strings are refused rather than
    /// zero-extended: they are hashes of another size (`imagehash` with `hash_size != 8`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // `from_str_radix` alone would also take a leading `+`.
        if s.len() != 16 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ParseHashError(s.to_string()));
        }
        u64::from_str_radix(s, 16)
            .map(PerceptualHash)
            .map_err(|_| ParseHashError(s.to_string()))
    }
}

impl Serialize for PerceptualHash {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PerceptualHash {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// The Hamming distance: how many of the 64 bits differ.
pub fn hamming(a: PerceptualHash, b: PerceptualHash) -> u32 {
    (a.0 ^ b.0).count_ones()
}

/// Chunks the 64 bits are indexed by (multi-index hashing).
const CHUNKS: usize = 4;
/// Bits per chunk: a table of `2^16` buckets per chunk stays small (256 KiB of offsets).
const CHUNK_BITS: u32 = 16;
/// The largest radius searched within one chunk; above it the number of probes per chunk
/// (`sum C(16, k)`, 697 at radius 3) costs more than comparing with every hash does for
/// the project sizes Sightline sees, so [`candidate_pairs`] falls back to the plain scan.
const MAX_CHUNK_RADIUS: u32 = 2;

/// Every pair `(i, j)`, `i < j`, of `hashes` within `max_distance` bits of each other,
/// sorted.
///
/// Up to `max_distance` 11 it uses multi-index hashing (Norouzi et al.): the 64 bits are
/// cut into four 16-bit chunks, and by the pigeonhole principle two hashes within `d` bits
/// have at least one chunk within `d / 4` bits (rounded down). So each hash only looks in
/// the buckets of the chunk values within that radius (1 bucket per chunk up to `d = 3`,
/// 17 up to 7, 137 up to 11), which for hashes of unrelated photos hold almost nothing:
/// the work grows with `n` times the number of true neighbours, not with `n^2`. A pair
/// found through several chunks is kept only from the first of them, so no set is needed
/// to remove repeats. Above 11 bits (thresholds that loose match many unrelated photos
/// anyway) it compares every pair.
pub fn candidate_pairs(hashes: &[PerceptualHash], max_distance: u32) -> Vec<(usize, usize)> {
    let radius = max_distance / CHUNKS as u32;
    if radius > MAX_CHUNK_RADIUS {
        return all_pairs_within(hashes, max_distance);
    }
    let index = ChunkIndex::new(hashes);
    let probes = flip_masks(radius);
    let mut pairs = Vec::new();
    for (i, &hash) in hashes.iter().enumerate() {
        for chunk in 0..CHUNKS {
            let value = chunk_of(hash, chunk);
            for &mask in &probes {
                for &j in index.bucket(chunk, value ^ mask) {
                    let j = j as usize;
                    if j <= i {
                        continue;
                    }
                    let other = hashes[j];
                    // Only the first chunk that matches reports the pair.
                    let earlier = (0..chunk)
                        .any(|c| (chunk_of(hash, c) ^ chunk_of(other, c)).count_ones() <= radius);
                    if !earlier && hamming(hash, other) <= max_distance {
                        pairs.push((i, j));
                    }
                }
            }
        }
    }
    pairs.sort_unstable();
    pairs
}

/// The plain `O(n^2)` scan: every pair `i < j` within `max_distance`, in order.
fn all_pairs_within(hashes: &[PerceptualHash], max_distance: u32) -> Vec<(usize, usize)> {
    let mut pairs = Vec::new();
    for (i, &a) in hashes.iter().enumerate() {
        for (j, &b) in hashes.iter().enumerate().skip(i + 1) {
            if hamming(a, b) <= max_distance {
                pairs.push((i, j));
            }
        }
    }
    pairs
}

/// Chunk `chunk` (0 = the lowest 16 bits) of `hash`.
fn chunk_of(hash: PerceptualHash, chunk: usize) -> u16 {
    (hash.0 >> (chunk as u32 * CHUNK_BITS)) as u16
}

/// Every 16-bit mask of at most `radius` set bits: XOR-ed with a chunk value, the values
/// within `radius` of it.
fn flip_masks(radius: u32) -> Vec<u16> {
    (0..=u16::MAX)
        .filter(|m| m.count_ones() <= radius)
        .collect()
}

/// For each chunk, the hashes by that chunk's value, as one counting-sorted array per
/// chunk (offsets + indices) rather than 2^16 small vectors: four allocations in all.
struct ChunkIndex {
    /// Per chunk: `offsets[v]..offsets[v + 1]` is value `v`'s range of `indices`.
    offsets: Vec<Vec<u32>>,
    indices: Vec<Vec<u32>>,
}

impl ChunkIndex {
    fn new(hashes: &[PerceptualHash]) -> Self {
        let buckets = 1usize << CHUNK_BITS;
        let mut offsets = Vec::with_capacity(CHUNKS);
        let mut indices = Vec::with_capacity(CHUNKS);
        for chunk in 0..CHUNKS {
            let mut start = vec![0u32; buckets + 1];
            for &hash in hashes {
                start[usize::from(chunk_of(hash, chunk)) + 1] += 1;
            }
            for v in 0..buckets {
                start[v + 1] += start[v];
            }
            let mut next = start.clone();
            let mut order = vec![0u32; hashes.len()];
            for (i, &hash) in hashes.iter().enumerate() {
                let slot = &mut next[usize::from(chunk_of(hash, chunk))];
                order[*slot as usize] = i as u32;
                *slot += 1;
            }
            offsets.push(start);
            indices.push(order);
        }
        Self { offsets, indices }
    }

    /// The indices of the hashes whose chunk `chunk` is `value`, ascending.
    fn bucket(&self, chunk: usize, value: u16) -> &[u32] {
        let offsets = &self.offsets[chunk];
        let v = usize::from(value);
        &self.indices[chunk][offsets[v] as usize..offsets[v + 1] as usize]
    }
}

/// Disjoint sets over `0..count` (union-find with path halving and union by size), for
/// joining confirmed pairs into groups one pair at a time, e.g. to skip confirming a pair
/// already joined through others.
#[derive(Debug, Clone)]
pub struct DisjointSets {
    parent: Vec<usize>,
    size: Vec<usize>,
}

impl DisjointSets {
    /// `count` singletons.
    pub fn new(count: usize) -> Self {
        Self {
            parent: (0..count).collect(),
            size: vec![1; count],
        }
    }

    /// The representative of `x`'s set. Panics if `x` is out of range.
    pub fn find(&mut self, mut x: usize) -> usize {
        while self.parent[x] != x {
            self.parent[x] = self.parent[self.parent[x]];
            x = self.parent[x];
        }
        x
    }

    /// Joins the sets of `a` and `b`; whether they were apart.
    pub fn union(&mut self, a: usize, b: usize) -> bool {
        let (mut a, mut b) = (self.find(a), self.find(b));
        if a == b {
            return false;
        }
        if self.size[a] < self.size[b] {
            std::mem::swap(&mut a, &mut b);
        }
        self.parent[b] = a;
        self.size[a] += self.size[b];
        true
    }

    /// Whether `a` and `b` are in the same set.
    pub fn same(&mut self, a: usize, b: usize) -> bool {
        self.find(a) == self.find(b)
    }

    /// The sets of two or more members, each sorted, ordered by their smallest member.
    pub fn groups(&mut self) -> Vec<Vec<usize>> {
        let count = self.parent.len();
        // Walking 0..count in order puts each set's members in order and meets the sets
        // in the order of their smallest member.
        let mut slot = vec![usize::MAX; count];
        let mut groups: Vec<Vec<usize>> = Vec::new();
        for x in 0..count {
            let root = self.find(x);
            if self.size[root] < 2 {
                continue;
            }
            if slot[root] == usize::MAX {
                slot[root] = groups.len();
                groups.push(Vec::with_capacity(self.size[root]));
            }
            groups[slot[root]].push(x);
        }
        groups
    }
}

/// The duplicate groups of `count` images given the `confirmed` duplicate pairs: the
/// transitive closure (if a = b and b = c, all three are one group, even when a and c were
/// never compared or fell just short, so a chain of small edits stays one group), as
/// groups of two or more, each sorted, ordered by their first member. Panics if a pair
/// names an index `>= count`.
pub fn groups(count: usize, confirmed: &[(usize, usize)]) -> Vec<Vec<usize>> {
    let mut sets = DisjointSets::new(count);
    for &(a, b) in confirmed {
        sets.union(a, b);
    }
    sets.groups()
}
