// A minimal PNG encoder (and decoder, for tests) and a line-chart painter for the
// soak bench's plot. Dependency-free on purpose: canvas-like packages need native
// binaries downloaded at install time, which this build cannot fetch. PNG is a
// signature, then chunks (length, type, data, CRC-32 of type+data): IHDR (size,
// 8-bit RGB), IDAT (zlib-deflated scanlines, each prefixed by filter byte 0),
// IEND.
import { deflateSync, inflateSync } from "node:zlib";

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (ISO-HDLC, as PNG and zlib's crc32 use). */
export function crc32(buf: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, "latin1"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}

/** Encodes width × height 8-bit RGB pixels (row-major, 3 bytes each) as a PNG. */
export function encodePng(width: number, height: number, rgb: Uint8Array): Buffer {
  if (rgb.length !== width * height * 3) throw new Error(`expected ${width * height * 3} bytes of RGB, got ${rgb.length}`);
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type: truecolour
  ihdr[10] = 0; // deflate
  ihdr[11] = 0; // adaptive filtering (each row says its filter; here always None)
  ihdr[12] = 0; // no interlace
  const stride = width * 3;
  const raw = Buffer.alloc((stride + 1) * height);
  for (let y = 0; y < height; y++) {
    raw[y * (stride + 1)] = 0;
    raw.set(rgb.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  }
  return Buffer.concat([SIGNATURE, chunk("IHDR", ihdr), chunk("IDAT", deflateSync(raw, { level: 9 })), chunk("IEND", Buffer.alloc(0))]);
}

/** Decodes what encodePng writes (8-bit RGB, filter None), checking the signature and every chunk's CRC. */
export function decodePng(png: Buffer): { width: number; height: number; rgb: Buffer; chunks: string[] } {
  if (!png.subarray(0, 8).equals(SIGNATURE)) throw new Error("not a PNG signature");
  let off = 8;
  let width = 0;
  let height = 0;
  const idat: Buffer[] = [];
  const chunks: string[] = [];
  while (off < png.length) {
    const len = png.readUInt32BE(off);
    const type = png.toString("latin1", off + 4, off + 8);
    const data = png.subarray(off + 8, off + 8 + len);
    if (crc32(png.subarray(off + 4, off + 8 + len)) !== png.readUInt32BE(off + 8 + len)) throw new Error(`bad CRC in ${type}`);
    chunks.push(type);
    if (type === "IHDR") {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      if (data[8] !== 8 || data[9] !== 2) throw new Error("only 8-bit RGB is decoded");
    } else if (type === "IDAT") idat.push(data);
    off += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * 3;
  const rgb = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    if (raw[y * (stride + 1)] !== 0) throw new Error(`row ${y}: filter ${raw[y * (stride + 1)]} not decoded`);
    raw.copy(rgb, y * stride, y * (stride + 1) + 1, (y + 1) * (stride + 1));
  }
  return { width, height, rgb, chunks };
}

// --- drawing --------------------------------------------------------------------

export type Rgb = readonly [number, number, number];

// 5×7 glyphs, one string per row, '#' = ink. Lower case is drawn as upper case.
const GLYPHS: Record<string, string> = {
  "0": ".###.#...##..###.#.###..##...#.###.", "1": "..#...##....#....#....#....#...###.", "2": ".###.#...#....#...#...#...#...#####",
  "3": "#####...#...#......#....##...#.###.", "4": "...#...##..#.#.#..#.#####...#....#.", "5": "######....####.....#....##...#.###.",
  "6": "..##..#...#....####.#...##...#.###.", "7": "#####....#...#...#...#....#....#...", "8": ".###.#...##...#.###.#...##...#.###.",
  "9": ".###.#...##...#.####....#...#..##..", "A": ".###.#...##...#######...##...##...#", "B": "####.#...##...#####.#...##...#####.",
  "C": ".###.#...##....#....#....#...#.###.", "D": "###..#..#.#...##...##...##..#.###..", "E": "######....#....####.#....#....#####",
  "F": "######....#....####.#....#....#....", "G": ".###.#...##....#.####...##...#.####", "H": "#...##...##...#######...##...##...#",
  "I": ".###...#....#....#....#....#...###.", "J": "..###...#....#....#....#.#..#..##..", "K": "#...##..#.#.#..##...#.#..#..#.#...#",
  "L": "#....#....#....#....#....#....#####", "M": "#...###.###.#.##...##...##...##...#", "N": "#...##...###..##.#.##..###...##...#",
  "O": ".###.#...##...##...##...##...#.###.", "P": "####.#...##...#####.#....#....#....", "Q": ".###.#...##...##...##.#.##..#..##.#",
  "R": "####.#...##...#####.#.#..#..#.#...#", "S": ".#####....#.....###.....#....#####.", "T": "#####..#....#....#....#....#....#..",
  "U": "#...##...##...##...##...##...#.###.", "V": "#...##...##...##...##...#.#.#...#..", "W": "#...##...##...##.#.##.#.##.#.#.#.#.",
  "X": "#...##...#.#.#...#...#.#.#...##...#", "Y": "#...##...#.#.#...#....#....#....#..", "Z": "#####....#...#...#...#...#....#####",
  " ": "...................................", ".": "..............................##...", ",": ".........................##...#..#.",
  "-": "...............###.................", "/": "....#....#...#...#...#...#....#....", ":": ".....##....##.........##....##.....",
  "%": "##...##..#...#...#...#...#..##...##", "(": "...#...#...#....#....#.....#.....#.", ")": ".#.....#.....#....#....#...#...#...",
  "_": "..............................#####", "=": "..........#####.....#####..........", "+": ".......#....#..#####..#....#.......",
  ">": ".#.....#.....#.....#...#...#...#...", "<": "...#...#...#...#.....#.....#.....#.", "?": ".###.#...#....#...#...#.........#..",
  "'": "..#....#....#......................", "×": "......#...#.#.#...#...#.#.#...#....", "→": "..........#.....#.#####...#...#....",
};

export class Canvas {
  readonly rgb: Uint8Array;
  readonly width: number;
  readonly height: number;
  constructor(width: number, height: number, background: Rgb = [255, 255, 255]) {
    this.width = width;
    this.height = height;
    this.rgb = new Uint8Array(width * height * 3);
    for (let i = 0; i < width * height; i++) this.rgb.set(background, i * 3);
  }

  pixel(x: number, y: number, c: Rgb): void {
    x = Math.round(x);
    y = Math.round(y);
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    this.rgb.set(c, (y * this.width + x) * 3);
  }

  get(x: number, y: number): Rgb {
    const i = (y * this.width + x) * 3;
    return [this.rgb[i]!, this.rgb[i + 1]!, this.rgb[i + 2]!];
  }

  rect(x: number, y: number, w: number, h: number, c: Rgb): void {
    for (let j = 0; j < h; j++) for (let i = 0; i < w; i++) this.pixel(x + i, y + j, c);
  }

  /** A straight line (Bresenham), `thick` pixels wide. */
  line(x0: number, y0: number, x1: number, y1: number, c: Rgb, thick = 1): void {
    x0 = Math.round(x0);
    y0 = Math.round(y0);
    x1 = Math.round(x1);
    y1 = Math.round(y1);
    const dx = Math.abs(x1 - x0);
    const dy = -Math.abs(y1 - y0);
    const sx = x0 < x1 ? 1 : -1;
    const sy = y0 < y1 ? 1 : -1;
    let err = dx + dy;
    for (;;) {
      for (let t = 0; t < thick; t++) {
        if (dx >= -dy) this.pixel(x0, y0 + t, c);
        else this.pixel(x0 + t, y0, c);
      }
      if (x0 === x1 && y0 === y1) return;
      const e2 = 2 * err;
      if (e2 >= dy) {
        err += dy;
        x0 += sx;
      }
      if (e2 <= dx) {
        err += dx;
        y0 += sy;
      }
    }
  }

  /** Text in the 5×7 font, 6 px per character at scale 1; returns the width drawn. */
  text(x: number, y: number, s: string, c: Rgb, scale = 1): number {
    let cx = x;
    for (const ch of s) {
      const g = GLYPHS[ch] ?? GLYPHS[ch.toUpperCase()] ?? GLYPHS["?"]!;
      for (let row = 0; row < 7; row++) for (let col = 0; col < 5; col++) if (g[row * 5 + col] === "#") this.rect(cx + col * scale, y + row * scale, scale, scale, c);
      cx += 6 * scale;
    }
    return cx - x;
  }

  png(): Buffer {
    return encodePng(this.width, this.height, this.rgb);
  }
}

export interface Series {
  name: string;
  color: Rgb;
  /** x in seconds, y in the panel's unit; non-finite y are gaps. */
  points: readonly { t: number; y: number }[];
}

export interface Panel {
  title: string;
  series: readonly Series[];
}

const INK: Rgb = [40, 40, 40];
const GRID: Rgb = [225, 225, 225];

/** A compact number for axis labels: 1234567 → 1.23M. */
export function shortNumber(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e9) return `${+(v / 1e9).toPrecision(3)}G`;
  if (a >= 1e6) return `${+(v / 1e6).toPrecision(3)}M`;
  if (a >= 1e4) return `${+(v / 1e3).toPrecision(3)}k`;
  return String(+v.toPrecision(3));
}

/**
 * Small multiples: one panel per entry, `columns` across, each with its title,
 * a y axis from 0 (or the minimum, if negative) to the maximum, the x axis in
 * minutes, and one line per series with its name in the series' colour.
 */
export function plotPanels(panels: readonly Panel[], opts: { columns?: number; panelWidth?: number; panelHeight?: number; title?: string } = {}): Canvas {
  const cols = opts.columns ?? 2;
  const pw = opts.panelWidth ?? 520;
  const ph = opts.panelHeight ?? 220;
  const top = opts.title ? 30 : 0;
  const rows = Math.ceil(panels.length / cols);
  const canvas = new Canvas(cols * pw, top + rows * ph);
  if (opts.title) canvas.text(10, 8, opts.title, INK, 2);
  panels.forEach((panel, i) => {
    const ox = (i % cols) * pw;
    const oy = top + Math.floor(i / cols) * ph;
    const left = ox + 56;
    const right = ox + pw - 14;
    const plotTop = oy + 34;
    const bottom = oy + ph - 26;
    canvas.text(ox + 8, oy + 6, panel.title, INK);
    let lx = ox + 8;
    for (const s of panel.series) lx += canvas.text(lx, oy + 18, s.name, s.color) + 12;
    const all = panel.series.flatMap((s) => s.points).filter((p) => Number.isFinite(p.y) && Number.isFinite(p.t));
    const tMax = Math.max(60, ...all.map((p) => p.t));
    const yMin = Math.min(0, ...all.map((p) => p.y));
    let yMax = Math.max(...all.map((p) => p.y), yMin + 1e-9);
    if (yMax === yMin) yMax = yMin + 1;
    yMax *= 1.05;
    const X = (t: number) => left + (t / tMax) * (right - left);
    const Y = (y: number) => bottom - ((y - yMin) / (yMax - yMin)) * (bottom - plotTop);
    for (let k = 0; k <= 4; k++) {
      const v = yMin + ((yMax - yMin) * k) / 4;
      canvas.line(left, Y(v), right, Y(v), GRID);
      const label = shortNumber(v);
      canvas.text(left - 4 - label.length * 6, Y(v) - 3, label, INK);
    }
    canvas.line(left, plotTop, left, bottom, INK);
    canvas.line(left, bottom, right, bottom, INK);
    const minutes = tMax / 60;
    const step = [1, 2, 5, 10, 15, 30, 60].find((s) => minutes / s <= 8) ?? 120;
    for (let m = 0; m <= minutes; m += step) {
      canvas.line(X(m * 60), bottom, X(m * 60), bottom + 3, INK);
      canvas.text(X(m * 60) - 3, bottom + 6, String(m), INK);
    }
    canvas.text(right - 24, bottom + 6, "min", INK);
    for (const s of panel.series) {
      let prev: { x: number; y: number } | undefined;
      for (const p of s.points) {
        if (!Number.isFinite(p.y)) {
          prev = undefined;
          continue;
        }
        const cur = { x: X(p.t), y: Y(p.y) };
        if (prev) canvas.line(prev.x, prev.y, cur.x, cur.y, s.color, 2);
        else canvas.rect(cur.x - 1, cur.y - 1, 3, 3, s.color);
        prev = cur;
      }
    }
  });
  return canvas;
}
