"""Reference forward times: onnxruntime (CPU) on the same ONNX files and input as
crates/vision/benches/forward.rs. Prints one JSON object: {model_name: ms_per_image}.

Run by `cargo xtask bench` from its own virtual environment (onnxruntime from PyPI).
"""
import argparse
import json
import os
import statistics
import time

import numpy as np
import onnxruntime as ort


def forward_ms(path: str, threads: int, rounds: int) -> float:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    meta = session.get_inputs()[0]
    shape = [d if isinstance(d, int) else 1 for d in meta.shape]
    feed = {meta.name: np.full(shape, 0.5, dtype=np.float32)}
    session.run(None, feed)  # warm-up
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        session.run(None, feed)
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("models", nargs="+")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    result = {
        os.path.splitext(os.path.basename(m))[0]: forward_ms(m, args.threads, args.rounds)
        for m in args.models
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
