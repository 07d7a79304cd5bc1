#!/usr/bin/env python3
"""Writes the ONNX seeds of the `onnx` fuzz target (seeds/onnx/*.onnx): tiny hand-built models
(no `onnx` package needed, the protobuf is encoded here) covering every supported operator, every
tensor data type and attribute kind the reader converts, and the ways a file goes wrong that the
reader must refuse with an error (unknown operators, graph loops, huge declared tensors, external
data, outputs never computed). Run from anywhere: python3 crates/vision/fuzz/make_onnx_seeds.py
"""

import os
import struct

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "seeds", "onnx")

FLOAT, UINT8, INT8, INT32, INT64, BOOL, FLOAT16, DOUBLE = 1, 2, 3, 6, 7, 9, 10, 11
AT_FLOAT, AT_INT, AT_STRING, AT_TENSOR, AT_FLOATS, AT_INTS = 1, 2, 3, 4, 6, 7


def varint(value):
    value &= (1 << 64) - 1  # negative int64: ten bytes of two's complement
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def key(field, wire):
    return varint(field << 3 | wire)


def f_varint(field, value):
    return key(field, 0) + varint(value)


def f_bytes(field, data):
    if isinstance(data, str):
        data = data.encode()
    return key(field, 2) + varint(len(data)) + data


def f_float(field, value):
    return key(field, 5) + struct.pack("<f", value)


def packed_varints(field, values):
    return f_bytes(field, b"".join(varint(v) for v in values))


def packed(field, fmt, values):
    return f_bytes(field, b"".join(struct.pack("<" + fmt, v) for v in values))


def f16_bits(value):
    return struct.unpack("<H", struct.pack("<e", value))[0]


def tensor(name, dims, data_type, values=(), raw=None, typed=None, location=None):
    """A TensorProto; `raw` packs `values` into raw_data with that struct format, `typed`
    names the typed field (4 float, 5 int32, 7 int64, 10 double) that holds them."""
    out = packed_varints(1, dims) + f_varint(2, data_type) + f_bytes(8, name)
    if raw is not None:
        out += f_bytes(9, b"".join(struct.pack("<" + raw, v) for v in values))
    elif typed == 4:
        out += packed(4, "f", values)
    elif typed == 5:
        out += packed_varints(5, values)
    elif typed == 7:
        out += packed_varints(7, values)
    elif typed == 10:
        out += packed(10, "d", values)
    if location is not None:
        out += f_varint(14, location)
    return out


def attr(name, value):
    if isinstance(value, bytes):  # a TensorProto
        return f_bytes(1, name) + f_bytes(5, value) + f_varint(20, AT_TENSOR)
    if isinstance(value, float):
        return f_bytes(1, name) + f_float(2, value) + f_varint(20, AT_FLOAT)
    if isinstance(value, int):
        return f_bytes(1, name) + f_varint(3, value) + f_varint(20, AT_INT)
    if isinstance(value, str):
        return f_bytes(1, name) + f_bytes(4, value) + f_varint(20, AT_STRING)
    if all(isinstance(v, float) for v in value):
        return f_bytes(1, name) + packed(7, "f", value) + f_varint(20, AT_FLOATS)
    return f_bytes(1, name) + packed_varints(8, value) + f_varint(20, AT_INTS)


def node(op, inputs, outputs, name="", domain="", **attributes):
    out = b"".join(f_bytes(1, i) for i in inputs) + b"".join(f_bytes(2, o) for o in outputs)
    if name:
        out += f_bytes(3, name)
    out += f_bytes(4, op)
    for attr_name, value in attributes.items():
        out += f_bytes(5, attr(attr_name, value))
    if domain:
        out += f_bytes(7, domain)
    return out


def value(name, dims, elem_type=FLOAT):
    dim = b"".join(
        f_bytes(1, f_varint(1, d) if isinstance(d, int) else f_bytes(2, d)) for d in dims
    )
    tensor_type = f_varint(1, elem_type) + f_bytes(2, dim)
    return f_bytes(1, name) + f_bytes(2, f_bytes(1, tensor_type))


def model(nodes, inputs, outputs, initializers=(), opset=17, metadata=(), ir=8):
    graph = b"".join(f_bytes(1, n) for n in nodes) + f_bytes(2, "g")
    graph += b"".join(f_bytes(5, t) for t in initializers)
    graph += b"".join(f_bytes(11, v) for v in inputs) + b"".join(f_bytes(12, v) for v in outputs)
    out = f_varint(1, ir) + f_bytes(2, "sightline-seeds") + f_bytes(7, graph)
    out += f_bytes(8, f_bytes(1, "") + f_varint(2, opset))
    for k, v in metadata:
        out += f_bytes(14, f_bytes(1, k) + f_bytes(2, v))
    return out


