//! What a model found in an image, as every layer carries it: the vision decoder's output,
//! the worker's replies (`sightline-protocol` re-exports [`Detection`]), the page's
//! predictions and the CLI's outputs. Also the two rules shared by the page and the CLI:
//! how a detection becomes an annotation ([`Detection::to_shape`]) and when an image passes
//! the image filter ([`any_matches`]).

use serde::{Deserialize, Serialize};

use crate::annotation::Shape;
use crate::view::Point;

/// One object a model found, in original-image pixels.
///
/// Serialised with the field names of the worker protocol. The `alias`es read what
/// `sightline label` kept in its resume cache (`<out>/.sightline/detections/`) before this
/// type was shared, so a rerun over an older cache continues where it stopped.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Detection {
    /// Index into the model's class list.
    pub class_id: u32,
    /// The class name (the model's, or `class<N>`).
    #[serde(alias = "class_name")]
    pub label: String,
    /// Confidence in `[0, 1]`.
    pub score: f32,
    /// `[x1, y1, x2, y2]`, clipped to the image.
    #[serde(alias = "bbox_in_image")]
    pub bbox: [f32; 4],
    /// Instance outline of segmentation models.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "polygon_in_image"
    )]
    pub polygon: Option<Vec<[f32; 2]>>,
}

impl Detection {
    /// The shape a prediction becomes: a rectangle, or the instance polygon of a
    /// segmentation model when it has at least 3 points (else the box), marked as predicted
    /// with its score.
    pub fn to_shape(&self) -> Shape {
        let mut shape = match &self.polygon {
            Some(points) if points.len() >= 3 => Shape::polygon(
                self.label.clone(),
                points
                    .iter()
                    .map(|p| Point::new(f64::from(p[0]), f64::from(p[1])))
                    .collect(),
            ),
            _ => Shape::rectangle(
                self.label.clone(),
                Point::new(f64::from(self.bbox[0]), f64::from(self.bbox[1])),
                Point::new(f64::from(self.bbox[2]), f64::from(self.bbox[3])),
            ),
        };
        shape.predicted = true;
        shape.score = Some(f64::from(self.score));
        shape
    }

    /// Whether this detection counts for the image filter: of one of `classes` (any class
    /// when empty), with a confidence in `[min_confidence, max_confidence]` (both inclusive).
    pub fn matches(&self, classes: &[String], min_confidence: f32, max_confidence: f32) -> bool {
        (classes.is_empty() || classes.contains(&self.label))
            && self.score >= min_confidence
            && self.score <= max_confidence
    }
}

/// The image filter's rule (the page's and `sightline filter`'s): an image matches when at
/// least one of its detections [`matches`](Detection::matches).
pub fn any_matches(
    detections: &[Detection],
    classes: &[String],
    min_confidence: f32,
    max_confidence: f32,
) -> bool {
    detections
        .iter()
        .any(|d| d.matches(classes, min_confidence, max_confidence))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::annotation::ShapeKind;

    fn person(score: f32) -> Detection {
        Detection {
            class_id: 0,
            label: "person".into(),
            score,
            bbox: [1.0, 2.0, 30.5, 40.25],
            polygon: None,
        }
    }

    fn points(shape: &Shape) -> Vec<(f64, f64)> {
        shape.points_in_image.iter().map(|p| (p.x, p.y)).collect()
    }

    #[test]
    fn a_box_becomes_a_predicted_rectangle() {
        let rect = person(0.75).to_shape();
        assert_eq!(rect.kind, ShapeKind::Rectangle);
        assert!(rect.predicted);
        assert_eq!(rect.score, Some(0.75));
        assert_eq!(rect.label, "person");
        assert_eq!(points(&rect), [(1.0, 2.0), (30.5, 40.25)]);
    }

    #[test]
    fn an_outline_of_three_points_or_more_becomes_a_polygon() {
        let outline = Detection {
            polygon: Some(vec![[0.0, 0.0], [4.0, 0.0], [4.0, 3.0]]),
            ..person(0.5)
        }
        .to_shape();
        assert_eq!(outline.kind, ShapeKind::Polygon);
        assert!(outline.predicted);
        assert_eq!(outline.score, Some(0.5));
        assert_eq!(points(&outline), [(0.0, 0.0), (4.0, 0.0), (4.0, 3.0)]);
    }

    #[test]
    fn an_outline_of_fewer_than_three_points_falls_back_to_the_box() {
        for polygon in [vec![], vec![[0.0, 0.0]], vec![[0.0, 0.0], [4.0, 3.0]]] {
            let shape = Detection {
                polygon: Some(polygon),
                ..person(0.5)
            }
            .to_shape();
            assert_eq!(shape.kind, ShapeKind::Rectangle);
            assert_eq!(points(&shape), [(1.0, 2.0), (30.5, 40.25)]);
            assert!(shape.predicted);
        }
    }

    #[test]
    fn filter_rule_takes_chosen_classes_in_an_inclusive_confidence_range() {
        let person_only = ["person".to_owned()];
        assert!(any_matches(&[person(0.7)], &person_only, 0.5, 0.9));
        assert!(any_matches(&[person(0.5)], &person_only, 0.5, 0.9), "min");
        assert!(any_matches(&[person(0.9)], &person_only, 0.5, 0.9), "max");
        assert!(!any_matches(&[person(0.95)], &person_only, 0.5, 0.9));
        assert!(!any_matches(&[person(0.2)], &person_only, 0.5, 0.9));
        assert!(!any_matches(&[], &person_only, 0.0, 1.0));
        assert!(!any_matches(&[], &[], 0.0, 1.0));
        let dog = Detection {
            label: "dog".into(),
            ..person(0.8)
        };
        assert!(!any_matches(
            std::slice::from_ref(&dog),
            &person_only,
            0.5,
            0.9
        ));
        assert!(
            any_matches(std::slice::from_ref(&dog), &[], 0.5, 0.9),
            "any class"
        );
        // One detection that fits is enough, whatever the others are.
        assert!(any_matches(
            &[dog, person(0.2), person(0.6)],
            &person_only,
            0.5,
            0.9
        ));
    }

    #[test]
    fn serialises_with_the_protocol_field_names() {
        let json = serde_json::to_value(person(0.5)).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "class_id": 0,
                "label": "person",
                "score": 0.5,
                "bbox": [1.0, 2.0, 30.5, 40.25],
            })
        );
        let with_polygon = Detection {
            polygon: Some(vec![[1.0, 2.0], [3.0, 4.0], [5.0, 1.5]]),
            ..person(0.5)
        };
        let back: Detection =
            serde_json::from_str(&serde_json::to_string(&with_polygon).unwrap()).unwrap();
        assert_eq!(back, with_polygon);
    }

    #[test]
    fn reads_the_cli_cache_written_before_the_type_was_shared() {
        let old = r#"{"class_id":1,"class_name":"Fall","score":0.49529,
            "bbox_in_image":[49.98,256.57,211.04,347.92],"polygon_in_image":null}"#;
        let detection: Detection = serde_json::from_str(old).unwrap();
        assert_eq!(
            detection,
            Detection {
                class_id: 1,
                label: "Fall".into(),
                score: 0.49529,
                bbox: [49.98, 256.57, 211.04, 347.92],
                polygon: None,
            }
        );
        let outline = r#"{"class_id":0,"class_name":"a","score":1.0,"bbox_in_image":[0,0,4,3],
            "polygon_in_image":[[0,0],[4,0],[4,3]]}"#;
        let detection: Detection = serde_json::from_str(outline).unwrap();
        assert_eq!(detection.polygon.map(|p| p.len()), Some(3));
    }
}
