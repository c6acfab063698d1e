#!/usr/bin/env python3
"""Draws the web app's PNG icons (app/icon-192.png, app/icon-512.png),
the same picture as icon.svg: a mountain under the sun on Bản Số's blue.
Standard library only; run it again after changing the picture."""
import struct
import sys
import zlib
from pathlib import Path

BLUE = (0x0B, 0x4F, 0x8A)
SKY = (0x8F, 0xD0, 0xFF)
WHITE = (0xFF, 0xFF, 0xFF)
SUN = (0xFF, 0xD2, 0x4A)


def inside_triangle(x, y, a, b, c):
    def side(p, q, r):
        return (p[0] - r[0]) * (q[1] - r[1]) - (q[0] - r[0]) * (p[1] - r[1])
    d1, d2, d3 = side((x, y), a, b), side((x, y), b, c), side((x, y), c, a)
    neg = d1 < 0 or d2 < 0 or d3 < 0
    pos = d1 > 0 or d2 > 0 or d3 > 0
    return not (neg and pos)


def colour(u, v):
    """The colour at (u, v) in the 64-unit square of icon.svg."""
    if inside_triangle(u, v, (12, 46), (26, 22), (40, 46)) or inside_triangle(u, v, (30, 46), (40, 29), (52, 46)):
        return SKY
    if 14 <= u <= 50 and 48 <= v <= 53:
        return WHITE
    if (u - 46) ** 2 + (v - 16) ** 2 <= 25:
        return SUN
    return BLUE


def png(size):
    rows = []
    for y in range(size):
        row = bytearray([0])
        for x in range(size):
            row.extend(colour((x + 0.5) * 64 / size, (y + 0.5) * 64 / size))
        rows.append(bytes(row))
    raw = zlib.compress(b"".join(rows), 9)

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent / "app")
    for size in (192, 512):
        (out / f"icon-{size}.png").write_bytes(png(size))
