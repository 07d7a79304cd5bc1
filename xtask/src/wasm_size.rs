//! The size of the built wasm: the app shell has a budget, the worker is only reported.
//!
//! The app wasm is what every visitor downloads before the first screen; the worker (burn)
//! loads only when AI is first used, so it has no budget.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use flate2::Compression;
use flate2::write::GzEncoder;

/// The app shell's budget: the gzip size (at [`GZIP_LEVEL`]) of the app wasm, in bytes
/// (1 MB, decimal).
pub const APP_WASM_GZIP_BUDGET: u64 = 1_000_000;
/// gzip level the sizes are measured at: 9, the best (and what static pre-compression uses).
pub const GZIP_LEVEL: u32 = 9;
/// Trunk's names for the two wasm files (`data-bin` in index.html).
const APP_BIN: &str = "app";
const WORKER_BIN: &str = "worker";

/// Raw and gzip size of one file, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sizes {
    pub raw: u64,
    pub gzip: u64,
}

/// The gzip size of `bytes` at [`GZIP_LEVEL`].
pub fn gzip_len(bytes: &[u8]) -> u64 {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::new(GZIP_LEVEL));
    // Writing into a Vec cannot fail.
    let compressed = encoder
        .write_all(bytes)
        .and_then(|()| encoder.finish())
        .unwrap_or_default();
    compressed.len() as u64
}

pub fn measure(path: &Path) -> Result<Sizes, String> {
    let bytes = std::fs::read(path).map_err(|err| format!("{}: {err}", path.display()))?;
    Ok(Sizes {
        raw: bytes.len() as u64,
        gzip: gzip_len(&bytes),
    })
}

/// Ok when `gzip` fits in `budget`, else the message the build fails (or serve warns) with.
pub fn check_budget(gzip: u64, budget: u64) -> Result<(), String> {
    if gzip <= budget {
        return Ok(());
    }
    Err(format!(
        "the app wasm is {} B gzip (level {GZIP_LEVEL}), {} B over its budget of {} B \
         (APP_WASM_GZIP_BUDGET in xtask/src/wasm_size.rs): keep what the first screen does \
         not need out of the app (crates/web), e.g. in the worker",
        thousands(gzip),
        thousands(gzip - budget),
        thousands(budget),
    ))
}

/// The wasm Trunk wrote for `bin` into `dist`: `<bin>-<hex hash>_bg.wasm` (or `<bin>_bg.wasm`
/// without file hashes); the newest when several are there.
pub fn find_wasm(dist: &Path, bin: &str) -> Result<PathBuf, String> {
    let entries = std::fs::read_dir(dist).map_err(|err| format!("{}: {err}", dist.display()))?;
    let hashed = format!("{bin}-");
    let plain = format!("{bin}_bg.wasm");
    entries
        .filter_map(Result::ok)
        .filter(|entry| {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            name == plain
                || (name.starts_with(&hashed)
                    && name.ends_with("_bg.wasm")
                    && name[hashed.len()..name.len() - "_bg.wasm".len()]
                        .chars()
                        .all(|c| c.is_ascii_hexdigit()))
        })
        .filter_map(|entry| Some((entry.metadata().ok()?.modified().ok()?, entry.path())))
        .max()
        .map(|(_, path)| path)
        .ok_or_else(|| format!("no {bin} wasm ({bin}-*_bg.wasm) in {}", dist.display()))
}

/// Prints the sizes of the app and worker wasm in `dist`; Err when one is missing, or with
/// [`check_budget`]'s message when the app is over budget (already measured and printed).
pub fn report(dist: &Path) -> Result<(), String> {
    let app = measure(&find_wasm(dist, APP_BIN)?)?;
    println!("{}", app_line(app, APP_WASM_GZIP_BUDGET));
    let worker = measure(&find_wasm(dist, WORKER_BIN)?)?;
    println!(
        "xtask: worker wasm {:>11} B raw, {:>10} B gzip -{GZIP_LEVEL} (no budget: loads when AI is first used)",
        thousands(worker.raw),
        thousands(worker.gzip)
    );
    check_budget(app.gzip, APP_WASM_GZIP_BUDGET)
}

fn app_line(app: Sizes, budget: u64) -> String {
    let share = app.gzip as f64 / budget as f64 * 100.0;
    let room = if app.gzip <= budget {
        format!("{} B left", thousands(budget - app.gzip))
    } else {
        format!("{} B OVER", thousands(app.gzip - budget))
    };
    format!(
        "xtask: app wasm    {:>11} B raw, {:>10} B gzip -{GZIP_LEVEL} ({share:.1} % of the {} B gzip budget, {room})",
        thousands(app.raw),
        thousands(app.gzip),
        thousands(budget)
    )
}

/// For `trunk watch`, which builds (and rebuilds on change) by itself: watches `dist` and
/// prints the sizes each time a new app wasm lands there after `since`; over budget only
/// warns. Runs until the process ends.
pub fn watch(dist: &Path, since: SystemTime) {
    let mut watcher = Watcher::new(since);
    loop {
        std::thread::sleep(Duration::from_secs(2));
        if watcher.poll(dist)
            && let Err(err) = report(dist)
        {
            println!("xtask: WARNING: {err}");
        }
    }
}

