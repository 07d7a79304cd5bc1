//! Near-duplicate detection on the quality fixtures (`tests/data/iqa/`): each photo's
//! original, its quality-30 JPEG re-encode and a half-size copy are one group; the three
//! photos are apart; the hashes against Python's `imagehash.phash`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Instant;

use image::RgbImage;
use image::imageops::FilterType;
use sightline_core::duplicates::{PerceptualHash, hamming};
use sightline_vision::ComputeDevice;
use sightline_vision::quality::QualityImage;
use sightline_vision::quality::duplicates::{
    DEFAULT_MAX_DISTANCE, DEFAULT_MIN_SSIM, confirm, find_duplicates, find_duplicates_with,
    perceptual_hash, similarity,
};

const PHOTOS: [&str; 3] = ["astronaut", "coffee", "chelsea"];

/// `str(imagehash.phash(Image.open(f"{photo}_{distortion}.png")))` with imagehash 4.3.2
/// (Pillow 13, scipy 1.17) in the pyiqa venv. The blurred and re-encoded copies hash
/// exactly as their originals do.
const IMAGEHASH: [(&str, &str, &str); 9] = [
    ("astronaut", "ref", "c2924c5532bddfc8"),
    ("astronaut", "q30_decoded", "c2924c5532bddfc8"),
    ("astronaut", "blur_s2", "c2924c5532bddfc8"),
    ("coffee", "ref", "bb8320376c0f3637"),
    ("coffee", "q30_decoded", "bb8320376c0f3637"),
    ("coffee", "blur_s2", "bb8320376c0f3637"),
    ("chelsea", "ref", "b15fe6465121175e"),
    ("chelsea", "q30_decoded", "b15fe6465121175e"),
    ("chelsea", "blur_s2", "b15fe6465121175e"),
];

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/iqa")
}

/// The fixture `{photo}_{variant}.png`, or for `"half"` the original downscaled by 2
/// (image's Triangle filter, which widens its support when shrinking, so it averages).
fn rgb(photo: &str, variant: &str) -> RgbImage {
    static CACHE: OnceLock<std::sync::Mutex<HashMap<String, RgbImage>>> = OnceLock::new();
    let key = format!("{photo}_{variant}");
    let mut cache = CACHE.get_or_init(Default::default).lock().unwrap();
    cache
        .entry(key)
        .or_insert_with(|| {
            if variant == "half" {
                let full = rgb_file(photo, "ref");
                let (w, h) = full.dimensions();
                image::imageops::resize(&full, w / 2, h / 2, FilterType::Triangle)
            } else {
                rgb_file(photo, variant)
            }
        })
        .clone()
}

fn rgb_file(photo: &str, variant: &str) -> RgbImage {
    image::open(data().join(format!("{photo}_{variant}.png")))
        .unwrap()
        .to_rgb8()
}

fn image(photo: &str, variant: &str) -> QualityImage {
    let device = ComputeDevice::cpu().unwrap().device;
    QualityImage::from_image(&rgb(photo, variant), &device).unwrap()
}

#[test]
fn hashes_are_within_a_few_bits_of_imagehash() {
    let mut worst = 0;
    let start = Instant::now();
    for (photo, variant, want) in IMAGEHASH {
        let want: PerceptualHash = want.parse().unwrap();
        let got = perceptual_hash(&image(photo, variant));
        let bits = hamming(got, want);
        println!("{photo}/{variant}: ours {got}, imagehash {want}, {bits} bits apart");
        worst = worst.max(bits);
    }
    println!("9 hashes (decode + hash) in {:?}", start.elapsed());
    assert!(worst <= 6, "up to {worst} bits from imagehash");
}

#[test]
fn copies_hash_close_and_different_photos_far() {
    let variants = ["ref", "q30_decoded", "half", "blur_s2"];
    let mut hashes = Vec::new();
    for photo in PHOTOS {
        for variant in variants {
            hashes.push(((photo, variant), perceptual_hash(&image(photo, variant))));
        }
    }
    for &((p, v), h) in &hashes {
        let row: Vec<String> = hashes
            .iter()
            .map(|&(_, g)| format!("{:2}", hamming(h, g)))
            .collect();
        println!("{p:>9}/{v:<11} {h}  {}", row.join(" "));
    }
    for &((p, _), h) in &hashes {
        for &((q, _), g) in &hashes {
            let bits = hamming(h, g);
            if p == q {
                assert!(bits <= DEFAULT_MAX_DISTANCE / 2, "{p}: {bits} bits");
            } else {
                assert!(bits > 2 * DEFAULT_MAX_DISTANCE, "{p} vs {q}: {bits} bits");
            }
        }
    }
}

