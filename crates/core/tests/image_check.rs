//! Image checks on the demo images and on each kind of bad file built from them (cut short,
//! emptied, replaced by text, a header claiming a huge size, a broken header).

use std::path::PathBuf;

use sightline_core::image_check::{
    CheckedImage, ImageFormat, ImageProblem, MAX_IMAGE_PIXELS, check_image, format_of_path, sniff,
};

fn demo_dir() -> PathBuf {
    sightline_test_support::workspace_root().join("public/demo")
}

fn demo(name: &str) -> Vec<u8> {
    std::fs::read(demo_dir().join(name)).expect("demo image")
}

/// Every image of the demo folder, by name.
fn demo_images() -> Vec<(String, Vec<u8>)> {
    let mut images: Vec<(String, Vec<u8>)> = std::fs::read_dir(demo_dir())
        .expect("demo folder")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "jpg" || e == "png"))
        .map(|path| {
            let name = path
                .file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned();
            (name, std::fs::read(&path).expect("readable"))
        })
        .collect();
    images.sort();
    assert!(images.len() >= 9, "the demo folder has its images");
    images
}

/// The oracle for sizes: PNG's IHDR fields, or a JPEG's first SOFn segment, read by hand.
fn size_by_hand(bytes: &[u8]) -> (u32, u32) {
    let be32 = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
    let be16 = |at: usize| u32::from(u16::from_be_bytes([bytes[at], bytes[at + 1]]));
    if bytes.starts_with(b"\x89PNG") {
        return (be32(16), be32(20));
    }
    let mut pos = 2;
    loop {
        let marker = bytes[pos + 1];
        if (0xC0..=0xCF).contains(&marker) && ![0xC4, 0xC8, 0xCC].contains(&marker) {
            return (be16(pos + 7), be16(pos + 5));
        }
        pos += 2 + usize::try_from(be16(pos + 2)).expect("fits");
    }
}

