//! Quantities written for people: byte counts in the performance panel and the settings.

/// One "MB" as the settings and the panel count it: 1024 × 1024 bytes, so that a budget
/// typed as 512 MB reads back as 512 MB.
pub const BYTES_PER_MB: u64 = 1024 * 1024;

const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];

/// `bytes` in the largest unit (base 1024) that keeps the number at least 1, with one
/// decimal below 10 units and none above (`"512 B"`, `"1.5 KB"`, `"512 MB"`, `"2.0 GB"`).
pub fn format_bytes(bytes: u64) -> String {
    let mut unit = 0;
    let mut scaled = bytes as f64;
    while scaled >= 1024.0 && unit + 1 < UNITS.len() {
        scaled /= 1024.0;
        unit += 1;
    }
    // Rounding can carry 1023.96 KB up to "1024 KB": show it as the next unit instead.
    if unit + 1 < UNITS.len() && format!("{scaled:.0}") == "1024" {
        scaled /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else if scaled < 9.95 {
        format!("{scaled:.1} {}", UNITS[unit])
    } else {
        format!("{scaled:.0} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_below_a_kilobyte_are_exact() {
        assert_eq!(format_bytes(0), "0 B");
        assert_eq!(format_bytes(1), "1 B");
        assert_eq!(format_bytes(1023), "1023 B");
    }

    #[test]
    fn each_unit_is_1024_of_the_one_below() {
        assert_eq!(format_bytes(1024), "1.0 KB");
        assert_eq!(format_bytes(1536), "1.5 KB");
        assert_eq!(format_bytes(512 * BYTES_PER_MB), "512 MB");
        assert_eq!(format_bytes(2048 * BYTES_PER_MB), "2.0 GB");
        assert_eq!(format_bytes(3 * 1024 * 1024 * BYTES_PER_MB), "3.0 TB");
    }

    #[test]
    fn one_decimal_below_ten_units_none_above() {
        assert_eq!(format_bytes(9 * BYTES_PER_MB + BYTES_PER_MB / 2), "9.5 MB");
        assert_eq!(format_bytes(10 * BYTES_PER_MB), "10 MB");
        assert_eq!(format_bytes(100 * 1024 + 512), "100 KB");
    }

    #[test]
    fn rounding_never_shows_1024_of_a_unit() {
        assert_eq!(format_bytes(BYTES_PER_MB - 1), "1.0 MB");
        assert_eq!(format_bytes(1024 * BYTES_PER_MB - 1), "1.0 GB");
        // 9.96 KB rounds to "10 KB", not "10.0 KB".
        assert_eq!(format_bytes(10_199), "10 KB");
    }

    #[test]
    fn the_largest_unit_keeps_growing() {
        assert_eq!(format_bytes(2048 * 1024 * 1024 * BYTES_PER_MB), "2048 TB");
        assert_eq!(format_bytes(u64::MAX), "16777216 TB");
    }
}
