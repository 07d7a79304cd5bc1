#!/usr/bin/env python3
"""Writes the hostile-input corpus next to this script (see README.md and cases.tsv).

Run from anywhere: `python3 tests/corpus/hostile/make_corpus.py` with Pillow installed
(`python3 -m venv /tmp/v && /tmp/v/bin/pip install pillow`). The files are committed; rerun
only to change a case. JPEG bytes depend on Pillow's libjpeg, so a rerun may change them
(the expected outcomes do not).
"""

import base64
import io
import json
import struct
import zlib
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent


def write(path, data):
    target = ROOT / path
    target.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    target.write_bytes(data)


def picture(width, height, mode="RGB"):
    """A small image with some structure (a gradient and a block), so it compresses to
    real entropy-coded data."""
    image = Image.new("RGB", (width, height))
    image.putdata(
        [((x * 255) // max(width - 1, 1), (y * 255) // max(height - 1, 1), (x * y) % 256)
         for y in range(height) for x in range(width)]
    )
    return image.convert(mode) if mode != "RGB" else image


def encoded(image, fmt, **options):
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


# ---------------------------------------------------------------- images
def images():
    write("images/good.jpg", encoded(picture(32, 24), "JPEG", quality=90))
    write("images/empty.jpg", b"")
    whole = encoded(picture(64, 48), "JPEG", quality=95)
    write("images/truncated.jpg", whole[: len(whole) * 6 // 10])
    png = encoded(picture(64, 48), "PNG")
    write("images/truncated.png", png[: len(png) // 2])
    write("images/text_named.jpg", "This is a text file, not a photo.\n")
    write("images/png_named.jpg", encoded(picture(24, 16), "PNG"))

    # A decompression bomb by its header: 100,000 x 100,000 grey pixels (10 GB decoded)
    # declared in a 70-byte file.
    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 0, 0, 0, 0)
    write(
        "images/huge_dimensions.png",
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", zlib.compress(b"\0" * 64, 9))
        + png_chunk(b"IEND", b""),
    )
    # The same as a baseline JPEG: a real 8x8 grey JPEG whose frame header says 65000 x 65000.
    tiny = bytearray(encoded(Image.new("L", (8, 8), 128), "JPEG", quality=90))
    sof = tiny.index(b"\xff\xc0")
    struct.pack_into(">HH", tiny, sof + 5, 65_000, 65_000)
    write("images/huge_dimensions.jpg", bytes(tiny))

    # A PNG whose IDAT checksum is wrong (a flipped bit on the way).
    good = bytearray(encoded(picture(16, 16), "PNG"))
    idat = good.index(b"IDAT")
    length = struct.unpack(">I", good[idat - 4 : idat])[0]
    good[idat + 4 + length] ^= 0x01
    write("images/bad_crc.png", bytes(good))

    frames = [Image.new("RGB", (20, 10), colour) for colour in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    write("images/animated.gif", out.getvalue())

    grey16 = Image.new("I;16", (30, 20))
    grey16.putdata([(x * 2000 + y * 300) % 65536 for y in range(20) for x in range(30)])
    write("images/gray16.png", encoded(grey16, "PNG"))

    write("images/cmyk.jpg", encoded(picture(28, 18, "CMYK"), "JPEG", quality=90))

    # Stored 40 wide and 20 high; EXIF orientation 6 shows it rotated, 20 wide and 40 high.
    exif = Image.Exif()
    exif[0x0112] = 6
    write("images/exif_rotated.jpg", encoded(picture(40, 20), "JPEG", quality=90, exif=exif.tobytes()))


# ---------------------------------------------------------------- LabelMe
def labelme_file(shapes, image_path="target.png", image_data=None, width=64, height=48):
    return {
        "version": "5.5.0",
        "flags": {},
        "shapes": [
            {
                "label": label,
                "points": points,
                "group_id": None,
                "shape_type": "rectangle",
                "flags": {},
            }
            for label, points in shapes
        ],
        "imagePath": image_path,
        "imageData": image_data,
        "imageHeight": height,
        "imageWidth": width,
    }


def labelme():
    # photo.png is labelled by good.json only (the batch checks that its labels come through
    # untouched); every hostile file names target.png.
    photo = encoded(picture(64, 48), "PNG")
    write("labelme/photo.png", photo)
    write("labelme/target.png", encoded(picture(64, 48).transpose(Image.FLIP_LEFT_RIGHT), "PNG"))
    dog = ("dog", [[4, 6], [30, 40]])
    # Python's json writes a NaN coordinate as the bare word NaN (not JSON).
    files = {
        "good.json": labelme_file([dog, ("cat", [[33.5, 2.25], [60, 47]])], image_path="photo.png"),
        "nan_coordinate.json": labelme_file([dog, ("cat", [[float("nan"), 5], [20, 20]])]),
        "negative_coordinate.json": labelme_file([("dog", [[-12, 5], [20, 20]])]),
        "outside_image.json": labelme_file([("dog", [[10, 5], [200, 30]])]),
        "image_data.json": labelme_file([dog], image_data=base64.b64encode(photo).decode()),
        "wrong_image_path.json": labelme_file(
            [dog], image_path="C:\\Users\\ann\\Desktop\\IMG_0001.jpg"
        ),
    }
    for name, content in files.items():
        write(f"labelme/{name}", json.dumps(content, indent=2) + "\n")


# ---------------------------------------------------------------- YOLO, COCO, VOC
def yolo():
    write("yolo/classes.txt", "dog\ncat\n")
    for stem in ("extra_columns", "class_id_past_list"):
        write(f"yolo/images/{stem}.png", encoded(picture(16, 16), "PNG"))
    # Line 2 has eight values: a box, a confidence and two more (a tracker's ids).
    write("yolo/labels/extra_columns.txt", "0 0.5 0.5 0.2 0.2\n1 0.5 0.5 0.2 0.2 0.9 7 3\n")
    write("yolo/labels/class_id_past_list.txt", "0 0.5 0.5 0.2 0.2\n7 0.5 0.5 0.2 0.2\n")


def coco():
    write("coco/photo.png", encoded(picture(32, 24), "PNG"))
    dataset = {
        "images": [{"id": 1, "file_name": "photo.png", "width": 32, "height": 24}],
        "categories": [{"id": 1, "name": "dog"}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 1, "bbox": [2, 2, 10, 10], "area": 100, "iscrowd": 0},
            {"id": 2, "image_id": 99, "category_id": 1, "bbox": [4, 4, 8, 8], "area": 64, "iscrowd": 0},
        ],
    }
    write("coco/dangling_image_id.json", json.dumps(dataset, indent=1) + "\n")


VOC_OBJECT = (
    "<object><name>{name}</name><bndbox><xmin>2</xmin><ymin>2</ymin>"
    "<xmax>20</xmax><ymax>20</ymax></bndbox></object>"
)


def voc():
    write("voc/photo.png", encoded(picture(32, 24), "PNG"))
    write(
        "voc/external_entity.xml",
        '<?xml version="1.0"?>\n'
        '<!DOCTYPE annotation [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> ]>\n'
        "<annotation><filename>photo.png</filename>\n"
        + VOC_OBJECT.format(name="&xxe;")
        + "\n</annotation>\n",
    )
    laughs = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{("&lol%d;" % (i - 1)) * 10}">' for i in range(1, 10)
    ]
    write(
        "voc/billion_laughs.xml",
        '<?xml version="1.0"?>\n<!DOCTYPE annotation [\n  '
        + "\n  ".join(laughs)
        + "\n]>\n<annotation><filename>photo.png</filename>\n"
        + VOC_OBJECT.format(name="&lol9;")
        + "\n</annotation>\n",
    )


# ---------------------------------------------------------------- ONNX (protobuf by hand)
def varint(value):
    out = bytearray()
    value &= (1 << 64) - 1
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def field_bytes(number, payload):
    if isinstance(payload, str):
        payload = payload.encode()
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def field_int(number, value):
    return varint(number << 3) + varint(value)


def value_info(name, dims):
    shape = b"".join(field_bytes(1, field_int(1, d)) for d in dims)
    tensor_type = field_int(1, 1) + field_bytes(2, shape)
    return field_bytes(1, name) + field_bytes(2, field_bytes(1, tensor_type))


def node(name, op_type, inputs, outputs):
    return (
        b"".join(field_bytes(1, i) for i in inputs)
        + b"".join(field_bytes(2, o) for o in outputs)
        + field_bytes(3, name)
        + field_bytes(4, op_type)
    )


def model(nodes, inputs, outputs, initializers=()):
    graph = (
        b"".join(field_bytes(1, n) for n in nodes)
        + field_bytes(2, "hostile")
        + b"".join(field_bytes(5, t) for t in initializers)
        + b"".join(field_bytes(11, v) for v in inputs)
        + b"".join(field_bytes(12, v) for v in outputs)
    )
    opset = field_bytes(1, "") + field_int(2, 17)
    return field_int(1, 8) + field_bytes(2, "sightline-corpus") + field_bytes(7, graph) + field_bytes(8, opset)


def onnx():
    image = value_info("images", [1, 3, 64, 64])
    head = value_info("output0", [1, 84, 8400])
    write(
        "onnx/unknown_op.onnx",
        model([node("fancy", "FancyOp", ["images"], ["output0"])], [image], [head]),
    )
    # a reads b's output and b reads a's: a cycle, which no execution order can run.
    write(
        "onnx/graph_loop.onnx",
        model(
            [
                node("a", "Add", ["images", "b_out"], ["a_out"]),
                node("b", "Identity", ["a_out"], ["b_out"]),
                node("out", "Identity", ["b_out"], ["output0"]),
            ],
            [image],
            [head],
        ),
    )
    # An initializer declared 1024 x 1024 x 1024 floats (4 GiB) that carries no data.
    weights = b"".join(field_int(1, 1024) for _ in range(3)) + field_int(2, 1) + field_bytes(8, "weights")
    write(
        "onnx/huge_initializer.onnx",
        model(
            [node("scale", "Mul", ["images", "weights"], ["output0"])],
            [image],
            [head],
            [weights],
        ),
    )
    # A model input declared 1 x 3 x 32768 x 32768 floats: 12 GiB for one image.
    write(
        "onnx/huge_input.onnx",
        model(
            [node("out", "Identity", ["images"], ["output0"])],
            [value_info("images", [1, 3, 32768, 32768])],
            [head],
        ),
    )


# ---------------------------------------------------------------- share link, project file
def raw_deflate(data):
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush()


def share():
    # 2 MiB of JSON-looking text packs into ~2 KB of DEFLATE: a link of ~2,800 characters.
    bomb = b'{"n":"' + b"a" * (2 << 20) + b'"}'
    payload = base64.urlsafe_b64encode(raw_deflate(bomb)).decode().rstrip("=")
    write("share/zip_bomb.link", f"https://sightline.example/#share=1.{payload}\n")

    # A project file whose manifest entry declares 2 bytes but inflates to 64 MiB + 1 KiB.
    name = b"sightline-project.json"
    body = b" " * ((64 << 20) + 1024)
    data = raw_deflate(body)
    crc = zlib.crc32(body)
    local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0, crc, len(data), 2, len(name), 0)
    central = struct.pack(
        "<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0, crc, len(data), 2, len(name), 0, 0, 0, 0, 0, 0
    )
    offset = len(local) + len(name) + len(data)
    directory = central + name
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(directory), offset, 0)
    write("share/zip_bomb.sightline", local + name + data + directory + end)


if __name__ == "__main__":
    images()
    labelme()
    yolo()
    coco()
    voc()
    onnx()
    share()