#[test]
fn every_demo_image_passes_with_its_format_and_size() {
    for (name, bytes) in demo_images() {
        let checked = check_image(&name, &bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        let want = if name.ends_with(".png") {
            ImageFormat::Png
        } else {
            ImageFormat::Jpeg
        };
        assert_eq!(checked.format, want, "{name}");
        assert_eq!(
            (checked.size.width, checked.size.height),
            size_by_hand(&bytes),
            "{name}"
        );
        assert!(checked.extension_matches, "{name}");
        assert_eq!(sniff(&bytes), Some(want), "{name}");
    }
}

#[test]
fn a_good_image_with_the_wrong_extension_passes_and_says_so() {
    let checked: CheckedImage = check_image("photos/dog.png", &demo("dog.jpg")).expect("shown");
    assert_eq!(checked.format, ImageFormat::Jpeg);
    assert!(!checked.extension_matches);
    let checked = check_image("no-extension", &demo("coffee.png")).expect("shown");
    assert!(!checked.extension_matches);
}

#[test]
fn an_empty_file_is_refused() {
    assert_eq!(check_image("a.jpg", &[]), Err(ImageProblem::Empty));
    assert_eq!(
        ImageProblem::Empty.to_string(),
        "the file is empty (0 bytes)"
    );
}

#[test]
fn text_is_not_an_image_whatever_its_name() {
    let problem = check_image("dir/notes.JPG", b"just some notes\n").expect_err("text");
    assert_eq!(
        problem,
        ImageProblem::NotAnImage {
            extension: Some("jpg".into())
        }
    );
    assert!(problem.to_string().starts_with("not an image"), "{problem}");
    assert!(problem.to_string().contains(".jpg"), "{problem}");
    assert_eq!(
        check_image("README", b"hello"),
        Err(ImageProblem::NotAnImage { extension: None })
    );
}

#[test]
fn a_jpeg_cut_anywhere_is_truncated() {
    let bytes = demo("dog.jpg");
    for cut in [
        3,
        20,
        200,
        bytes.len() / 2,
        bytes.len() - 2,
        bytes.len() - 1,
    ] {
        assert_eq!(
            check_image("dog.jpg", &bytes[..cut]),
            Err(ImageProblem::Truncated {
                format: ImageFormat::Jpeg
            }),
            "cut at {cut} of {}",
            bytes.len()
        );
    }
    let problem = check_image("dog.jpg", &bytes[..bytes.len() / 2]).expect_err("cut");
    assert!(
        problem.to_string().starts_with("truncated: the JPEG"),
        "{problem}"
    );
}

#[test]
fn data_after_a_jpeg_end_marker_is_allowed() {
    let mut bytes = demo("eagle.jpg");
    bytes.extend_from_slice(b"camera trailer \xFF\xD8 with marker-like bytes");
    assert!(check_image("eagle.jpg", &bytes).is_ok());
}

#[test]
fn a_png_cut_anywhere_is_truncated() {
    let bytes = demo("chelsea.png");
    // The last cut drops the IEND chunk only.
    for cut in [8, 30, bytes.len() / 2, bytes.len() - 12, bytes.len() - 1] {
        assert_eq!(
            check_image("chelsea.png", &bytes[..cut]),
            Err(ImageProblem::Truncated {
                format: ImageFormat::Png
            }),
            "cut at {cut} of {}",
            bytes.len()
        );
    }
}

/// A real PNG whose IHDR claims another size (its CRC made to match, as a crafted file's).
fn png_claiming(width: u32, height: u32) -> Vec<u8> {
    let mut bytes = demo("chelsea.png");
    bytes[16..20].copy_from_slice(&width.to_be_bytes());
    bytes[20..24].copy_from_slice(&height.to_be_bytes());
    // IHDR: length at 8, type at 12, 13 bytes of data at 16, CRC at 29.
    let crc = crc32fast::hash(&bytes[12..29]);
    bytes[29..33].copy_from_slice(&crc.to_be_bytes());
    bytes
}

#[test]
fn a_damaged_critical_png_chunk_is_named() {
    let bytes = demo("chelsea.png");
    // The first IDAT's data: a flipped bit fails its CRC.
    let idat = bytes
        .windows(4)
        .position(|w| w == b"IDAT")
        .expect("an IDAT");
    let mut damaged = bytes.clone();
    damaged[idat + 10] ^= 0x01;
    let problem = check_image("chelsea.png", &damaged).expect_err("damaged");
    assert_eq!(
        problem,
        ImageProblem::BadChecksum {
            chunk: "IDAT".to_owned()
        }
    );
    assert_eq!(
        problem.to_string(),
        "damaged: the PNG chunk IDAT fails its checksum (CRC)"
    );
    // A damaged optional chunk (here a text chunk added before IEND) is skipped, as browsers do.
    let mut with_text = bytes[..bytes.len() - 12].to_vec();
    with_text.extend(4u32.to_be_bytes());
    with_text.extend(b"tEXtab\0c");
    with_text.extend(0u32.to_be_bytes());
    with_text.extend(&bytes[bytes.len() - 12..]);
    assert!(check_image("chelsea.png", &with_text).is_ok());
}

#[test]
fn an_image_over_the_pixel_limit_is_refused_with_the_limit() {
    let problem = check_image("huge.png", &png_claiming(20_000, 20_000)).expect_err("huge");
    assert_eq!(
        problem,
        ImageProblem::TooLarge {
            width: 20_000,
            height: 20_000,
            limit: MAX_IMAGE_PIXELS
        }
    );
    let text = problem.to_string();
    assert!(text.contains("20000×20000"), "{text}");
    assert!(text.contains("100000000"), "{text}");
    // The limit itself is allowed.
    let checked = check_image("edge.png", &png_claiming(10_000, 10_000)).expect("at the limit");
    assert_eq!(u64::from(checked.size.width) * 10_000, MAX_IMAGE_PIXELS);
    assert!(check_image("over.png", &png_claiming(10_000, 10_001)).is_err());
}

#[test]
fn a_broken_header_is_reported_by_format() {
    assert_eq!(
        check_image("zero.png", &png_claiming(0, 480)),
        Err(ImageProblem::BadHeader {
            format: ImageFormat::Png
        })
    );
    // The byte after the first segment must start the next marker.
    let mut bytes = demo("dog.jpg");
    let first_segment = usize::from(u16::from_be_bytes([bytes[4], bytes[5]]));
    bytes[4 + first_segment] = 0x00;
    let problem = check_image("dog.jpg", &bytes).expect_err("broken");
    assert_eq!(
        problem,
        ImageProblem::BadHeader {
            format: ImageFormat::Jpeg
        }
    );
    assert_eq!(problem.to_string(), "the JPEG header could not be read");
}

#[test]
fn formats_without_an_end_marker_are_sniffed_and_sized() {
    let mut gif = b"GIF89a".to_vec();
    gif.extend_from_slice(&[3, 0, 2, 0, 0, 0, 0]);
    let checked = check_image("tiny.gif", &gif).expect("a GIF header");
    assert_eq!(checked.format, ImageFormat::Gif);
    assert_eq!((checked.size.width, checked.size.height), (3, 2));
    assert!(checked.extension_matches);

    assert_eq!(sniff(b"GIF87a..."), Some(ImageFormat::Gif));
    assert_eq!(sniff(b"BM\0\0\0\0"), Some(ImageFormat::Bmp));
    assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some(ImageFormat::WebP));
    assert_eq!(sniff(b"RIFF\0\0\0\0WAVEfmt "), None);
    assert_eq!(sniff(b"II*\0\x08\0\0\0"), Some(ImageFormat::Tiff));
    assert_eq!(sniff(b"MM\0*\0\0\0\x08"), Some(ImageFormat::Tiff));
    assert_eq!(sniff(b"%PDF-1.7"), None);
    assert_eq!(sniff(&[0xFF, 0xD8]), None);
}

#[test]
fn extensions_name_formats_case_insensitively() {
    let cases = [
        ("a.jpg", Some(ImageFormat::Jpeg)),
        ("dir.v2/a.JPEG", Some(ImageFormat::Jpeg)),
        ("a.jfif", Some(ImageFormat::Jpeg)),
        ("a.Png", Some(ImageFormat::Png)),
        ("a.gif", Some(ImageFormat::Gif)),
        ("a.bmp", Some(ImageFormat::Bmp)),
        ("a.webp", Some(ImageFormat::WebP)),
        ("a.tif", Some(ImageFormat::Tiff)),
        ("a.TIFF", Some(ImageFormat::Tiff)),
        ("a.txt", None),
        (".png", None),
        ("png", None),
        ("dir.png/a", None),
    ];
    for (path, want) in cases {
        assert_eq!(format_of_path(path), want, "{path}");
    }
}

#[test]
fn every_shared_fixture_image_passes() {
    let Some(root) = sightline_test_support::shared_fixture("images") else {
        return;
    };
    let mut seen = 0;
    for dir in [root.clone(), root.join("iqa")] {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for path in entries.map(|entry| entry.expect("entry").path()) {
            let name = path.to_string_lossy().into_owned();
            if format_of_path(&name).is_none() {
                continue;
            }
            let bytes = std::fs::read(&path).expect("readable");
            let checked = check_image(&name, &bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(
                (checked.size.width, checked.size.height),
                size_by_hand(&bytes),
                "{name}"
            );
            seen += 1;
        }
    }
    assert!(seen > 0, "images under {}", root.display());
}
