//! `sightline convert`: reads a labelled folder in one format and writes it in another.
//!
//! The folder is read into the same in-memory file list the browser builds, so the import
//! and export are `sightline_core::formats`, line for line. Image sizes, which YOLO labels
//! need, come from the image headers (EXIF orientation applied, as LabelMe and Ultralytics
//! do). Every problem is printed with its file and line; the exit status is non-zero when
//! any file or shape could not be converted.

use std::fs;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use image::ImageDecoder;
use image::metadata::Orientation;
use sightline_core::annotation::ImageSize;
use sightline_core::formats::{
    self, ExportOptions, Format, ImportOptions, InputFile, Severity, is_image_path, yolo::YoloTask,
    zip_archive,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum FormatArg {
    Labelme,
    Yolo,
    Coco,
    Voc,
}

impl From<FormatArg> for Format {
    fn from(format: FormatArg) -> Self {
        match format {
            FormatArg::Labelme => Format::Labelme,
            FormatArg::Yolo => Format::Yolo,
            FormatArg::Coco => Format::Coco,
            FormatArg::Voc => Format::Voc,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum YoloTaskArg {
    Detect,
    Segment,
}

/// Converts a labelled dataset between LabelMe, YOLO, COCO and Pascal VOC.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Format of the input folder.
    #[arg(long, value_enum)]
    pub from: FormatArg,
    /// Format to write.
    #[arg(long, value_enum)]
    pub to: FormatArg,
    /// Folder with the images and label files.
    #[arg(long)]
    pub input: PathBuf,
    /// Folder to write (created if missing); a path ending in `.zip` writes one zip file.
    #[arg(long)]
    pub out: PathBuf,
    /// YOLO output: boxes (`detect`) or polygons (`segment`).
    #[arg(long, value_enum, default_value = "detect")]
    pub yolo_task: YoloTaskArg,
    /// LabelMe output: write `imageData` back when the input file had it.
    #[arg(long)]
    pub embed_image_data: bool,
    /// Write only the label files, not the images.
    #[arg(long)]
    pub labels_only: bool,
}

/// Every file under `root`, paths relative to it with `/`; images with no bytes (they are
/// read from disk only for their header and when copied).
fn read_folder(root: &Path) -> anyhow::Result<Vec<InputFile>> {
    let mut files = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries =
            fs::read_dir(&dir).with_context(|| format!("cannot list {}", dir.display()))?;
        for entry in entries {
            let path = entry
                .with_context(|| format!("cannot list {}", dir.display()))?
                .path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let Ok(relative) = path.strip_prefix(root) else {
                continue;
            };
            let relative = relative.to_string_lossy().replace('\\', "/");
            let bytes = if is_image_path(&relative) {
                Vec::new()
            } else {
                fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?
            };
            files.push(InputFile::new(relative, bytes));
        }
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

/// Width and height as displayed: from the header, swapped when EXIF rotates by 90°.
pub fn image_size_from_header(path: &Path) -> Option<ImageSize> {
    let file = fs::File::open(path).ok()?;
    let reader = image::ImageReader::new(BufReader::new(file))
        .with_guessed_format()
        .ok()?;
    let mut decoder = reader.into_decoder().ok()?;
    let (width, height) = decoder.dimensions();
    let rotated = matches!(
        decoder.orientation().unwrap_or(Orientation::NoTransforms),
        Orientation::Rotate90
            | Orientation::Rotate270
            | Orientation::Rotate90FlipH
            | Orientation::Rotate270FlipH
    );
    Some(if rotated {
        ImageSize::new(height, width)
    } else {
        ImageSize::new(width, height)
    })
}

fn write_file(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}

pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    if !args.input.is_dir() {
        bail!("--input {} is not a folder", args.input.display());
    }
    let files = read_folder(&args.input)?;
    let size_of = |file: &InputFile| image_size_from_header(&args.input.join(&file.path));
    let options = ImportOptions {
        format: Some(args.from.into()),
    };
    let (dataset, report) = formats::import_folder(&files, &options, &size_of);
    for issue in &report.issues {
        let level = if issue.severity() == Severity::Error {
            "error"
        } else {
            "warning"
        };
        eprintln!("{level}: {issue}");
    }
    let yolo_task = match args.yolo_task {
        YoloTaskArg::Detect => YoloTask::Detect,
        YoloTaskArg::Segment => YoloTask::Segment,
    };
    let export_options = ExportOptions {
        yolo_task,
        embed_image_data: args.embed_image_data,
    };
    let export = formats::export(&dataset, args.to.into(), &export_options)?;
    // Losses one by one; shapes written in another form (a polygon as a VOC box) counted.
    let mut approximated: std::collections::BTreeMap<String, usize> = Default::default();
    for issue in &export.issues {
        if issue.problem.loses_data() {
            eprintln!("error: {issue}");
        } else {
            *approximated.entry(issue.problem.to_string()).or_default() += 1;
        }
    }
    for (problem, count) in approximated {
        eprintln!("warning: {count} shapes: {problem}");
    }

    let images: Vec<(String, PathBuf)> = if args.labels_only {
        Vec::new()
    } else {
        export
            .image_placements
            .iter()
            .map(|p| (p.output_path.clone(), args.input.join(&p.image_path)))
            .filter(|(_, source)| source.is_file())
            .collect()
    };
    if args
        .out
        .extension()
        .is_some_and(|ext| ext.eq_ignore_ascii_case("zip"))
    {
        let image_bytes: Vec<(String, Vec<u8>)> = images
            .iter()
            .map(|(out, source)| {
                fs::read(source)
                    .map(|b| (out.clone(), b))
                    .with_context(|| format!("cannot read {}", source.display()))
            })
            .collect::<anyhow::Result<_>>()?;
        let entries = export
            .files
            .iter()
            .map(|f| (f.path.as_str(), f.bytes.as_slice()))
            .chain(image_bytes.iter().map(|(p, b)| (p.as_str(), b.as_slice())));
        write_file(&args.out, &zip_archive(entries)?)?;
    } else {
        for file in &export.files {
            write_file(&args.out.join(&file.path), &file.bytes)?;
        }
        for (out, source) in &images {
            let target = args.out.join(out);
            if let Some(parent) = target.parent() {
                fs::create_dir_all(parent)
                    .with_context(|| format!("cannot create {}", parent.display()))?;
            }
            fs::copy(source, &target).with_context(|| {
                format!("cannot copy {} to {}", source.display(), target.display())
            })?;
        }
    }

    let lost = export
        .issues
        .iter()
        .filter(|i| i.problem.loses_data())
        .count();
    let errors = report.errors().count();
    eprintln!(
        "{} images, {} shapes read from {} files; {} files written to {}; {errors} import errors, {lost} shapes or images not written",
        dataset.images.len(),
        report.shapes_imported,
        report.files_imported.len(),
        export.files.len() + images.len(),
        args.out.display(),
    );
    Ok(if errors == 0 && lost == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("sightline-convert-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("scratch dir");
        dir
    }

    fn args(from: FormatArg, to: FormatArg, input: &Path, out: &Path) -> Args {
        Args {
            from,
            to,
            input: input.to_path_buf(),
            out: out.to_path_buf(),
            yolo_task: YoloTaskArg::Detect,
            embed_image_data: false,
            labels_only: false,
        }
    }

    #[test]
    fn yolo_to_labelme_reads_sizes_from_headers_and_fails_on_bad_files() {
        let input = scratch_dir("in");
        fs::create_dir_all(input.join("images")).expect("mkdir");
        fs::create_dir_all(input.join("labels")).expect("mkdir");
        image::RgbImage::new(64, 32)
            .save(input.join("images/a.png"))
            .expect("png");
        image::RgbImage::new(10, 10)
            .save(input.join("images/b.png"))
            .expect("png");
        fs::write(input.join("data.yaml"), "names: [dog]\n").expect("write");
        fs::write(input.join("labels/a.txt"), "0 0.5 0.5 0.5 0.5\n").expect("write");
        fs::write(input.join("labels/b.txt"), "0 0.5 0.5\n").expect("write");

        let out = input.with_extension("out");
        let code = run(&args(FormatArg::Yolo, FormatArg::Labelme, &input, &out)).expect("runs");
        assert_eq!(code, ExitCode::FAILURE, "b.txt has a bad line");
        let json: serde_json::Value =
            serde_json::from_slice(&fs::read(out.join("images/a.json")).expect("written"))
                .expect("json");
        assert_eq!(json["imageWidth"], 64);
        assert_eq!(json["shapes"][0]["points"][0][0], 16.0);
        assert_eq!(json["shapes"][0]["label"], "dog");
        assert!(out.join("images/a.png").is_file(), "images copied");

        fs::write(input.join("labels/b.txt"), "").expect("write");
        let zip = input.with_extension("zip");
        let code = run(&args(FormatArg::Yolo, FormatArg::Coco, &input, &zip)).expect("runs");
        assert_eq!(code, ExitCode::SUCCESS);
        assert_eq!(&fs::read(&zip).expect("zip")[..2], b"PK");
        for path in [&input, &out] {
            let _ = fs::remove_dir_all(path);
        }
        let _ = fs::remove_file(zip);
    }
}
