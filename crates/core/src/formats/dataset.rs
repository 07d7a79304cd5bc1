//! A dataset exported with its images, in each format's own layout, split into train / val
//! (/ test) where the format has splits.
//!
//! [`plan_dataset`] returns the plan of the archive: the label files (small, in memory) and,
//! for each image, the path its bytes go to — never the bytes. The caller then streams the
//! files and the images, one at a time, into a [`super::ZipStream`]; the browser reads each
//! image from IndexedDB between two calls, with progress and cancel, so no export holds
//! more than one image.
//!
//! Layouts:
//! - Ultralytics YOLO: `images/{train,val,test}/<name>`, `labels/{split}/<stem>.txt`,
//!   `data.yaml` (`train: images/train`, `val: images/val`, `test:` when there is a test
//!   split, `names: {id: name}`) and `classes.txt`.
//! - COCO: `images/<name>` and `annotations/instances_{train,val}.json` (`instances_test.json`
//!   when there is a test split), whose `file_name`s are the names under `images/`.
//! - Pascal VOC: `JPEGImages/<name>`, `Annotations/<stem>.xml`, and `ImageSets/Main/train.txt`,
//!   `val.txt`, `trainval.txt` (`test.txt` when there is a test split) listing stems.
//! - LabelMe: no splits; each image at its project path with its JSON beside it
//!   (`imagePath` is the file name).
//!
//! Names: YOLO, COCO and VOC keep all images of a split in one folder, and their label files
//! are named by the image's stem, so every image needs a stem of its own. An image keeps its
//! file name unless another image of the export has the same stem (compared ignoring case,
//! as unzipping on Windows or macOS would); then both are named by their whole path, folders
//! joined with `_` (`a/x.jpg` → `a_x.jpg`, `b/x.jpg` → `b_x.jpg`). Should that still collide,
//! the later image in the dataset gets `-2`, `-3`, … after its stem. LabelMe keeps folders,
//! so only stems within one folder must differ (same rule for the suffix). `..` and `.`
//! components never reach the archive.
//!
//! Splits ([`SplitRule`], [`assign_splits`]): by a seeded ratio, or by the folders the images
//! already live in (`train`, `val` / `valid` / `validation`, `test`, with an optional number
//! as in `train2017`), the ratio deciding for images outside such folders.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::{
    Export, ExportError, ExportIssue, ExportOptions, Format, OutputFile, coco, file_name,
    file_stem, labelme, normalise_path, parent_dir, voc, with_extension, yolo,
};
use crate::annotation::{Dataset, ImageAnnotations};

/// A part of a dataset: what a model trains on, what it is validated on, what it is tested
/// on after training.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    Train,
    Val,
    Test,
}

impl Split {
    pub const ALL: [Split; 3] = [Split::Train, Split::Val, Split::Test];

    /// The folder and file name part every format uses (`images/val`, `instances_val.json`,
    /// `val.txt`).
    pub fn name(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Val => "val",
            Split::Test => "test",
        }
    }

    /// The split a folder name stands for: `train`, `val` / `valid` / `validation`, `test`,
    /// in any case, optionally followed by digits (`val2017`).
    pub fn of_folder(folder: &str) -> Option<Split> {
        let lower = folder.to_ascii_lowercase();
        match lower.trim_end_matches(|c: char| c.is_ascii_digit()) {
            "train" => Some(Split::Train),
            "val" | "valid" | "validation" => Some(Split::Val),
            "test" => Some(Split::Test),
            _ => None,
        }
    }

    /// The split of the folder an image lies in: the folder nearest the file that names a
    /// split (`images/val/a.jpg` and `valid/images/a.jpg` are both `Val`).
    pub fn of_path(path: &str) -> Option<Split> {
        let normalised = normalise_path(path);
        parent_dir(&normalised)
            .rsplit('/')
            .find_map(Split::of_folder)
    }
}

