//! Model execution for Sightline.
//!
//! Owns loading the ONNX files that users bring (Ultralytics YOLO exports and AnyLabeling
//! model configs), running them with burn tensor ops generic over `B: Backend`, and the YOLO
//! pre/post-processing that turns pixels into detections. Backends are chosen by cargo
//! features; nothing here touches the browser or the terminal.