def floats(count, scale=0.1):
    return [((i * 7) % 11 - 5) * scale for i in range(count)]


YOLO_METADATA = [
    ("names", "{0: 'cat', 1: 'dog'}"),
    ("stride", "32"),
    ("task", "detect"),
    ("imgsz", "[4, 4]"),
]

SEEDS = {
    # Ultralytics' SiLU (fused into the Conv), a Constant shape, Reshape keeping the batch.
    "silu.onnx": model(
        [
            node("Conv", ["x", "W", "B"], ["c"], name="conv0", pads=[1, 1, 1, 1],
                 kernel_shape=[3, 3], strides=[1, 1]),
            node("Sigmoid", ["c"], ["s"]),
            node("Mul", ["c", "s"], ["y"]),
            node("Constant", [], ["shape"],
                 value=tensor("", [3], INT64, [1, 8, -1], typed=7)),
            node("Reshape", ["y", "shape"], ["r"]),
            node("Softmax", ["r"], ["out"], axis=-1),
        ],
        [value("x", [1, 3, 4, 4])],
        [value("out", [1, 8, 16])],
        [
            tensor("W", [8, 3, 3, 3], FLOAT, floats(216), raw="f"),
            tensor("B", [8], FLOAT, floats(8), typed=4),
        ],
        metadata=YOLO_METADATA,
    ),
    # Every other supported operator once, shapes consistent, symbolic batch dimension.
    "ops.onnx": model(
        [
            node("Conv", ["x", "W"], ["a"], kernel_shape=[3, 3], strides=[2, 2],
                 pads=[1, 1, 1, 1], group=1, dilations=[1, 1]),
            node("MaxPool", ["a"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
            node("Resize", ["p", "", "scales"], ["r"], mode="nearest"),
            node("Concat", ["a", "r"], ["c"], axis=1),
            node("Split", ["c", "split"], ["s1", "s2"], axis=1),
            node("Add", ["s1", "s2"], ["ad"]),
            node("Sub", ["ad", "k"], ["sb"]),
            node("Div", ["sb", "k2"], ["dv"]),
            node("Pow", ["dv", "two"], ["pw"]),
            node("Slice", ["pw", "starts", "ends", "axes", "steps"], ["sl"]),
            node("Transpose", ["sl"], ["t"], perm=[0, 1, 3, 2]),
            node("MatMul", ["t", "M"], ["mm"]),
            node("Identity", ["mm"], ["id"]),
            node("ConvTranspose", ["a", "WT"], ["ct"], kernel_shape=[2, 2], strides=[2, 2]),
        ],
        [value("x", ["batch", 3, 8, 8])],
        [value("id", [1, 4, 4, 3]), value("ct", [1, 2, 8, 8])],
        [
            tensor("W", [4, 3, 3, 3], FLOAT, floats(108), typed=4),
            tensor("scales", [4], FLOAT, [1.0, 1.0, 2.0, 2.0], typed=4),
            tensor("split", [2], INT64, [4, 4], raw="q"),
            tensor("k", [], DOUBLE, [0.5], raw="d"),
            tensor("k2", [1], FLOAT16, [f16_bits(2.0)], raw="H"),
            tensor("two", [], INT32, [2], typed=5),
            tensor("starts", [1], INT64, [0], typed=7),
            tensor("ends", [1], INT64, [2], typed=7),
            tensor("axes", [1], INT64, [2], typed=7),
            tensor("steps", [1], INT32, [1], raw="i"),
            tensor("M", [2, 3], FLOAT, floats(6), typed=4),
            tensor("WT", [4, 2, 2, 2], FLOAT, floats(32), raw="f"),
        ],
    ),
    # Opset 9 forms: Slice by attributes, Resize scales as input 1, Softmax axis 1, and the
    # scalar and list forms of Constant.
    "opset9.onnx": model(
        [
            node("Constant", [], ["sc"], value_floats=[1.0, 1.0, 2.0, 2.0]),
            node("Constant", [], ["half"], value_float=0.5),
            node("Constant", [], ["one"], value_int=1),
            node("Constant", [], ["shape"], value_ints=[1, -1]),
            node("Resize", ["x", "sc"], ["r"], mode="nearest"),
            node("Slice", ["r"], ["s"], starts=[0], ends=[4], axes=[3]),
            node("Mul", ["s", "half"], ["m"]),
            node("Reshape", ["m", "shape"], ["f"]),
            node("Softmax", ["f"], ["y"]),
        ],
        [value("x", [1, 2, 3, 3])],
        [value("y", [1, 48])],
        opset=9,
    ),
    # Initializers of every data type, in raw and typed form (the graph is one Identity).
    "dtypes.onnx": model(
        [node("Identity", ["x"], ["y"], note="attributes of every kind", f=1.5)],
        [value("x", [1, 2])],
        [value("y", [1, 2])],
        [
            tensor("u8", [2], UINT8, [1, 255], raw="B"),
            tensor("u8t", [2], UINT8, [1, 255], typed=5),
            tensor("i8", [2], INT8, [-1, 127], raw="b"),
            tensor("i8t", [2], INT8, [-1, 127], typed=5),
            tensor("b", [2], BOOL, [0, 1], raw="B"),
            tensor("i32", [2], INT32, [-7, 7], raw="i"),
            tensor("i64", [2], INT64, [-7, 7], typed=7),
            tensor("f16", [2], FLOAT16, [f16_bits(0.333), f16_bits(-2.0)], typed=5),
            tensor("f16sub", [1], FLOAT16, [1], raw="H"),
            tensor("f64", [2], DOUBLE, [1e-3, -1e3], typed=10),
            tensor("f32", [2, 1], FLOAT, [1.0, -1.0], raw="f"),
            tensor("empty", [0, 3], FLOAT, []),
        ],
    ),
    # Refused: an operator the engine lacks, and one of another domain.
    "unknown-op.onnx": model(
        [node("Sigmoid", ["x"], ["s"]), node("Gelu", ["s"], ["y"], name="gelu0")],
        [value("x", [1, 4])],
        [value("y", [1, 4])],
    ),
    "custom-domain.onnx": model(
        [node("FusedConv", ["x"], ["y"], domain="com.microsoft")],
        [value("x", [1, 4])],
        [value("y", [1, 4])],
    ),
    # Refused: a loop (each node reads the other's output), and a node reading a value that
    # nothing computes.
    "loop.onnx": model(
        [node("Add", ["x", "b"], ["a"]), node("Identity", ["a"], ["b"])],
        [value("x", [1, 4])],
        [value("a", [1, 4])],
    ),
    "dangling-input.onnx": model(
        [node("Add", ["x", "nowhere"], ["y"])],
        [value("x", [1, 4])],
        [value("y", [1, 4])],
    ),
    "output-never-computed.onnx": model(
        [node("Identity", ["x"], ["y"])],
        [value("x", [1, 4])],
        [value("z", [1, 4])],
    ),
    # Refused: every input is an initializer.
    "no-input.onnx": model(
        [node("Identity", ["w"], ["y"])],
        [value("w", [2])],
        [value("y", [2])],
        [tensor("w", [2], FLOAT, [1.0, 2.0], typed=4)],
    ),
    # Refused: declared sizes far beyond the data (2^34 elements; 2^62), a negative dimension,
    # data that does not fill the shape, data in an external file, an unknown data type.
    "huge-tensor.onnx": model(
        [node("Add", ["x", "w"], ["y"])],
        [value("x", [1, 4])],
        [value("y", [1, 4])],
        [tensor("w", [65536, 65536, 4], FLOAT, [1.0, 2.0, 3.0, 4.0], raw="f")],
    ),
    "overflowing-dims.onnx": model(
        [node("Add", ["x", "w"], ["y"])],
        [value("x", [1, 4])],
        [value("y", [1, 4])],
        [tensor("w", [1 << 31, 1 << 31], FLOAT, [1.0], typed=4)],
    ),
    "negative-dim.onnx": model(
        [node("Add", ["x", "w"], ["y"])],
        [value("x", [1, 4])],
        [value("y", [1, 4])],
        [tensor("w", [-4], FLOAT, [1.0, 2.0, 3.0, 4.0], typed=4)],
    ),
    "short-data.onnx": model(
        [node("Add", ["x", "w"], ["y"])],
        [value("x", [1, 4])],
        [value("y", [1, 4])],
        [tensor("w", [4], FLOAT, [1.0, 2.0, 3.0], raw="f")],
    ),
    "external-data.onnx": model(
        [node("Add", ["x", "w"], ["y"])],
        [value("x", [1, 4])],
        [value("y", [1, 4])],
        [tensor("w", [4], FLOAT, location=1)],
    ),
    "bad-dtype.onnx": model(
        [node("Add", ["x", "w"], ["y"])],
        [value("x", [1, 4])],
        [value("y", [1, 4])],
        [tensor("w", [1], 8, [7], typed=5)],
    ),
    # A Constant without a value: refused when the model is built.
    "constant-without-value.onnx": model(
        [node("Constant", [], ["c"]), node("Add", ["x", "c"], ["y"])],
        [value("x", [1, 4])],
        [value("y", [1, 4])],
    ),
}


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
    print(f"{len(SEEDS)} seeds, {sum(map(len, SEEDS.values()))} bytes in {OUT}")


if __name__ == "__main__":
    main()
