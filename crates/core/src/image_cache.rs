//! The policy of the two-tier decoded-image cache: which images stay decoded in memory,
//! which move to (or leave) the stored tier, and the figures the performance panel shows.
//!
//! It holds keys and byte sizes only — no pixels and no I/O — so the rules are exact and
//! property-tested natively while the browser glue does what the returned [`CacheAction`]s
//! say. Tier 1 holds decoded bitmaps in memory; tier 2 holds a stored level of them
//! (IndexedDB). Both are exact LRUs with byte budgets. Tier 2 is *inclusive*: a tier-2 hit
//! promoted back to memory keeps its stored copy, so demoting it again writes nothing
//! ([`CacheAction::Drop`] instead of [`CacheAction::Demote`]).

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;

use serde::{Deserialize, Serialize};

/// The byte budget of each tier; resident bytes never exceed them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheBudgets {
    /// Tier 1: decoded bitmaps, counted as width × height × 4.
    pub memory_bytes: u64,
    /// Tier 2: stored levels. Zero turns tier 2 off.
    pub store_bytes: u64,
}

/// The side of a tier-2 level for a screen whose longer side is `screen_side` CSS pixels at
/// `device_pixel_ratio`: the screen's device pixels, so a level fills the screen at full
/// quality while being as small as that allows (reading and decoding it is what a tier-2
/// hit costs), rounded up to a multiple of 256 and kept within 1024..=4096.
pub fn display_level_side(screen_side: f64, device_pixel_ratio: f64) -> u32 {
    let pixels = screen_side * device_pixel_ratio;
    let pixels = if pixels.is_finite() { pixels } else { 0.0 };
    let rounded = (pixels / 256.0).ceil() * 256.0;
    rounded.clamp(1024.0, 4096.0) as u32
}

/// The size of an image of `width`×`height` fitted into a square of `side` (a tier-2
/// level), never enlarged and never empty.
pub fn level_size(width: u32, height: u32, side: u32) -> (u32, u32) {
    let longest = width.max(height).max(1);
    if longest <= side {
        return (width.max(1), height.max(1));
    }
    let scale = f64::from(side) / f64::from(longest);
    (
        ((f64::from(width) * scale).round() as u32).max(1),
        ((f64::from(height) * scale).round() as u32).max(1),
    )
}

/// Where a lookup found a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// Decoded in memory: use it.
    Memory,
    /// Not in memory but stored: read tier 2, then [`TieredLru::insert`] it (promotion).
    Store,
    /// In neither tier: decode the original.
    Miss,
}

/// What the platform glue must do, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CacheAction<K> {
    /// Write K's level to tier 2 from its memory copy, then drop the memory copy.
    Demote(K),
    /// Drop K's memory copy (tier 2 holds it already, or it cannot fit there).
    Drop(K),
    /// Delete K's tier-2 copy.
    Evict(K),
}

/// The figures of one tier.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TierStats {
    /// Lookups this tier answered.
    pub hits: u64,
    /// Lookups that reached this tier and did not find the key.
    pub misses: u64,
    /// Entries that left: for memory every Demote and Drop, for the store every Evict.
    pub evictions: u64,
    /// Entries resident now.
    pub entries: usize,
    /// Bytes resident now (never above `budget_bytes`).
    pub resident_bytes: u64,
    /// The tier's budget.
    pub budget_bytes: u64,
}

impl TierStats {
    /// Hits over lookups; `None` before the first lookup reached this tier.
    pub fn hit_rate(&self) -> Option<f64> {
        let lookups = self.hits + self.misses;
        (lookups > 0).then(|| self.hits as f64 / lookups as f64)
    }
}

/// The figures of both tiers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CacheStats {
    /// Tier 1, decoded bitmaps in memory.
    pub memory: TierStats,
    /// Tier 2, stored levels.
    pub store: TierStats,
}

/// The bytes an entry of a tier counts against the tier's budget.
trait Resident {
    fn bytes(&self) -> u64;
}

/// One exact LRU tier: entries by key, and keys by the tick of their last use so the least
/// recent is found in O(log n).
#[derive(Debug)]
struct Tier<K, V> {
    entries: HashMap<K, (u64, V)>,
    order: BTreeMap<u64, K>,
    resident_bytes: u64,
    budget_bytes: u64,
    hits: u64,
    misses: u64,
    evictions: u64,
}

impl<K: Clone + Eq + Hash, V: Resident> Tier<K, V> {
    fn new(budget_bytes: u64) -> Self {
        Self {
            entries: HashMap::new(),
            order: BTreeMap::new(),
            resident_bytes: 0,
            budget_bytes,
            hits: 0,
            misses: 0,
            evictions: 0,
        }
    }

