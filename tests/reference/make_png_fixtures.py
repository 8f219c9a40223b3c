"""PNG fixtures for tests/unit/test_png.cpp, written independently of ctspine with zlib + struct from the PNG
specification (signature, IHDR/IDAT/IEND chunks, CRC-32 over type + data, filter byte 0 per scanline).
Pixel values follow a formula the C++ test recomputes: grey v = (7x + 13y) % 256; RGB (x*37 % 256, y*91 % 256,
(x + y)*53 % 256).

Run with Debian's python3:  /usr/bin/python3 tests/reference/make_png_fixtures.py
"""
import os
import struct
import zlib

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "png")


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png(width, height, channels, pixel):
    raw = b"".join(b"\x00" + bytes(v for x in range(width) for v in pixel(x, y)) for y in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0 if channels == 1 else 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")


def main():
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "gray_13x3.png"), "wb") as f:
        f.write(png(13, 3, 1, lambda x, y: [(7 * x + 13 * y) % 256]))
    with open(os.path.join(OUT, "rgb_7x5.png"), "wb") as f:
        f.write(png(7, 5, 3, lambda x, y: [x * 37 % 256, y * 91 % 256, (x + y) * 53 % 256]))
    print("wrote", OUT)


if __name__ == "__main__":
    main()
