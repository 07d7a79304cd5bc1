//! Class-aware non-maximum suppression, as `torchvision.ops.nms` over Ultralytics'
//! class-offset boxes: highest score first, a box is dropped when its IoU with a kept box of
//! the same class is above the threshold.

use super::decode::Candidate;

/// Ultralytics' `max_nms`: at most this many boxes enter NMS (highest scores).
pub const MAX_NMS_INPUT: usize = 30_000;

/// Intersection over union of two `[x1, y1, x2, y2]` boxes (0 for empty boxes).
pub fn iou(a: &[f32; 4], b: &[f32; 4]) -> f32 {
    let w = (a[2].min(b[2]) - a[0].max(b[0])).max(0.0);
    let h = (a[3].min(b[3]) - a[1].max(b[1])).max(0.0);
    let inter = w * h;
    let area_a = (a[2] - a[0]).max(0.0) * (a[3] - a[1]).max(0.0);
    let area_b = (b[2] - b[0]).max(0.0) * (b[3] - b[1]).max(0.0);
    let union = area_a + area_b - inter;
    if union > 0.0 { inter / union } else { 0.0 }
}

/// Keeps the best boxes per class; returns at most `max_detections`, best first.
pub fn non_max_suppression(
    mut candidates: Vec<Candidate>,
    iou_threshold: f32,
    max_detections: usize,
) -> Vec<Candidate> {
    candidates.sort_by(|a, b| b.score.total_cmp(&a.score));
    candidates.truncate(MAX_NMS_INPUT);
    let mut kept: Vec<Candidate> = Vec::new();
    for candidate in candidates {
        if kept.len() >= max_detections {
            break;
        }
        let suppressed = kept.iter().any(|k| {
            k.class_id == candidate.class_id
                && iou(&k.bbox_in_input, &candidate.bbox_in_input) > iou_threshold
        });
        if !suppressed {
            kept.push(candidate);
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(bbox: [f32; 4], score: f32, class_id: usize) -> Candidate {
        Candidate {
            bbox_in_input: bbox,
            score,
            class_id,
            mask_coefficients: Vec::new(),
        }
    }

    #[test]
    fn suppression_is_per_class() {
        let boxes = vec![
            candidate([0.0, 0.0, 10.0, 10.0], 0.8, 0),
            candidate([1.0, 0.0, 11.0, 10.0], 0.9, 0),
            candidate([1.0, 0.0, 11.0, 10.0], 0.7, 1),
            candidate([50.0, 50.0, 60.0, 60.0], 0.3, 0),
        ];
        let kept = non_max_suppression(boxes, 0.45, 300);
        let scores: Vec<f32> = kept.iter().map(|c| c.score).collect();
        assert_eq!(scores, vec![0.9, 0.7, 0.3]);
        assert!((iou(&[0.0, 0.0, 10.0, 10.0], &[5.0, 0.0, 15.0, 10.0]) - 1.0 / 3.0).abs() < 1e-6);
    }
}