    fn contains(&self, key: &K) -> bool {
        self.entries.contains_key(key)
    }

    /// Makes `key` the most recent.
    fn touch(&mut self, key: &K, tick: u64) {
        if let Some((old, _)) = self.entries.get_mut(key) {
            self.order.remove(old);
            *old = tick;
            self.order.insert(tick, key.clone());
        }
    }

    /// Adds or replaces `key` as the most recent with `bytes` resident.
    fn put(&mut self, key: K, value: V, tick: u64) {
        self.remove(&key);
        self.resident_bytes += value.bytes();
        self.order.insert(tick, key.clone());
        self.entries.insert(key, (tick, value));
    }

    fn remove(&mut self, key: &K) -> Option<V> {
        let (tick, value) = self.entries.remove(key)?;
        self.order.remove(&tick);
        self.resident_bytes -= value.bytes();
        Some(value)
    }

    fn least_recent(&self) -> Option<K> {
        self.order.values().next().cloned()
    }

    fn stats(&self) -> TierStats {
        TierStats {
            hits: self.hits,
            misses: self.misses,
            evictions: self.evictions,
            entries: self.entries.len(),
            resident_bytes: self.resident_bytes,
            budget_bytes: self.budget_bytes,
        }
    }
}

/// The sizes of a memory entry: its bitmap and the tier-2 level it would be demoted to.
#[derive(Clone, Copy, Debug)]
struct Sizes {
    memory_bytes: u64,
    store_bytes: u64,
}

/// The two-tier exact LRU policy over keys `K` (content keys in the app).
#[derive(Debug)]
pub struct TieredLru<K> {
    memory: Tier<K, Sizes>,
    store: Tier<K, u64>,
    /// A logical clock: each use takes the next tick, so recency is a total order.
    tick: u64,
}

impl Resident for Sizes {
    fn bytes(&self) -> u64 {
        self.memory_bytes
    }
}

/// A tier-2 entry is its level's size.
impl Resident for u64 {
    fn bytes(&self) -> u64 {
        *self
    }
}

impl<K: Clone + Eq + Hash> TieredLru<K> {
    /// An empty cache with these budgets.
    pub fn new(budgets: CacheBudgets) -> Self {
        Self {
            memory: Tier::new(budgets.memory_bytes),
            store: Tier::new(budgets.store_bytes),
            tick: 0,
        }
    }

    /// The budgets in force.
    pub fn budgets(&self) -> CacheBudgets {
        CacheBudgets {
            memory_bytes: self.memory.budget_bytes,
            store_bytes: self.store.budget_bytes,
        }
    }

    fn next_tick(&mut self) -> u64 {
        self.tick += 1;
        self.tick
    }

    /// Memory hit: refreshes memory recency. Store hit (not in memory): refreshes store
    /// recency; the glue then reads tier 2 and calls [`insert`](Self::insert) (promotion).
    /// Counts memory hits and misses on every call, store hits and misses only on memory
    /// misses.
    pub fn lookup(&mut self, key: &K) -> Lookup {
        let tick = self.next_tick();
        if self.memory.contains(key) {
            self.memory.hits += 1;
            self.memory.touch(key, tick);
            return Lookup::Memory;
        }
        self.memory.misses += 1;
        if self.store.contains(key) {
            self.store.hits += 1;
            self.store.touch(key, tick);
            Lookup::Store
        } else {
            self.store.misses += 1;
            Lookup::Miss
        }
    }

    /// Puts (or refreshes) `key` in memory as the most recent, with the byte sizes of its
    /// decoded bitmap (`memory_bytes`, width × height × 4) and of its tier-2 level
    /// (`store_bytes`). Over the memory budget, the least recent entries leave: demoted when
    /// not stored and their level fits tier 2 (entering it as most recent, evicting tier-2
    /// entries as needed), else dropped. An entry bigger than the whole memory budget leaves
    /// at once the same way, without pushing the others out: the glue still shows it, it
    /// just is not kept decoded.
    pub fn insert(&mut self, key: K, memory_bytes: u64, store_bytes: u64) -> Vec<CacheAction<K>> {
        let mut actions = Vec::new();
        let tick = self.next_tick();
        self.memory.remove(&key);
        let sizes = Sizes {
            memory_bytes,
            store_bytes,
        };
        if memory_bytes > self.memory.budget_bytes {
            self.memory.evictions += 1;
            self.leave_memory(key, sizes, &mut actions);
            return actions;
        }
        self.memory.put(key, sizes, tick);
        self.shrink_memory(&mut actions);
        actions
    }

