//! Choosing where models run: the backends compiled in (cargo features `flex`, `ndarray`,
//! `wgpu`, `cuda`) and a small type that reports which one was picked.

use burn::tensor::Device;

use crate::error::{Result, VisionError};

/// What the user asked for (`--device auto|cpu|vulkan|cuda`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeviceChoice {
    /// The fastest backend compiled in: CUDA, then wgpu, then the CPU.
    #[default]
    Auto,
    /// The CPU backend (flex, or ndarray when only that is compiled in).
    Cpu,
    /// wgpu (Vulkan/Metal/DX12 natively, WebGPU in the browser).
    Wgpu,
    /// CUDA.
    Cuda,
}

impl std::str::FromStr for DeviceChoice {
    type Err = VisionError;

    fn from_str(text: &str) -> Result<Self> {
        match text.to_ascii_lowercase().as_str() {
            "auto" => Ok(Self::Auto),
            "cpu" => Ok(Self::Cpu),
            "vulkan" | "wgpu" | "webgpu" | "gpu" => Ok(Self::Wgpu),
            "cuda" => Ok(Self::Cuda),
            other => Err(VisionError::Backend(format!(
                "unknown device `{other}` (use auto, cpu, vulkan or cuda)"
            ))),
        }
    }
}

/// A burn device plus a human-readable name of the backend behind it.
#[derive(Debug, Clone)]
pub struct ComputeDevice {
    /// The burn device tensors are created on.
    pub device: Device,
    /// Backend name, e.g. `cpu (flex)`.
    pub backend_name: &'static str,
}

impl ComputeDevice {
    /// True for the GPU backends (wgpu, CUDA).
    pub fn is_gpu(&self) -> bool {
        !self.backend_name.starts_with("cpu")
    }

    /// Picks a device for `choice` among the backends compiled into this build.
    pub fn select(choice: DeviceChoice) -> Result<Self> {
        match choice {
            DeviceChoice::Cpu => Self::cpu(),
            DeviceChoice::Wgpu => Self::wgpu(),
            DeviceChoice::Cuda => Self::cuda(),
            DeviceChoice::Auto => Self::cuda()
                .or_else(|_| Self::wgpu())
                .or_else(|_| Self::cpu()),
        }
    }

    /// The CPU backend: flex when compiled in, otherwise ndarray.
    pub fn cpu() -> Result<Self> {
        #[cfg(feature = "flex")]
        {
            Ok(Self {
                device: Device::flex(),
                backend_name: "cpu (burn flex)",
            })
        }
        #[cfg(all(not(feature = "flex"), feature = "ndarray"))]
        {
            #[allow(deprecated)] // burn 0.22 deprecates ndarray in favour of flex
            Ok(Self {
                device: Device::ndarray(),
                backend_name: "cpu (burn ndarray)",
            })
        }
        #[cfg(not(any(feature = "flex", feature = "ndarray")))]
        {
            Err(not_compiled("cpu", "flex"))
        }
    }

    /// The default wgpu adapter (the wgpu runtime fails at first use when none exists).
    pub fn wgpu() -> Result<Self> {
        #[cfg(feature = "wgpu")]
        {
            Ok(Self {
                device: Device::wgpu(burn::tensor::DeviceKind::DefaultDevice),
                backend_name: "gpu (burn wgpu)",
            })
        }
        #[cfg(not(feature = "wgpu"))]
        {
            Err(not_compiled("vulkan", "wgpu"))
        }
    }

    /// The first CUDA device.
    pub fn cuda() -> Result<Self> {
        #[cfg(feature = "cuda")]
        {
            Ok(Self {
                device: Device::cuda(0usize),
                backend_name: "cuda (burn cuda)",
            })
        }
        #[cfg(not(feature = "cuda"))]
        {
            Err(not_compiled("cuda", "cuda"))
        }
    }
}

#[allow(dead_code)] // unused when every backend is compiled in
fn not_compiled(what: &str, feature: &str) -> VisionError {
    VisionError::Backend(format!(
        "the {what} backend is not part of this build (rebuild with the `{feature}` feature)"
    ))
}
