//! AnyLabeling model configs: the YAML file that names a model's type, its ONNX file, input
//! size, thresholds and classes.
//!
//! ```yaml
//! type: yolov8
//! name: yolov8n-r20230415
//! display_name: YOLOv8n Ultralytics
//! model_path: yolov8n.onnx
//! input_width: 640
//! input_height: 640
//! score_threshold: 0.25
//! nms_threshold: 0.45
//! confidence_threshold: 0.25
//! classes: [person, bicycle]
//! ```

use serde::Deserialize;

use crate::error::{Result, VisionError};
use crate::yolo::decode::HeadLayout;

/// A parsed AnyLabeling model config.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ModelConfig {
    /// Model type, e.g. `yolov8`, `yolov8_seg`, `yolov5`, `yolov5-seg`, `yolo11`.
    #[serde(rename = "type")]
    pub model_type: String,
    /// Identifier.
    #[serde(default)]
    pub name: Option<String>,
    /// Name shown to the user.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Path (relative to the YAML file) or URL of the ONNX file.
    pub model_path: String,
    /// Model input width in pixels.
    #[serde(default)]
    pub input_width: Option<u32>,
    /// Model input height in pixels.
    #[serde(default)]
    pub input_height: Option<u32>,
    /// Minimum class score.
    #[serde(default)]
    pub score_threshold: Option<f32>,
    /// NMS IoU threshold.
    #[serde(default)]
    pub nms_threshold: Option<f32>,
    /// Minimum objectness (classic YOLOv5 heads).
    #[serde(default)]
    pub confidence_threshold: Option<f32>,
    /// Class names in class-id order.
    #[serde(default)]
    pub classes: Option<Vec<String>>,
}

/// Model types accepted in the `type` field.
pub const SUPPORTED_TYPES: &[&str] = &[
    "yolov5",
    "yolov5_seg",
    "yolov5-seg",
    "yolov5u",
    "yolov8",
    "yolov8_seg",
    "yolov8-seg",
    "yolo11",
    "yolo11_seg",
    "yolo11-seg",
    "yolov11",
    "yolov11_seg",
    "yolov11-seg",
];

impl ModelConfig {
    /// Parses YAML text.
    pub fn from_yaml(text: &str) -> Result<Self> {
        let config: Self =
            serde_yaml::from_str(text).map_err(|err| VisionError::Config(err.to_string()))?;
        config.head_layout()?;
        for (name, value) in [
            ("score_threshold", config.score_threshold),
            ("nms_threshold", config.nms_threshold),
            ("confidence_threshold", config.confidence_threshold),
        ] {
            if value.is_some_and(|v| !(0.0..=1.0).contains(&v)) {
                return Err(VisionError::Config(format!(
                    "{name} must be between 0 and 1"
                )));
            }
        }
        if config.input_width == Some(0) || config.input_height == Some(0) {
            return Err(VisionError::Config(
                "input_width and input_height must be positive".into(),
            ));
        }
        Ok(config)
    }

    /// The head layout implied by `type`.
    pub fn head_layout(&self) -> Result<HeadLayout> {
        let model_type = self.model_type.to_ascii_lowercase();
        if !SUPPORTED_TYPES.contains(&model_type.as_str()) {
            return Err(VisionError::Config(format!(
                "model type `{}` is not supported (supported: {})",
                self.model_type,
                SUPPORTED_TYPES.join(", ")
            )));
        }
        Ok(
            if model_type == "yolov5"
                || model_type.starts_with("yolov5_")
                || model_type.starts_with("yolov5-")
            {
                HeadLayout::Classic
            } else {
                HeadLayout::AnchorFree
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anylabeling_configs_parse() {
        let config = ModelConfig::from_yaml(
            "type: yolov5-seg\nname: x\ndisplay_name: X\nmodel_path: m.onnx\ninput_width: 320\n\
             input_height: 320\nscore_threshold: 0.3\nnms_threshold: 0.5\nconfidence_threshold: 0.4\n\
             classes:\n  - cat\n  - dog\n",
        )
        .unwrap();
        assert_eq!(config.head_layout().unwrap(), HeadLayout::Classic);
        assert_eq!(
            config.classes.as_deref(),
            Some(&["cat".to_string(), "dog".to_string()][..])
        );
        let v8 = ModelConfig::from_yaml("type: yolov8\nmodel_path: a.onnx\n").unwrap();
        assert_eq!(v8.head_layout().unwrap(), HeadLayout::AnchorFree);
        assert!(ModelConfig::from_yaml("type: sam\nmodel_path: a.onnx\n").is_err());
        assert!(ModelConfig::from_yaml("type: yolov8\n").is_err());
        assert!(ModelConfig::from_yaml("type: yolov8\nmodel_path: a\nnms_threshold: 3\n").is_err());
    }
}
