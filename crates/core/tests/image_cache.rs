//! The two-tier cache policy against a naive reference LRU (two `Vec`s in recency order):
//! random sequences of every operation must return exactly the actions the reference
//! returns, keep each tier within its budget, and leave the glue's view (the actions applied
//! to a set per tier) equal to the policy's.

use std::collections::HashSet;

use proptest::prelude::*;
use sightline_core::image_cache::{
    CacheAction, CacheBudgets, CacheStats, Lookup, TierStats, TieredLru,
};

type Key = u8;

/// The reference: memory and store entries, least recent first, found by linear search.
#[derive(Debug, Default)]
struct Reference {
    budgets: Option<CacheBudgets>,
    /// (key, memory bytes, store bytes)
    memory: Vec<(Key, u64, u64)>,
    /// (key, store bytes)
    store: Vec<(Key, u64)>,
    stats: CacheStats,
}

impl Reference {
    fn new(budgets: CacheBudgets) -> Self {
        Self {
            budgets: Some(budgets),
            ..Self::default()
        }
    }

    fn budgets(&self) -> CacheBudgets {
        self.budgets.expect("set in new")
    }

    fn memory_bytes(&self) -> u64 {
        self.memory.iter().map(|e| e.1).sum()
    }

    fn store_bytes(&self) -> u64 {
        self.store.iter().map(|e| e.1).sum()
    }

    fn stored(&self, key: Key) -> Option<usize> {
        self.store.iter().position(|e| e.0 == key)
    }

    fn lookup(&mut self, key: Key) -> Lookup {
        if let Some(i) = self.memory.iter().position(|e| e.0 == key) {
            let entry = self.memory.remove(i);
            self.memory.push(entry);
            self.stats.memory.hits += 1;
            return Lookup::Memory;
        }
        self.stats.memory.misses += 1;
        if let Some(i) = self.stored(key) {
            let entry = self.store.remove(i);
            self.store.push(entry);
            self.stats.store.hits += 1;
            Lookup::Store
        } else {
            self.stats.store.misses += 1;
            Lookup::Miss
        }
    }

    fn fits_store(&self, bytes: u64) -> bool {
        let budget = self.budgets().store_bytes;
        budget > 0 && bytes <= budget
    }

    fn evict_first_stored(&mut self, out: &mut Vec<CacheAction<Key>>) -> u64 {
        let (key, bytes) = self.store.remove(0);
        self.stats.store.evictions += 1;
        out.push(CacheAction::Evict(key));
        bytes
    }

    fn leave_memory(&mut self, key: Key, store_bytes: u64, out: &mut Vec<CacheAction<Key>>) {
        self.stats.memory.evictions += 1;
        if self.stored(key).is_some() || !self.fits_store(store_bytes) {
            out.push(CacheAction::Drop(key));
            return;
        }
        while self.store_bytes() + store_bytes > self.budgets().store_bytes {
            self.evict_first_stored(out);
        }
        out.push(CacheAction::Demote(key));
        self.store.push((key, store_bytes));
    }

    fn shrink_memory(&mut self, out: &mut Vec<CacheAction<Key>>) {
        while self.memory_bytes() > self.budgets().memory_bytes {
            let (key, _, store_bytes) = self.memory.remove(0);
            self.leave_memory(key, store_bytes, out);
        }
    }

    fn insert(&mut self, key: Key, memory_bytes: u64, store_bytes: u64) -> Vec<CacheAction<Key>> {
        let mut out = Vec::new();
        self.memory.retain(|e| e.0 != key);
        if memory_bytes > self.budgets().memory_bytes {
            self.leave_memory(key, store_bytes, &mut out);
        } else {
            self.memory.push((key, memory_bytes, store_bytes));
            self.shrink_memory(&mut out);
        }
        out
    }

