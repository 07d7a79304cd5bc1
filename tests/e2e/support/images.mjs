// Generated image folders for the pipeline spec and the browser benchmark: PNGs written
// here (zlib from node), each image different, so every one is a separate cache entry.
import { deflateSync } from 'node:zlib';
import { mkdir, writeFile, copyFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes) {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'ascii');
  data.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/** The PNG of `raw` (filter-byte-prefixed RGB rows) as `width`×`height` 8-bit RGB. */
function encodePng(width, height, raw) {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 2; // RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(raw, { level: 1 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** An RGB PNG of `width`×`height`: a gradient tinted by `seed`, with the seed's bits as a
 *  row of blocks so no two images are alike; with `noise`, random pixels instead, which no
 *  codec or store compresses (photo-like bytes). */
export function png(width, height, seed, { noise = false } = {}) {
  const row = 1 + width * 3;
  const raw = Buffer.alloc(row * height);
  for (let y = 0; y < height; y += 1) {
    raw[y * row] = 0;
    for (let x = 0; x < width; x += 1) {
      const i = y * row + 1 + x * 3;
      const bit = (seed >> Math.floor((x / width) * 16)) & 1;
      const block = y < height / 8 && bit ? 255 : 0;
      if (noise) {
        raw[i] = Math.random() * 256;
        raw[i + 1] = Math.random() * 256;
        raw[i + 2] = Math.random() * 256;
        continue;
      }
      raw[i] = (x * 255) / width;
      raw[i + 1] = block || (y * 255) / height;
      raw[i + 2] = (seed * 37) & 255;
    }
  }
  return encodePng(width, height, raw);
}

/** A PNG whose header claims `width`×`height` (a decompression bomb's header). */
export function pngClaiming(width, height) {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8;
  header[9] = 2;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(Buffer.alloc(64))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** Writes `count` generated PNGs (`img-00000.png`…) of `size`² into `dir`; returns `dir`. */
export async function writeFolder(dir, count, size, { noise = false } = {}) {
  await mkdir(dir, { recursive: true });
  const one = png(size, size, 0);
  for (let i = 0; i < count; i += 1) {
    const name = `img-${String(i).padStart(5, '0')}.png`;
    // Large folders reuse one encoding with the seed in a tEXt-free trailer chunk: every file
    // still differs (its SHA-256, so its cache key) while writing 10,000 stays quick.
    const bytes = size <= 64 && !noise
      ? Buffer.concat([one.subarray(0, one.length - 12), chunk('tEXt', Buffer.from(`n\0${i}`)), one.subarray(one.length - 12)])
      : png(size, size, i, { noise });
    await writeFile(join(dir, name), bytes);
  }
  return dir;
}

/** `jpeg` with its EXIF blocks replaced by one saying `orientation` (6: the camera was turned a
 *  quarter clockwise), first after the start-of-image marker. */
export function withExifOrientation(jpeg, orientation) {
  const tiff = Buffer.from([
    0x4d, 0x4d, 0x00, 0x2a, 0x00, 0x00, 0x00, 0x08, // big-endian TIFF, first IFD at 8
    0x00, 0x01, // one entry
    0x01, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01, 0x00, orientation, 0x00, 0x00, // Orientation
    0x00, 0x00, 0x00, 0x00, // no next IFD
  ]);
  const payload = Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), tiff]);
  const length = Buffer.alloc(2);
  length.writeUInt16BE(payload.length + 2);
  // The segments before the scan, without the EXIF ones the photo came with.
  const kept = [];
  let at = 2;
  while (at + 4 <= jpeg.length && jpeg[at] === 0xff && jpeg[at + 1] !== 0xda) {
    const end = at + 2 + jpeg.readUInt16BE(at + 2);
    const exif = jpeg[at + 1] === 0xe1 && jpeg.subarray(at + 4, at + 10).toString('latin1') === 'Exif\0\0';
    if (!exif) kept.push(jpeg.subarray(at, end));
    at = end;
  }
  return Buffer.concat([
    jpeg.subarray(0, 2), Buffer.from([0xff, 0xe1]), length, payload, ...kept, jpeg.subarray(at),
  ]);
}

/** The bad files of the spec: each with the words its error tile must contain. */
export async function writeBadImages(dir, demoJpeg) {
  const jpeg = await readFile(demoJpeg);
  const bad = {
    'zz-empty.png': { bytes: Buffer.alloc(0), reason: /empty/ },
    'zz-notes.jpg': { bytes: Buffer.from('these are my notes, not a photo\n'), reason: /not an image/ },
    'zz-truncated.jpg': { bytes: jpeg.subarray(0, Math.floor(jpeg.length / 2)), reason: /truncated/ },
    'zz-bomb.png': { bytes: pngClaiming(30000, 30000), reason: /over the limit/ },
  };
  for (const [name, { bytes }] of Object.entries(bad)) await writeFile(join(dir, name), bytes);
  return bad;
}

export { copyFile };

/** An RGB PNG of `width`×`height` whose pixel (x, y) is `colour(x, y)` → `[r, g, b]`. */
export function pngOf(width, height, colour) {
  const row = 1 + width * 3;
  const raw = Buffer.alloc(row * height);
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      raw.set(colour(x, y).map((v) => Math.max(0, Math.min(255, Math.round(v)))), y * row + 1 + x * 3);
    }
  }
  return encodePng(width, height, raw);
}
