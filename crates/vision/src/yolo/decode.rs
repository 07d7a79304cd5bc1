//! YOLO head outputs → candidate boxes in model-input pixels, for both head layouts:
//! anchor-free (YOLOv5u/v8/11: `[1, 4 + nc (+ nm), N]`, class scores already sigmoid) and
//! classic anchor-based YOLOv5 (`[1, N, 5 + nc (+ nm)]`, objectness × class score).

/// The layout of a detection head.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum HeadLayout {
    /// `[1, 4 + nc + nm, N]`: YOLOv5u, YOLOv8, YOLO11.
    AnchorFree,
    /// `[1, N, 5 + nc + nm]`: the original YOLOv5 (AnyLabeling `yolov5`, `yolov5-seg`).
    Classic,
}

/// A box before NMS.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// `[x1, y1, x2, y2]` in model-input pixels.
    pub bbox_in_input: [f32; 4],
    /// Confidence (class score, × objectness for classic heads).
    pub score: f32,
    /// Best class.
    pub class_id: usize,
    /// Mask coefficients (empty for detection models).
    pub mask_coefficients: Vec<f32>,
}

/// Thresholds used while decoding.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DecodeThresholds {
    /// Minimum final score (strictly greater, as Ultralytics).
    pub score: f32,
    /// Minimum objectness for classic heads.
    pub objectness: f32,
}

/// Decodes `values` (row-major, shape `[1, a, b]`) into candidates above the thresholds.
/// `mask_channels` is the number of mask coefficients per box (0 for detection models).
pub fn decode_head(
    values: &[f32],
    shape: &[usize],
    layout: HeadLayout,
    mask_channels: usize,
    thresholds: DecodeThresholds,
) -> Vec<Candidate> {
    let (channels, boxes) = match (layout, shape) {
        (HeadLayout::AnchorFree, [_, c, n]) => (*c, *n),
        (HeadLayout::Classic, [_, n, c]) => (*c, *n),
        _ => return Vec::new(),
    };
    if values.len() < channels * boxes {
        return Vec::new();
    }
    let at = |channel: usize, index: usize| match layout {
        HeadLayout::AnchorFree => values[channel * boxes + index],
        HeadLayout::Classic => values[index * channels + channel],
    };
    let first_class = match layout {
        HeadLayout::AnchorFree => 4,
        HeadLayout::Classic => 5,
    };
    let Some(classes) = channels
        .checked_sub(first_class + mask_channels)
        .filter(|&c| c > 0)
    else {
        return Vec::new();
    };
    let mut candidates = Vec::new();
    for index in 0..boxes {
        let objectness = match layout {
            HeadLayout::AnchorFree => 1.0,
            HeadLayout::Classic => {
                let objectness = at(4, index);
                if objectness <= thresholds.objectness {
                    continue;
                }
                objectness
            }
        };
        let mut best = (0, f32::NEG_INFINITY);
        for class in 0..classes {
            let score = at(first_class + class, index) * objectness;
            if score > best.1 {
                best = (class, score);
            }
        }
        // Strictly above the threshold (NaN scores never pass).
        if best.1.partial_cmp(&thresholds.score) != Some(std::cmp::Ordering::Greater) {
            continue;
        }
        let (cx, cy, w, h) = (at(0, index), at(1, index), at(2, index), at(3, index));
        // A box without area (or an inverted one from a broken model) is not an object.
        if !(w > 0.0 && h > 0.0) {
            continue;
        }
        let mask_coefficients = (0..mask_channels)
            .map(|k| at(first_class + classes + k, index))
            .collect();
        candidates.push(Candidate {
            bbox_in_input: [cx - w / 2.0, cy - h / 2.0, cx + w / 2.0, cy + h / 2.0],
            score: best.1,
            class_id: best.0,
            mask_coefficients,
        });
    }
    candidates
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchor_free_and_classic_layouts_agree() {
        // Two boxes, two classes. Anchor-free [1, 6, 2].
        let anchor_free = [
            10.0, 50.0, 10.0, 50.0, 4.0, 8.0, 4.0, 8.0, 0.9, 0.1, 0.2, 0.3,
        ];
        let thresholds = DecodeThresholds {
            score: 0.25,
            objectness: 0.25,
        };
        let found = decode_head(
            &anchor_free,
            &[1, 6, 2],
            HeadLayout::AnchorFree,
            0,
            thresholds,
        );
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].bbox_in_input, [8.0, 8.0, 12.0, 12.0]);
        assert_eq!((found[0].class_id, found[0].score), (0, 0.9));
        assert_eq!((found[1].class_id, found[1].score), (1, 0.3));
        // Classic [1, 2, 7]: objectness 0.5 halves the scores, the second falls below.
        let classic = [
            10.0, 10.0, 4.0, 4.0, 0.5, 0.9, 0.2, 50.0, 50.0, 8.0, 8.0, 0.5, 0.1, 0.3,
        ];
        let found = decode_head(&classic, &[1, 2, 7], HeadLayout::Classic, 0, thresholds);
        assert_eq!(found.len(), 1);
        assert_eq!((found[0].class_id, found[0].score), (0, 0.45));
    }
}