/// When a new build's wasm is in `dist`: polled every few seconds.
struct Watcher {
    since: SystemTime,
    /// The app wasm (path, length) at the previous poll and at the last report.
    previous: Option<(PathBuf, u64)>,
    reported: Option<(PathBuf, u64)>,
}

impl Watcher {
    fn new(since: SystemTime) -> Self {
        Self {
            since,
            previous: None,
            reported: None,
        }
    }

    /// True (once per build) when an app wasm written after `since` is in `dist`, has kept
    /// its length since the previous poll (Trunk may still be copying it), differs from the
    /// one reported last, and the worker wasm is there too.
    fn poll(&mut self, dist: &Path) -> bool {
        let current = find_wasm(dist, APP_BIN).ok().and_then(|app| {
            let meta = std::fs::metadata(&app).ok()?;
            let fresh = meta.modified().is_ok_and(|modified| modified >= self.since);
            fresh.then_some((app, meta.len()))
        });
        let settled = current.is_some()
            && current == self.previous
            && current != self.reported
            && find_wasm(dist, WORKER_BIN).is_ok();
        if settled {
            self.reported.clone_from(&current);
        }
        self.previous = current;
        settled
    }
}

/// `1234567` → `1,234,567`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn under_or_at_budget_passes() {
        assert_eq!(check_budget(0, APP_WASM_GZIP_BUDGET), Ok(()));
        assert_eq!(check_budget(930_000, APP_WASM_GZIP_BUDGET), Ok(()));
        assert_eq!(
            check_budget(APP_WASM_GZIP_BUDGET, APP_WASM_GZIP_BUDGET),
            Ok(())
        );
    }

    #[test]
    fn over_budget_fails_with_sizes_and_excess() {
        let err = check_budget(APP_WASM_GZIP_BUDGET + 23_456, APP_WASM_GZIP_BUDGET).unwrap_err();
        assert!(err.contains("1,023,456 B gzip"), "{err}");
        assert!(err.contains("23,456 B over"), "{err}");
        assert!(err.contains("budget of 1,000,000 B"), "{err}");
    }

    #[test]
    fn app_line_says_room_left_or_excess() {
        let under = app_line(
            Sizes {
                raw: 2_600_000,
                gzip: 930_000,
            },
            1_000_000,
        );
        assert!(under.contains("2,600,000 B raw"), "{under}");
        assert!(under.contains("93.0 %"), "{under}");
        assert!(under.contains("70,000 B left"), "{under}");
        let over = app_line(
            Sizes {
                raw: 3_000_000,
                gzip: 1_000_001,
            },
            1_000_000,
        );
        assert!(over.contains("1 B OVER"), "{over}");
    }

    #[test]
    fn gzip_shrinks_repetitive_bytes() {
        let bytes = vec![7_u8; 100_000];
        let gzip = gzip_len(&bytes);
        assert!(gzip > 0 && gzip < 1_000, "{gzip}");
    }

    #[test]
    fn finds_the_hashed_app_and_worker_wasm_only() {
        let dir = std::env::temp_dir().join(format!("xtask-wasm-size-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for name in [
            "app-0123abcd_bg.wasm",
            "app-0123abcd.js",
            "worker-89ef_bg.wasm",
            "worker-89ef_loader.js",
            "app_extra-1_bg.wasm",
            "app-lite-0123_bg.wasm",
        ] {
            std::fs::write(dir.join(name), b"\0asm").unwrap();
        }
        let app = find_wasm(&dir, "app").unwrap();
        let worker = find_wasm(&dir, "worker").unwrap();
        let missing = find_wasm(&dir, "other");
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(app.ends_with("app-0123abcd_bg.wasm"), "{}", app.display());
        assert!(
            worker.ends_with("worker-89ef_bg.wasm"),
            "{}",
            worker.display()
        );
        assert!(missing.is_err());
    }

    #[test]
    fn watcher_reports_each_new_settled_build_once() {
        let dir = std::env::temp_dir().join(format!("xtask-wasm-watch-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // A build from before serve started is not reported.
        std::fs::write(dir.join("app-01_bg.wasm"), b"old").unwrap();
        std::fs::write(dir.join("worker-02_bg.wasm"), b"old").unwrap();
        let since = SystemTime::now() + Duration::from_secs(3600);
        let mut stale = Watcher::new(since);
        let stale_polls = [stale.poll(&dir), stale.poll(&dir)];

        let mut watcher = Watcher::new(SystemTime::UNIX_EPOCH);
        let first = watcher.poll(&dir); // seen once: may still be copying
        let second = watcher.poll(&dir); // unchanged: report
        let third = watcher.poll(&dir); // already reported
        std::fs::remove_file(dir.join("app-01_bg.wasm")).unwrap();
        std::fs::write(dir.join("app-03_bg.wasm"), b"new build").unwrap();
        let rebuilt = [watcher.poll(&dir), watcher.poll(&dir), watcher.poll(&dir)];
        std::fs::remove_dir_all(&dir).unwrap();

        assert_eq!(stale_polls, [false, false]);
        assert_eq!([first, second, third], [false, true, false]);
        assert_eq!(rebuilt, [false, true, false]);
    }

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(26_123_456), "26,123,456");
    }
}