#[test]
fn re_encodes_and_resizes_are_confirmed_blurs_and_other_photos_are_not() {
    for photo in PHOTOS {
        let original = image(photo, "ref");
        assert!((similarity(&original, &original) - 1.0).abs() < 1e-5);
        let start = Instant::now();
        let scores: Vec<(&str, f64)> = ["q30_decoded", "half", "blur_s2"]
            .into_iter()
            .map(|v| (v, similarity(&image(photo, v), &original)))
            .collect();
        println!(
            "{photo}: SSIM against the original {scores:.4?} ({:?} per pair)",
            start.elapsed() / 3
        );
        for (variant, score) in scores {
            let want = variant != "blur_s2";
            assert_eq!(
                score >= DEFAULT_MIN_SSIM,
                want,
                "{photo}/{variant}: {score}"
            );
        }
        assert!(confirm(
            &image(photo, "half"),
            &image(photo, "q30_decoded"),
            DEFAULT_MIN_SSIM
        ));
    }
    for (i, a) in PHOTOS.iter().enumerate() {
        for b in &PHOTOS[i + 1..] {
            let score = similarity(&image(a, "ref"), &image(b, "ref"));
            println!("{a} vs {b}: SSIM {score:.4}");
            assert!(score < 0.5);
        }
    }
}

/// The twelve images interleaved so that no group is a run of neighbours.
fn shuffled(variants: &[&'static str]) -> Vec<(&'static str, &'static str)> {
    let mut list = Vec::new();
    for &variant in variants {
        for photo in PHOTOS {
            list.push((photo, variant));
        }
    }
    list
}

#[test]
fn each_photo_is_one_group() {
    let list = shuffled(&["half", "ref", "q30_decoded"]);
    let images: Vec<QualityImage> = list.iter().map(|&(p, v)| image(p, v)).collect();
    let start = Instant::now();
    let groups = find_duplicates(&images, DEFAULT_MAX_DISTANCE, DEFAULT_MIN_SSIM);
    println!("{} images grouped in {:?}", images.len(), start.elapsed());
    let named: Vec<Vec<_>> = groups
        .iter()
        .map(|g| g.iter().map(|&i| list[i]).collect())
        .collect();
    println!("{named:?}");
    // astronaut at 0, 3, 6; coffee at 1, 4, 7; chelsea at 2, 5, 8.
    assert_eq!(groups, vec![vec![0, 3, 6], vec![1, 4, 7], vec![2, 5, 8]]);
}

#[test]
fn blurred_copies_stay_out_at_the_defaults_and_join_below_them() {
    let list = shuffled(&["ref", "q30_decoded", "blur_s2"]);
    let images: Vec<QualityImage> = list.iter().map(|&(p, v)| image(p, v)).collect();
    let strict = find_duplicates(&images, DEFAULT_MAX_DISTANCE, DEFAULT_MIN_SSIM);
    let loose = find_duplicates(&images, DEFAULT_MAX_DISTANCE, 0.85);
    println!("defaults: {strict:?}\nmin SSIM 0.85: {loose:?}");
    assert_eq!(strict, vec![vec![0, 3], vec![1, 4], vec![2, 5]]);
    assert_eq!(loose, vec![vec![0, 3, 6], vec![1, 4, 7], vec![2, 5, 8]]);
}

/// Groups are transitive closures, so a blurred copy too far from the original can still
/// join through a copy between the two: the half-size copy (smoothed by the downscale) is
/// 0.94 to 0.96 from the blur and 0.96 to 0.99 from the original.
#[test]
fn a_blurred_copy_joins_through_the_half_size_one() {
    let variants = ["ref", "q30_decoded", "half", "blur_s2"];
    for photo in PHOTOS {
        let images: Vec<QualityImage> = variants.iter().map(|v| image(photo, v)).collect();
        for i in 0..images.len() {
            for j in i + 1..images.len() {
                let score = similarity(&images[i], &images[j]);
                println!(
                    "{photo}: {} vs {}: SSIM {score:.4}",
                    variants[i], variants[j]
                );
            }
        }
        let groups = find_duplicates(&images, DEFAULT_MAX_DISTANCE, DEFAULT_MIN_SSIM);
        assert_eq!(groups, vec![vec![0, 1, 2, 3]], "{photo}");
    }
}

#[test]
fn stored_hashes_load_only_candidates_and_each_once() {
    // Three copies of the astronaut and one coffee: only the astronauts are candidates,
    // and the blurred one is compared but not confirmed.
    let list = [
        ("astronaut", "ref"),
        ("coffee", "ref"),
        ("astronaut", "q30_decoded"),
        ("astronaut", "blur_s2"),
    ];
    let hashes: Vec<PerceptualHash> = list
        .iter()
        .map(|&(p, v)| perceptual_hash(&image(p, v)))
        .collect();
    let mut loads = Vec::new();
    let groups = find_duplicates_with(
        &hashes,
        |i| {
            loads.push(i);
            Ok::<_, String>(image(list[i].0, list[i].1))
        },
        DEFAULT_MAX_DISTANCE,
        DEFAULT_MIN_SSIM,
    )
    .unwrap();
    assert_eq!(groups, vec![vec![0, 2]]);
    loads.sort_unstable();
    assert_eq!(loads, vec![0, 2, 3]);
    // A loader's error ends the search.
    let failed = find_duplicates_with(&hashes, |_| Err("gone"), DEFAULT_MAX_DISTANCE, 0.9);
    assert_eq!(failed, Err("gone"));
}
