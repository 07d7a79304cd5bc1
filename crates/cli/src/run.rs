//! `sightline run`: execute an ONNX model on a `.npy` input and write every output as
//! `<out>/<output name>.npy` — the raw engine, for comparing against onnxruntime.

use std::path::PathBuf;

use anyhow::Context;
use sightline_vision::npy::{read_npy, write_npy};
use sightline_vision::{ComputeDevice, DeviceChoice, OnnxModel};

/// Arguments of `sightline run`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The ONNX model.
    #[arg(long)]
    model: PathBuf,
    /// A float `.npy` array for the model's (single) input.
    #[arg(long)]
    input: PathBuf,
    /// Folder that receives one `.npy` per model output.
    #[arg(long)]
    out: PathBuf,
    /// Where to run: auto, cpu, vulkan or cuda.
    #[arg(long, default_value = "cpu")]
    device: String,
}

/// Runs the command.
pub fn run(args: &Args) -> anyhow::Result<std::process::ExitCode> {
    let choice: DeviceChoice = args.device.parse()?;
    let device = ComputeDevice::select(choice)?;
    let model = OnnxModel::from_file(&args.model, &device.device)
        .with_context(|| format!("loading {}", args.model.display()))?;
    let bytes =
        std::fs::read(&args.input).with_context(|| format!("reading {}", args.input.display()))?;
    let input = read_npy(&bytes).with_context(|| format!("reading {}", args.input.display()))?;
    let outputs = model.forward_host(&[(&input.values, &input.shape)])?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    for output in &outputs {
        let values = output.to_vec()?;
        let file_name: String = output
            .name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let path = args.out.join(format!("{file_name}.npy"));
        std::fs::write(&path, write_npy(output.shape(), &values))
            .with_context(|| format!("writing {}", path.display()))?;
        println!("{} {:?} → {}", output.name, output.shape(), path.display());
    }
    eprintln!("ran on {}", device.backend_name);
    Ok(std::process::ExitCode::SUCCESS)
}
