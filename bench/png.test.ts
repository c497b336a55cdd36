import { inflateSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { Canvas, crc32, decodePng, encodePng, plotPanels, shortNumber } from "./png.ts";

describe("crc32", () => {
  it("matches the standard check value", () => {
    expect(crc32(Buffer.from("123456789"))).toBe(0xcbf43926);
    expect(crc32(Buffer.from("IEND"))).toBe(0xae426082);
  });
});

describe("encodePng", () => {
  it("writes the signature, IHDR, IDAT, IEND with valid CRCs, and the pixels decode back", () => {
    const w = 3;
    const h = 2;
    const rgb = Uint8Array.from({ length: w * h * 3 }, (_, i) => (i * 37) % 256);
    const png = encodePng(w, h, rgb);
    expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    expect(png.readUInt32BE(8)).toBe(13);
    expect(png.toString("latin1", 12, 16)).toBe("IHDR");
    expect([png.readUInt32BE(16), png.readUInt32BE(20), png[24], png[25]]).toEqual([3, 2, 8, 2]);
    const d = decodePng(png);
    expect(d.chunks).toEqual(["IHDR", "IDAT", "IEND"]);
    expect([d.width, d.height]).toEqual([3, 2]);
    expect([...d.rgb]).toEqual([...rgb]);
    // Each scanline starts with filter byte 0, then width × 3 bytes.
    const raw = inflateSync(png.subarray(8 + 25 + 8, 8 + 25 + 8 + png.readUInt32BE(33)));
    expect(raw.length).toBe(h * (1 + w * 3));
    expect(raw[0]).toBe(0);
    expect(raw[1 + w * 3]).toBe(0);
  });
  it("refuses a buffer of the wrong size, and the decoder a corrupted chunk", () => {
    expect(() => encodePng(2, 2, new Uint8Array(5))).toThrow(/expected 12 bytes/);
    const png = encodePng(1, 1, Uint8Array.from([1, 2, 3]));
    png[20] = png[20]! ^ 0xff;
    expect(() => decodePng(png)).toThrow(/bad CRC in IHDR/);
  });
});

describe("Canvas and plotPanels", () => {
  it("draws lines end to end and text in ink", () => {
    const c = new Canvas(20, 10);
    c.line(0, 0, 19, 9, [255, 0, 0]);
    expect(c.get(0, 0)).toEqual([255, 0, 0]);
    expect(c.get(19, 9)).toEqual([255, 0, 0]);
    expect(c.get(19, 0)).toEqual([255, 255, 255]);
    const t = new Canvas(12, 7);
    expect(t.text(0, 0, "1", [0, 0, 0])).toBe(6);
    expect(t.get(2, 6)).toEqual([0, 0, 0]); // the foot of the 1
  });
  it("plots each series in its colour inside its panel, and encodes to a decodable PNG", () => {
    const pts = Array.from({ length: 11 }, (_, i) => ({ t: i * 60, y: i * 10 }));
    const canvas = plotPanels([{ title: "count", series: [{ name: "signals", color: [200, 0, 0], points: pts }] }, { title: "rss", series: [{ name: "op", color: [0, 0, 200], points: pts }] }], { columns: 2, panelWidth: 300, panelHeight: 200 });
    expect([canvas.width, canvas.height]).toEqual([600, 200]);
    const count = (x0: number, x1: number, color: readonly number[]) => {
      let n = 0;
      for (let y = 40; y < 170; y++) for (let x = x0; x < x1; x++) if (canvas.get(x, y).every((v, i) => v === color[i])) n++;
      return n;
    };
    expect(count(60, 290, [200, 0, 0])).toBeGreaterThan(100);
    expect(count(60, 290, [0, 0, 200])).toBe(0);
    expect(count(360, 590, [0, 0, 200])).toBeGreaterThan(100);
    const d = decodePng(canvas.png());
    expect([d.width, d.height]).toEqual([600, 200]);
  });
  it("labels numbers compactly", () => {
    expect([shortNumber(0), shortNumber(12.345), shortNumber(25000), shortNumber(1_500_000), shortNumber(2.5e9)]).toEqual(["0", "12.3", "25k", "1.5M", "2.5G"]);
  });
});