    fn record_stored(&mut self, key: Key, store_bytes: u64) -> Vec<CacheAction<Key>> {
        let mut out = Vec::new();
        self.store.retain(|e| e.0 != key);
        if !self.fits_store(store_bytes) {
            self.stats.store.evictions += 1;
            out.push(CacheAction::Evict(key));
            return out;
        }
        self.store.push((key, store_bytes));
        while self.store_bytes() > self.budgets().store_bytes {
            self.evict_first_stored(&mut out);
        }
        out
    }

    fn make_room_in_store(&mut self, bytes: u64) -> Vec<CacheAction<Key>> {
        let mut out = Vec::new();
        let mut freed = 0;
        while freed < bytes && !self.store.is_empty() {
            freed += self.evict_first_stored(&mut out);
        }
        out
    }

    fn set_budgets(&mut self, budgets: CacheBudgets) -> Vec<CacheAction<Key>> {
        let mut out = Vec::new();
        self.budgets = Some(budgets);
        while self.store_bytes() > budgets.store_bytes {
            self.evict_first_stored(&mut out);
        }
        self.shrink_memory(&mut out);
        out
    }

    fn stats(&self) -> CacheStats {
        let budgets = self.budgets();
        CacheStats {
            memory: TierStats {
                entries: self.memory.len(),
                resident_bytes: self.memory_bytes(),
                budget_bytes: budgets.memory_bytes,
                ..self.stats.memory
            },
            store: TierStats {
                entries: self.store.len(),
                resident_bytes: self.store_bytes(),
                budget_bytes: budgets.store_bytes,
                ..self.stats.store
            },
        }
    }
}

/// What the glue holds, built only from the actions it was told to do.
#[derive(Debug, Default)]
struct Glue {
    memory: HashSet<Key>,
    store: HashSet<Key>,
}

impl Glue {
    fn apply(&mut self, actions: &[CacheAction<Key>]) -> Result<(), TestCaseError> {
        for action in actions {
            match action {
                CacheAction::Demote(key) => {
                    prop_assert!(self.memory.remove(key), "Demote of {key} not in memory");
                    prop_assert!(self.store.insert(*key), "Demote of {key} already stored");
                }
                CacheAction::Drop(key) => {
                    prop_assert!(self.memory.remove(key), "Drop of {key} not in memory");
                }
                CacheAction::Evict(key) => {
                    prop_assert!(self.store.remove(key), "Evict of {key} not stored");
                }
            }
        }
        Ok(())
    }
}

#[derive(Clone, Debug)]
enum Op {
    Lookup(Key),
    Insert(Key, u64, u64),
    RestoreStored(Key, u64),
    MakeRoom(u64),
    ForgetStored(Key),
    SetBudgets(CacheBudgets),
}

fn budgets() -> impl Strategy<Value = CacheBudgets> {
    (0u64..=160, 0u64..=200).prop_map(|(memory_bytes, store_bytes)| CacheBudgets {
        memory_bytes,
        store_bytes,
    })
}

