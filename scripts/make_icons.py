"""Draw the app's PNG icons (the favicon's tick on the brand blue) without an image library.

    python scripts/make_icons.py   # writes static/icons/icon-192.png, icon-512.png, maskable-512.png

Home-screen installs need PNGs of 192 and 512 pixels; the maskable one keeps the tick inside the
central safe zone. Run again only if the design changes; the files are committed.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

BRAND = (0x0B, 0x53, 0x94)
WHITE = (0xFF, 0xFF, 0xFF)
# The favicon's tick in its 32-unit box: M7 17 l6 6 12-13, 4 units wide.
TICK = [(7.0, 17.0), (13.0, 23.0), (25.0, 10.0)]
STROKE = 4.0


def _distance_to_segment(px, py, ax, ay, bx, by) -> float:
    dx, dy = bx - ax, by - ay
    t = max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)))
    return ((px - ax - t * dx) ** 2 + (py - ay - t * dy) ** 2) ** 0.5


def _pixels(size: int, scale: float, rounded: bool) -> list[bytes]:
    """Rows of RGBA: brand square (rounded corners unless maskable) with the white tick."""
    unit = size / 32 * scale
    offset = (size - 32 * unit) / 2
    radius = 6 * size / 32 if rounded else 0
    rows = []
    for y in range(size):
        row = bytearray([0])  # PNG filter: none
        for x in range(size):
            cx, cy = x + 0.5, y + 0.5
            inside = True
            if radius:
                nx = min(max(cx, radius), size - radius)
                ny = min(max(cy, radius), size - radius)
                inside = (cx - nx) ** 2 + (cy - ny) ** 2 <= radius**2
            ux, uy = (cx - offset) / unit, (cy - offset) / unit
            near = min(
                _distance_to_segment(ux, uy, *TICK[i], *TICK[i + 1]) for i in range(len(TICK) - 1)
            )
            colour = WHITE if near <= STROKE / 2 else BRAND
            row += bytes((*colour, 255 if inside else 0))
        rows.append(bytes(row))
    return rows


def write_png(path: Path, size: int, *, scale: float = 1.0, rounded: bool = True) -> None:
    """Write one icon."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)  # 8-bit RGBA
    data = zlib.compress(b"".join(_pixels(size, scale, rounded)), 9)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    )


if __name__ == "__main__":
    icons = Path(__file__).resolve().parents[1] / "static" / "icons"
    write_png(icons / "icon-192.png", 192)
    write_png(icons / "icon-512.png", 512)
    write_png(icons / "maskable-512.png", 512, scale=0.7, rounded=False)