/// How images are divided between the splits.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "rule")]
pub enum SplitRule {
    /// `round(n × val_fraction)` images go to val, the rest to train; at least one each
    /// when there are two images or more and the fraction is strictly between 0 and 1.
    /// Which images is decided by a hash of the path and `seed` alone, so the same paths and
    /// seed always give the same split, and another seed another one.
    Ratio { val_fraction: f64, seed: u64 },
    /// Images in a split folder ([`Split::of_path`]) stay in that split; the others are
    /// divided as [`SplitRule::Ratio`] with these values (all of them, for a project without
    /// such folders).
    ByFolder { val_fraction: f64, seed: u64 },
}

impl Default for SplitRule {
    /// Ultralytics' usual 80 / 20.
    fn default() -> Self {
        SplitRule::Ratio {
            val_fraction: 0.2,
            seed: 0,
        }
    }
}

/// The split of each of `paths`, in order (see [`SplitRule`]).
pub fn assign_splits<S: AsRef<str>>(paths: &[S], rule: SplitRule) -> Vec<Split> {
    let (val_fraction, seed, by_folder) = match rule {
        SplitRule::Ratio { val_fraction, seed } => (val_fraction, seed, false),
        SplitRule::ByFolder { val_fraction, seed } => (val_fraction, seed, true),
    };
    let mut splits = vec![Split::Train; paths.len()];
    let mut by_ratio: Vec<(u64, &str, usize)> = Vec::new();
    for (i, path) in paths.iter().enumerate() {
        let path = path.as_ref();
        match by_folder.then(|| Split::of_path(path)).flatten() {
            Some(split) => splits[i] = split,
            None => by_ratio.push((seeded_hash(seed, path), path, i)),
        }
    }
    // Ties of the hash fall to the path, then the position: the order is total, so the
    // split never depends on the order the paths came in (but for identical paths).
    by_ratio.sort_unstable();
    let val_count = val_count(by_ratio.len(), val_fraction);
    for &(_, _, i) in by_ratio.iter().take(val_count) {
        splits[i] = Split::Val;
    }
    splits
}

/// How many of `n` images go to val.
fn val_count(n: usize, val_fraction: f64) -> usize {
    if val_fraction.is_nan() || val_fraction <= 0.0 {
        return 0;
    }
    if val_fraction >= 1.0 {
        return n;
    }
    let count = (n as f64 * val_fraction).round() as usize;
    if n >= 2 {
        count.clamp(1, n - 1)
    } else {
        count.min(n)
    }
}