fn op() -> impl Strategy<Value = Op> {
    let key = 0u8..12;
    prop_oneof![
        6 => key.clone().prop_map(Op::Lookup),
        6 => (key.clone(), 0u64..=60, 0u64..=40).prop_map(|(k, m, s)| Op::Insert(k, m, s)),
        1 => (key.clone(), 0u64..=40).prop_map(|(k, s)| Op::RestoreStored(k, s)),
        1 => (0u64..=80).prop_map(Op::MakeRoom),
        1 => key.prop_map(Op::ForgetStored),
        1 => budgets().prop_map(Op::SetBudgets),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn policy_matches_the_reference_lru_and_holds_its_budgets(
        initial in budgets(),
        ops in prop::collection::vec(op(), 1..120),
    ) {
        let mut cache = TieredLru::new(initial);
        let mut reference = Reference::new(initial);
        let mut glue = Glue::default();
        for op in ops {
            let actions = match op.clone() {
                Op::Lookup(key) => {
                    prop_assert_eq!(cache.lookup(&key), reference.lookup(key), "{:?}", op);
                    Vec::new()
                }
                Op::Insert(key, memory, store) => {
                    glue.memory.insert(key);
                    let actions = cache.insert(key, memory, store);
                    prop_assert_eq!(&actions, &reference.insert(key, memory, store), "{:?}", op);
                    actions
                }
                Op::RestoreStored(key, store) => {
                    glue.store.insert(key);
                    let actions = cache.record_stored(key, store);
                    prop_assert_eq!(&actions, &reference.record_stored(key, store), "{:?}", op);
                    actions
                }
                Op::MakeRoom(bytes) => {
                    let actions = cache.make_room_in_store(bytes);
                    prop_assert_eq!(&actions, &reference.make_room_in_store(bytes), "{:?}", op);
                    actions
                }
                Op::ForgetStored(key) => {
                    glue.store.remove(&key);
                    cache.forget_stored(&key);
                    reference.store.retain(|e| e.0 != key);
                    Vec::new()
                }
                Op::SetBudgets(budgets) => {
                    let actions = cache.set_budgets(budgets);
                    prop_assert_eq!(&actions, &reference.set_budgets(budgets), "{:?}", op);
                    prop_assert_eq!(cache.budgets(), budgets);
                    actions
                }
            };
            glue.apply(&actions)?;

            let stats = cache.stats();
            prop_assert_eq!(stats, reference.stats(), "after {:?}", op);
            prop_assert!(stats.memory.resident_bytes <= stats.memory.budget_bytes);
            prop_assert!(stats.store.resident_bytes <= stats.store.budget_bytes);
            for key in 0..12 {
                prop_assert_eq!(cache.in_memory(&key), glue.memory.contains(&key), "memory {}", key);
                prop_assert_eq!(cache.in_store(&key), glue.store.contains(&key), "store {}", key);
            }
            let stored: Vec<Key> = reference.store.iter().map(|e| e.0).collect();
            prop_assert_eq!(cache.stored_keys(), stored);
        }
    }
}

const MB: u64 = 1 << 20;

fn cache(memory_mb: u64, store_mb: u64) -> TieredLru<&'static str> {
    TieredLru::new(CacheBudgets {
        memory_bytes: memory_mb * MB,
        store_bytes: store_mb * MB,
    })
}

#[test]
fn the_least_recent_bitmap_is_demoted_when_memory_is_full() {
    let mut cache = cache(10, 100);
    assert!(cache.insert("a", 4 * MB, MB).is_empty());
    assert!(cache.insert("b", 4 * MB, MB).is_empty());
    // Using `a` makes `b` the least recent.
    assert_eq!(cache.lookup(&"a"), Lookup::Memory);
    assert_eq!(
        cache.insert("c", 4 * MB, MB),
        vec![CacheAction::Demote("b")]
    );
    assert!(cache.in_store(&"b") && !cache.in_memory(&"b"));
    let stats = cache.stats();
    assert_eq!(stats.memory.resident_bytes, 8 * MB);
    assert_eq!(stats.memory.evictions, 1);
    assert_eq!((stats.store.entries, stats.store.resident_bytes), (1, MB));
}

#[test]
fn a_promoted_entry_keeps_its_stored_copy_and_is_dropped_not_written_again() {
    let mut cache = cache(4, 100);
    cache.insert("a", 4 * MB, MB);
    assert_eq!(
        cache.insert("b", 4 * MB, MB),
        vec![CacheAction::Demote("a")]
    );
    assert_eq!(cache.lookup(&"a"), Lookup::Store);
    // Promotion: `a` is decoded from its level and inserted; `b` goes to tier 2.
    assert_eq!(
        cache.insert("a", 4 * MB, MB),
        vec![CacheAction::Demote("b")]
    );
    assert!(cache.in_memory(&"a") && cache.in_store(&"a"));
    // `a` is stored already: leaving memory writes nothing.
    assert_eq!(cache.insert("c", 4 * MB, MB), vec![CacheAction::Drop("a")]);
    let stats = cache.stats();
    assert_eq!(stats.store.hit_rate(), Some(1.0));
    assert_eq!(stats.memory.hit_rate(), Some(0.0));
    assert_eq!(cache.stored_keys(), vec!["a", "b"]);
}