    /// Records that tier 2 holds `key`'s level of `store_bytes`, as the most recent entry
    /// there, evicting older ones as needed: an entry found at start-up (call oldest first),
    /// or a demoted level once written, when its real size replaces the upper bound it was
    /// demoted with. One bigger than the whole store budget is evicted itself.
    pub fn record_stored(&mut self, key: K, store_bytes: u64) -> Vec<CacheAction<K>> {
        let mut actions = Vec::new();
        self.store.remove(&key);
        if !self.fits_store(store_bytes) {
            self.store.evictions += 1;
            actions.push(CacheAction::Evict(key));
            return actions;
        }
        let tick = self.next_tick();
        self.store.put(key, store_bytes, tick);
        self.shrink_store(self.store.budget_bytes, &mut actions);
        actions
    }

    /// Answers a quota error: evicts the least recent tier-2 entries until at least `bytes`
    /// are freed or tier 2 is empty.
    pub fn make_room_in_store(&mut self, bytes: u64) -> Vec<CacheAction<K>> {
        let mut actions = Vec::new();
        let mut freed = 0;
        while freed < bytes {
            let Some(size) = self.evict_least_recent_stored(&mut actions) else {
                break;
            };
            freed += size;
        }
        actions
    }

    /// Tier 2's copy of `key` turned out missing or unreadable: forgets it (nothing for the
    /// glue to do).
    pub fn forget_stored(&mut self, key: &K) {
        self.store.remove(key);
    }

    /// New budgets (settings): evicts from tier 2, then demotes or drops from memory, down to
    /// them.
    pub fn set_budgets(&mut self, budgets: CacheBudgets) -> Vec<CacheAction<K>> {
        let mut actions = Vec::new();
        self.memory.budget_bytes = budgets.memory_bytes;
        self.store.budget_bytes = budgets.store_bytes;
        self.shrink_store(budgets.store_bytes, &mut actions);
        self.shrink_memory(&mut actions);
        actions
    }

    /// The figures of both tiers.
    pub fn stats(&self) -> CacheStats {
        CacheStats {
            memory: self.memory.stats(),
            store: self.store.stats(),
        }
    }

    /// Whether `key` is decoded in memory.
    pub fn in_memory(&self, key: &K) -> bool {
        self.memory.contains(key)
    }

    /// Whether `key` has a tier-2 copy.
    pub fn in_store(&self, key: &K) -> bool {
        self.store.contains(key)
    }

    /// The keys of tier 2, least recent first (the order [`record_stored`](Self::record_stored)
    /// rebuilds; the browser glue keeps it as each level's last use).
    pub fn stored_keys(&self) -> Vec<K> {
        self.store.order.values().cloned().collect()
    }

    /// A level fits tier 2 when tier 2 is on and the level is within its budget.
    fn fits_store(&self, store_bytes: u64) -> bool {
        self.store.budget_bytes > 0 && store_bytes <= self.store.budget_bytes
    }

    /// Moves least recent memory entries out until memory is within its budget.
    fn shrink_memory(&mut self, actions: &mut Vec<CacheAction<K>>) {
        while self.memory.resident_bytes > self.memory.budget_bytes {
            let Some(key) = self.memory.least_recent() else {
                break;
            };
            let Some(sizes) = self.memory.remove(&key) else {
                break;
            };
            self.memory.evictions += 1;
            self.leave_memory(key, sizes, actions);
        }
    }

    /// `key` has left memory: demote it when it is not stored yet and fits, else drop it.
    /// Room in tier 2 is made before the write, so the evictions come first.
    fn leave_memory(&mut self, key: K, sizes: Sizes, actions: &mut Vec<CacheAction<K>>) {
        if self.store.contains(&key) || !self.fits_store(sizes.store_bytes) {
            actions.push(CacheAction::Drop(key));
            return;
        }
        let budget = self.store.budget_bytes - sizes.store_bytes;
        self.shrink_store(budget, actions);
        actions.push(CacheAction::Demote(key.clone()));
        let tick = self.next_tick();
        self.store.put(key, sizes.store_bytes, tick);
    }

    /// Evicts least recent tier-2 entries until at most `target` bytes are resident.
    fn shrink_store(&mut self, target: u64, actions: &mut Vec<CacheAction<K>>) {
        while self.store.resident_bytes > target {
            if self.evict_least_recent_stored(actions).is_none() {
                break;
            }
        }
    }

    /// Evicts the least recent tier-2 entry; its size, or `None` when tier 2 is empty.
    fn evict_least_recent_stored(&mut self, actions: &mut Vec<CacheAction<K>>) -> Option<u64> {
        let key = self.store.least_recent()?;
        let size = self.store.remove(&key)?;
        self.store.evictions += 1;
        actions.push(CacheAction::Evict(key));
        Some(size)
    }
}