/// FNV-1a over the seed and the path, then SplitMix64's finaliser so that nearby seeds give
/// unrelated orders. Written out rather than `std::hash` so the split is the same on every
/// platform and Rust version.
fn seeded_hash(seed: u64, path: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in seed.to_le_bytes().iter().chain(path.as_bytes()) {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash = (hash ^ (hash >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    hash = (hash ^ (hash >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    hash ^ (hash >> 31)
}

/// How to export a dataset with its images.
#[derive(Clone, Debug)]
pub struct DatasetOptions {
    pub format: Format,
    /// Ignored for LabelMe, which has no splits.
    pub split: SplitRule,
    /// How the label files are written (YOLO task, LabelMe `imageData`).
    pub labels: ExportOptions,
}

/// Where one image of the dataset goes in the archive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedImage {
    /// The image's path in the project.
    pub image_path: String,
    /// The entry its bytes become.
    pub output_path: String,
    /// `None` for LabelMe.
    pub split: Option<Split>,
}

/// A dataset export without its image bytes: the label files, and where each image goes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DatasetPlan {
    /// Label and metadata files (text, small).
    pub files: Vec<OutputFile>,
    /// Every image of the dataset, in its order.
    pub images: Vec<PlannedImage>,
    /// What could not be written as it is, by project path.
    pub issues: Vec<ExportIssue>,
}

impl DatasetPlan {
    /// Images in `split`.
    pub fn count(&self, split: Split) -> usize {
        self.images
            .iter()
            .filter(|image| image.split == Some(split))
            .count()
    }

    /// Entries of the archive: files and images (for progress).
    pub fn entry_count(&self) -> usize {
        self.files.len() + self.images.len()
    }
}

/// The archive of `dataset` with its images in `options.format`'s layout (see the module
/// doc). Classes used by shapes but missing from `dataset.classes` are added in order of
/// use, as [`super::export`] does.
pub fn plan_dataset(
    dataset: &Dataset,
    options: &DatasetOptions,
) -> Result<DatasetPlan, ExportError> {
    let mut classes = Dataset {
        classes: dataset.classes.clone(),
        images: Vec::new(),
    };
    for image in &dataset.images {
        for shape in &image.shapes {
            classes.class_index_or_insert(&shape.label);
        }
    }
    let classes = classes.classes;
    let paths: Vec<&str> = dataset
        .images
        .iter()
        .map(|image| image.image_path.as_str())
        .collect();
    // Where a format's images go, and whether each split has a folder of its own there.
    let (images_dir, folder_per_split) = match options.format {
        Format::Labelme => return plan_labelme(dataset, classes, &paths, options),
        Format::Yolo => ("images", true),
        Format::Coco => ("images", false),
        Format::Voc => ("JPEGImages", false),
    };
    let names = unique_names(&paths, true);
    let splits = assign_splits(&paths, options.split);
    let images: Vec<PlannedImage> = paths
        .iter()
        .zip(&names)
        .zip(&splits)
        .map(|((path, name), split)| PlannedImage {
            image_path: (*path).to_owned(),
            output_path: if folder_per_split {
                format!("{images_dir}/{}/{name}", split.name())
            } else {
                format!("{images_dir}/{name}")
            },
            split: Some(*split),
        })
        .collect();
    let mut plan = match options.format {
        Format::Yolo => plan_yolo(dataset, classes, &images, options)?,
        Format::Coco => plan_coco(dataset, classes, &names, &splits)?,
        // LabelMe has returned above.
        Format::Voc | Format::Labelme => plan_voc(dataset, classes, &images, &names, &splits)?,
    };
    plan.images = images;
    Ok(plan)
}

/// `dataset`'s images renamed to `renamed` (the format's own paths), with all `classes`.
fn renamed<'a>(
    dataset: &Dataset,
    classes: &[String],
    renamed: impl IntoIterator<Item = (usize, &'a str)>,
) -> Dataset {
    Dataset {
        classes: classes.to_vec(),
        images: renamed
            .into_iter()
            .map(|(i, path)| ImageAnnotations {
                image_path: path.to_owned(),
                ..dataset.images[i].clone()
            })
            .collect(),
    }
}

/// Moves `export`'s files and issues into `plan`, issues named by project path again.
fn take_export(plan: &mut DatasetPlan, export: Export, project_path_of: &HashMap<&str, &str>) {
    plan.files.extend(export.files);
    plan.issues
        .extend(export.issues.into_iter().map(|mut issue| {
            if let Some(path) = project_path_of.get(issue.image_path.as_str()) {
                issue.image_path = (*path).to_owned();
            }
            issue
        }));
}

fn plan_yolo(
    dataset: &Dataset,
    classes: Vec<String>,
    images: &[PlannedImage],
    options: &DatasetOptions,
) -> Result<DatasetPlan, ExportError> {
    let out = renamed(
        dataset,
        &classes,
        images
            .iter()
            .enumerate()
            .map(|(i, image)| (i, image.output_path.as_str())),
    );
    let project_path_of: HashMap<&str, &str> = images
        .iter()
        .map(|image| (image.output_path.as_str(), image.image_path.as_str()))
        .collect();
    let mut export = yolo::export(&out, &options.labels)?;
    // Replaced by one that names the split folders.
    export.files.retain(|file| file.path != "data.yaml");
    let mut plan = DatasetPlan::default();
    take_export(&mut plan, export, &project_path_of);
    let has = |split: Split| images.iter().any(|image| image.split == Some(split));
    let folders = yolo::SplitFolders {
        train: "images/train",
        // Ultralytics refuses a dataset without validation images: an export without a
        // val split validates on the training images.
        val: if has(Split::Val) {
            "images/val"
        } else {
            "images/train"
        },
        test: has(Split::Test).then_some("images/test"),
    };
    plan.files.push(OutputFile {
        path: "data.yaml".to_owned(),
        bytes: yolo::data_yaml_with_splits(&classes, &folders)?.into_bytes(),
    });
    Ok(plan)
}

/// The splits every layout writes a list for, and `test` when it has images.
fn written_splits(splits: &[Split]) -> impl Iterator<Item = Split> + '_ {
    Split::ALL
        .into_iter()
        .filter(|split| *split != Split::Test || splits.contains(&Split::Test))
}

fn plan_coco(
    dataset: &Dataset,
    classes: Vec<String>,
    names: &[String],
    splits: &[Split],
) -> Result<DatasetPlan, ExportError> {
    let mut plan = DatasetPlan::default();
    let project_path_of: HashMap<&str, &str> = names
        .iter()
        .zip(&dataset.images)
        .map(|(name, image)| (name.as_str(), image.image_path.as_str()))
        .collect();
    for split in written_splits(splits) {
        let part = renamed(
            dataset,
            &classes,
            (0..names.len())
                .filter(|&i| splits[i] == split)
                .map(|i| (i, names[i].as_str())),
        );
        let (value, problems) = coco::to_json(&part);
        let mut export = Export::default();
        for (image_path, shape_index, problem) in problems {
            export.issue(&image_path, Some(shape_index), problem);
        }
        export.files.push(OutputFile {
            path: format!("annotations/instances_{}.json", split.name()),
            bytes: serde_json::to_vec(&value)?,
        });
        take_export(&mut plan, export, &project_path_of);
    }
    Ok(plan)
}

fn plan_voc(
    dataset: &Dataset,
    classes: Vec<String>,
    images: &[PlannedImage],
    names: &[String],
    splits: &[Split],
) -> Result<DatasetPlan, ExportError> {
    let out = renamed(
        dataset,
        &classes,
        images
            .iter()
            .enumerate()
            .map(|(i, image)| (i, image.output_path.as_str())),
    );
    let project_path_of: HashMap<&str, &str> = images
        .iter()
        .map(|image| (image.output_path.as_str(), image.image_path.as_str()))
        .collect();
    let mut export = voc::export(&out)?;
    // Replaced by one list per split.
    export
        .files
        .retain(|file| !file.path.starts_with("ImageSets/"));
    let mut plan = DatasetPlan::default();
    take_export(&mut plan, export, &project_path_of);
    let ids_of = |wanted: &[Split]| {
        let mut ids = String::new();
        for (name, split) in names.iter().zip(splits) {
            if wanted.contains(split) {
                ids.push_str(file_stem(name));
                ids.push('\n');
            }
        }
        ids.into_bytes()
    };
    for split in written_splits(splits) {
        plan.files.push(OutputFile {
            path: format!("ImageSets/Main/{}.txt", split.name()),
            bytes: ids_of(&[split]),
        });
    }
    plan.files.push(OutputFile {
        path: "ImageSets/Main/trainval.txt".to_owned(),
        bytes: ids_of(&[Split::Train, Split::Val]),
    });
    Ok(plan)
}

fn plan_labelme(
    dataset: &Dataset,
    classes: Vec<String>,
    paths: &[&str],
    options: &DatasetOptions,
) -> Result<DatasetPlan, ExportError> {
    let names = unique_names(paths, false);
    let out = renamed(
        dataset,
        &classes,
        names.iter().enumerate().map(|(i, name)| (i, name.as_str())),
    );
    let project_path_of: HashMap<&str, &str> = names
        .iter()
        .zip(paths)
        .map(|(name, path)| (name.as_str(), *path))
        .collect();
    let export = labelme::export(&out, &options.labels)?;
    let mut plan = DatasetPlan::default();
    take_export(&mut plan, export, &project_path_of);
    plan.images = paths
        .iter()
        .zip(&names)
        .map(|(path, name)| PlannedImage {
            image_path: (*path).to_owned(),
            output_path: name.clone(),
            split: None,
        })
        .collect();
    Ok(plan)
}

/// The path's folders and file name as they may appear in an archive: no empty, `.` or `..`
/// components, and no `:` (a drive letter, or a name Windows cannot create).
fn safe_components(path: &str) -> Vec<String> {
    normalise_path(path)
        .split('/')
        .filter(|part| !matches!(*part, "" | "." | ".."))
        .map(|part| part.replace([':', '\0'], "_"))
        .collect()
}

/// A name for each of `paths`, unique in its stem ignoring case (see the module doc):
/// `flat`, a file name; otherwise the path with its folders.
fn unique_names(paths: &[&str], flat: bool) -> Vec<String> {
    let candidates: Vec<String> = if flat {
        let mut stem_count: HashMap<String, usize> = HashMap::new();
        for path in paths {
            *stem_count
                .entry(file_stem(path).to_lowercase())
                .or_default() += 1;
        }
        paths
            .iter()
            .map(|path| {
                let parts = safe_components(path);
                if stem_count
                    .get(&file_stem(path).to_lowercase())
                    .is_some_and(|&count| count > 1)
                {
                    parts.join("_")
                } else {
                    parts.last().cloned().unwrap_or_default()
                }
            })
            .collect()
    } else {
        paths
            .iter()
            .map(|path| safe_components(path).join("/"))
            .collect()
    };
    let key = |name: &str| with_extension(name, "").to_lowercase();
    let mut taken: HashSet<String> = HashSet::new();
    let mut names = Vec::with_capacity(paths.len());
    for candidate in candidates {
        let candidate = if file_name(&candidate).is_empty() {
            // A path of nothing but `..`: still an entry of its own.
            "image".to_owned()
        } else {
            candidate
        };
        let mut name = candidate.clone();
        let mut counter = 2;
        while !taken.insert(key(&name)) {
            name = with_suffix(&candidate, counter);
            counter += 1;
        }
        names.push(name);
    }
    names
}

/// `dir/stem-N.ext` for `dir/stem.ext`.
fn with_suffix(path: &str, counter: usize) -> String {
    let name = file_name(path);
    let stem = file_stem(path);
    let extension = &name[stem.len()..];
    let dir = parent_dir(path);
    if dir.is_empty() {
        format!("{stem}-{counter}{extension}")
    } else {
        format!("{dir}/{stem}-{counter}{extension}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_names() {
        assert_eq!(Split::of_folder("Valid"), Some(Split::Val));
        assert_eq!(Split::of_folder("train2017"), Some(Split::Train));
        assert_eq!(Split::of_folder("trains"), None);
        assert_eq!(Split::of_path("valid/images/a.jpg"), Some(Split::Val));
        assert_eq!(Split::of_path("train/val/a.jpg"), Some(Split::Val));
        assert_eq!(
            Split::of_path("test.jpg"),
            None,
            "a file name is not a folder"
        );
    }

    #[test]
    fn val_counts() {
        assert_eq!(val_count(10, 0.2), 2);
        assert_eq!(val_count(10, 0.0), 0);
        assert_eq!(val_count(10, f64::NAN), 0);
        assert_eq!(val_count(3, 0.01), 1);
        assert_eq!(val_count(3, 0.99), 2);
        assert_eq!(val_count(1, 0.2), 0);
        assert_eq!(val_count(4, 1.0), 4);
    }

    #[test]
    fn names_are_unique_by_stem_ignoring_case() {
        let names = unique_names(&["a/x.jpg", "b/x.jpg", "y.jpg", "Y.png", "a_x.jpg"], true);
        assert_eq!(
            names,
            ["a_x.jpg", "b_x.jpg", "y.jpg", "Y-2.png", "a_x-2.jpg"]
        );
        let names = unique_names(&["../up.jpg", "d/z.jpg", "d/z.png", "e/z.jpg"], false);
        assert_eq!(names, ["up.jpg", "d/z.jpg", "d/z-2.png", "e/z.jpg"]);
        assert_eq!(with_suffix("d/a.b.jpg", 3), "d/a.b-3.jpg");
    }
}
