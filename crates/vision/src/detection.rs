//! Comparing detections: whether two runs (f32 and f16, or sightline and a reference) found
//! the same objects. The type itself, [`Detection`], is `sightline_core::detection`'s, shared
//! with the worker protocol, the page and the CLI.

pub use sightline_core::detection::Detection;

use crate::yolo::nms::iou;

/// Whether two detectors found the same objects in one image: the same number, and each of
/// `found` paired with a distinct `reference` detection of the same class whose box overlaps
/// it with IoU ≥ `min_iou` and whose score is within `max_score_delta` (the test of the
/// Ultralytics references). `Err` describes the first difference.
pub fn same_detections(
    found: &[Detection],
    reference: &[Detection],
    min_iou: f32,
    max_score_delta: f32,
) -> Result<(), String> {
    if found.len() != reference.len() {
        return Err(format!(
            "{} detections instead of {}",
            found.len(),
            reference.len()
        ));
    }
    let mut used = vec![false; reference.len()];
    for detection in found {
        let best = reference
            .iter()
            .enumerate()
            .filter(|(i, r)| !used[*i] && r.class_id == detection.class_id)
            .map(|(i, r)| (i, iou(&r.bbox, &detection.bbox), r))
            .max_by(|a, b| a.1.total_cmp(&b.1));
        match best {
            Some((i, iou, r))
                if iou >= min_iou && (r.score - detection.score).abs() <= max_score_delta =>
            {
                used[i] = true;
            }
            Some((_, iou, r)) => {
                return Err(format!(
                    "{} {:.3} at {:?} is closest to {:.3} at {:?} (IoU {iou:.3})",
                    detection.label, detection.score, detection.bbox, r.score, r.bbox
                ));
            }
            None => {
                return Err(format!(
                    "{} {:.3} at {:?} has no counterpart",
                    detection.label, detection.score, detection.bbox
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detection(class_id: u32, score: f32, bbox: [f32; 4]) -> Detection {
        Detection {
            class_id,
            label: format!("c{class_id}"),
            score,
            bbox,
            polygon: None,
        }
    }

    #[test]
    fn same_detections_pairs_by_class_overlap_and_score() {
        let a = [
            detection(0, 0.9, [0.0, 0.0, 10.0, 10.0]),
            detection(1, 0.5, [20.0, 20.0, 30.0, 30.0]),
        ];
        // The same objects in another order, slightly moved.
        let b = [
            detection(1, 0.505, [20.0, 20.0, 30.0, 30.2]),
            detection(0, 0.9, [0.0, 0.1, 10.0, 10.0]),
        ];
        assert_eq!(same_detections(&a, &b, 0.95, 0.01), Ok(()));
        assert!(same_detections(&a, &b[..1], 0.95, 0.01).is_err());
        let other_class = [b[0].clone(), detection(2, 0.9, [0.0, 0.0, 10.0, 10.0])];
        assert!(same_detections(&a, &other_class, 0.95, 0.01).is_err());
        let other_score = [b[0].clone(), detection(0, 0.8, [0.0, 0.0, 10.0, 10.0])];
        let error = same_detections(&a, &other_score, 0.95, 0.01).unwrap_err();
        assert!(error.contains("0.800"), "{error}");
    }
}
