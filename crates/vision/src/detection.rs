//! The result type of a detector: one object found in an image, in original-image pixels.

use serde::{Deserialize, Serialize};

use crate::yolo::nms::iou;

/// One detected object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Detection {
    /// Index into the model's class list.
    pub class_id: usize,
    /// The class's name (from the model config or the ONNX metadata).
    pub class_name: String,
    /// Confidence in `[0, 1]`.
    pub score: f32,
    /// `[x1, y1, x2, y2]` in original-image pixels, clipped to the image.
    pub bbox_in_image: [f32; 4],
    /// Outline of the instance mask in original-image pixels (segmentation models only).
    pub polygon_in_image: Option<Vec<[f32; 2]>>,
}

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
            .map(|(i, r)| (i, iou(&r.bbox_in_image, &detection.bbox_in_image), r))
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
                    detection.class_name,
                    detection.score,
                    detection.bbox_in_image,
                    r.score,
                    r.bbox_in_image
                ));
            }
            None => {
                return Err(format!(
                    "{} {:.3} at {:?} has no counterpart",
                    detection.class_name, detection.score, detection.bbox_in_image
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detection(class_id: usize, score: f32, bbox: [f32; 4]) -> Detection {
        Detection {
            class_id,
            class_name: format!("c{class_id}"),
            score,
            bbox_in_image: bbox,
            polygon_in_image: None,
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
