//! What the user is told about where their work is kept: whether the browser promised to
//! keep the site's storage (`navigator.storage.persist()`), and how full it is.
//!
//! Without the promise a browser may delete the whole site's data under disk pressure,
//! projects included, and no server holds a second copy: the user is told plainly and
//! pointed at an export.

use crate::units::format_bytes;

/// Usage above this fraction of the quota is "nearly full": the image cache gives way
/// first, but the user is warned while there is still room to export.
pub const NEARLY_FULL_FRACTION: f64 = 0.9;

/// What the browser said about the site's storage (`None`: not asked yet, or no answer).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct StorageFacts {
    pub persisted: Option<bool>,
    pub usage_bytes: Option<u64>,
    pub quota_bytes: Option<u64>,
    /// The browser refused the last save for want of space (`QuotaExceededError`). The
    /// estimate can lag behind, or miss a full disk below the quota: the refusal decides.
    pub write_refused: bool,
}

/// How the storage stands, worst first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StorageStanding {
    /// A save was refused for want of space, or usage has reached the quota.
    Full,
    /// Usage has passed [`NEARLY_FULL_FRACTION`] of the quota.
    NearlyFull,
    /// The browser did not promise to keep the data.
    MayBeCleared,
    /// The browser promised to keep the data.
    Kept,
    /// Nothing known yet (or a browser without the Storage API).
    Unknown,
}

impl StorageFacts {
    /// The fraction of the quota in use, when both are known.
    pub fn used_fraction(&self) -> Option<f64> {
        match (self.usage_bytes, self.quota_bytes) {
            (Some(usage), Some(quota)) if quota > 0 => Some(usage as f64 / quota as f64),
            _ => None,
        }
    }

    pub fn standing(&self) -> StorageStanding {
        if self.write_refused {
            return StorageStanding::Full;
        }
        match self.used_fraction() {
            Some(used) if used >= 1.0 => return StorageStanding::Full,
            Some(used) if used >= NEARLY_FULL_FRACTION => return StorageStanding::NearlyFull,
            _ => {}
        }
        match self.persisted {
            Some(true) => StorageStanding::Kept,
            Some(false) => StorageStanding::MayBeCleared,
            None => StorageStanding::Unknown,
        }
    }

    /// A few words for the status bar.
    pub fn label(&self) -> String {
        let usage = self.usage_text();
        let standing = match self.standing() {
            StorageStanding::Full => "storage full",
            StorageStanding::NearlyFull => "storage nearly full",
            StorageStanding::MayBeCleared => "storage may be cleared",
            StorageStanding::Kept => "storage kept",
            StorageStanding::Unknown => "storage",
        };
        match usage {
            Some(usage) => format!("{standing} · {usage}"),
            None => standing.to_owned(),
        }
    }

    /// What the standing means and what to do, for the tooltip and the settings.
    pub fn advice(&self) -> &'static str {
        match self.standing() {
            StorageStanding::Full => {
                "This site's storage is full. Cached images were dropped to make room; new \
                 edits stay in this tab and are saved as soon as there is room again (keep \
                 the tab open). Export your projects, delete ones you no longer need, or free \
                 disk space."
            }
            StorageStanding::NearlyFull => {
                "This site's storage is nearly full. Cached images are dropped first; \
                 annotations, original images and models are never dropped by Sightline, \
                 but new ones may fail to save. Export your projects, delete ones you no \
                 longer need, or free disk space."
            }
            StorageStanding::MayBeCleared => {
                "The browser did not promise to keep this site's data: under disk pressure \
                 it may delete it, projects included, and no server holds a copy. Export \
                 your projects to keep one (installing the app or bookmarking it makes the \
                 browser more likely to agree when asked again)."
            }
            StorageStanding::Kept => {
                "The browser promised to keep this site's data: it is not deleted under \
                 disk pressure, only when you clear it yourself."
            }
            StorageStanding::Unknown => {
                "The browser has not said whether it keeps this site's data."
            }
        }
    }

    fn usage_text(&self) -> Option<String> {
        let usage = self.usage_bytes?;
        Some(match self.quota_bytes {
            Some(quota) => format!("{} of {}", format_bytes(usage), format_bytes(quota)),
            None => format_bytes(usage),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MB: u64 = 1024 * 1024;

    #[test]
    fn a_granted_site_says_kept_with_its_usage() {
        let facts = StorageFacts {
            persisted: Some(true),
            usage_bytes: Some(12 * MB),
            quota_bytes: Some(2048 * MB),
            write_refused: false,
        };
        assert_eq!(facts.standing(), StorageStanding::Kept);
        assert_eq!(facts.label(), "storage kept · 12 MB of 2.0 GB");
    }

    #[test]
    fn a_refused_site_is_told_to_export() {
        let facts = StorageFacts {
            persisted: Some(false),
            ..StorageFacts::default()
        };
        assert_eq!(facts.label(), "storage may be cleared");
        assert!(facts.advice().contains("Export your projects"));
    }

    #[test]
    fn nearly_full_wins_over_the_promise() {
        let facts = StorageFacts {
            persisted: Some(true),
            usage_bytes: Some(95 * MB),
            quota_bytes: Some(100 * MB),
            write_refused: false,
        };
        assert_eq!(facts.standing(), StorageStanding::NearlyFull);
        assert!(facts.label().starts_with("storage nearly full"));
        let below = StorageFacts {
            usage_bytes: Some(89 * MB),
            ..facts
        };
        assert_eq!(below.standing(), StorageStanding::Kept);
    }

    #[test]
    fn at_or_over_the_quota_is_full_and_says_edits_wait_in_the_tab() {
        let at = StorageFacts {
            persisted: Some(false),
            usage_bytes: Some(100 * MB),
            quota_bytes: Some(100 * MB),
            write_refused: false,
        };
        assert_eq!(at.standing(), StorageStanding::Full);
        assert_eq!(at.label(), "storage full · 100 MB of 100 MB");
        assert!(at.advice().contains("stay in this tab"));
        let over = StorageFacts {
            quota_bytes: Some(1),
            ..at
        };
        assert_eq!(over.standing(), StorageStanding::Full);
        let just_below = StorageFacts {
            usage_bytes: Some(100 * MB - 1),
            ..at
        };
        assert_eq!(just_below.standing(), StorageStanding::NearlyFull);
    }

    #[test]
    fn a_refused_save_is_full_whatever_the_estimate_says() {
        let facts = StorageFacts {
            persisted: Some(true),
            usage_bytes: Some(60 * MB),
            quota_bytes: Some(10_000 * MB),
            write_refused: true,
        };
        assert_eq!(facts.standing(), StorageStanding::Full);
        assert!(facts.label().starts_with("storage full · "));
        let saved_again = StorageFacts {
            write_refused: false,
            ..facts
        };
        assert_eq!(saved_again.standing(), StorageStanding::Kept);
    }

    #[test]
    fn no_answer_is_unknown_and_a_zero_quota_is_no_fraction() {
        let facts = StorageFacts {
            usage_bytes: Some(0),
            quota_bytes: Some(0),
            ..StorageFacts::default()
        };
        assert_eq!(facts.used_fraction(), None);
        assert_eq!(facts.standing(), StorageStanding::Unknown);
    }
}