#[test]
fn an_entry_bigger_than_memory_leaves_at_once_without_pushing_others_out() {
    let mut cache = cache(10, 100);
    cache.insert("small", 2 * MB, MB);
    assert_eq!(
        cache.insert("huge", 11 * MB, 3 * MB),
        vec![CacheAction::Demote("huge")]
    );
    assert!(cache.in_memory(&"small"));
    assert!(!cache.in_memory(&"huge") && cache.in_store(&"huge"));
    // Too big for tier 2 as well: dropped.
    assert_eq!(
        cache.insert("vast", 11 * MB, 101 * MB),
        vec![CacheAction::Drop("vast")]
    );
    assert!(!cache.in_store(&"vast"));
}

#[test]
fn a_quota_error_evicts_the_least_recent_stored_levels_until_enough_is_free() {
    let mut cache = cache(100, 100);
    for key in ["a", "b", "c", "d"] {
        assert!(cache.record_stored(key, 3 * MB).is_empty());
    }
    assert_eq!(cache.lookup(&"a"), Lookup::Store);
    assert_eq!(
        cache.make_room_in_store(5 * MB),
        vec![CacheAction::Evict("b"), CacheAction::Evict("c")]
    );
    assert_eq!(cache.stored_keys(), vec!["d", "a"]);
    assert_eq!(cache.stats().store.evictions, 2);
    assert_eq!(cache.make_room_in_store(100 * MB).len(), 2);
    assert!(cache.stored_keys().is_empty());
}

#[test]
fn a_zero_store_budget_turns_tier_two_off() {
    let mut cache = cache(4, 0);
    cache.insert("a", 4 * MB, 0);
    assert_eq!(cache.insert("b", 4 * MB, 0), vec![CacheAction::Drop("a")]);
    assert_eq!(cache.stats().store.entries, 0);
}

#[test]
fn smaller_budgets_evict_then_demote_down_to_them() {
    let mut cache = cache(10, 10);
    cache.record_stored("old", 4 * MB);
    cache.record_stored("older", 4 * MB);
    cache.insert("a", 5 * MB, 2 * MB);
    cache.insert("b", 5 * MB, 2 * MB);
    let actions = cache.set_budgets(CacheBudgets {
        memory_bytes: 5 * MB,
        store_bytes: 6 * MB,
    });
    assert_eq!(
        actions,
        vec![CacheAction::Evict("old"), CacheAction::Demote("a"),]
    );
    assert_eq!(cache.stored_keys(), vec!["older", "a"]);
}

#[test]
fn levels_fit_the_side_keep_the_aspect_and_never_enlarge() {
    use sightline_core::image_cache::level_size;
    assert_eq!(level_size(4000, 3000, 2048), (2048, 1536));
    assert_eq!(level_size(3000, 4000, 2048), (1536, 2048));
    assert_eq!(
        level_size(640, 480, 2048),
        (640, 480),
        "small images stay as they are"
    );
    assert_eq!(level_size(2048, 10, 2048), (2048, 10));
    assert_eq!(level_size(100_000, 1, 2048), (2048, 1), "never empty");
    assert_eq!(level_size(0, 0, 2048), (1, 1));
}

#[test]
fn a_level_is_as_large_as_the_screen_in_device_pixels() {
    use sightline_core::image_cache::display_level_side;
    assert_eq!(display_level_side(1280.0, 1.0), 1280);
    assert_eq!(
        display_level_side(1920.0, 1.0),
        2048,
        "rounded up to a multiple of 256"
    );
    assert_eq!(display_level_side(1440.0, 2.0), 3072);
    assert_eq!(display_level_side(2560.0, 2.0), 4096, "at most 4096");
    assert_eq!(display_level_side(640.0, 1.0), 1024, "at least 1024");
    assert_eq!(display_level_side(f64::NAN, 1.0), 1024);
}
