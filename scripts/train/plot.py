"""loss_curve.png: matplotlib when it is installed, otherwise a small PNG written here (zlib + a 5x7 font).

  plot_losses(path, panels)   panels: [(title, [(label, [(step, value), ...], (r, g, b)), ...]), ...]
"""

from __future__ import annotations

import math
import struct
import zlib

_FONT = {  # 5x7, rows top to bottom, bit 4 = leftmost column
    "0": "01110 10001 10011 10101 11001 10001 01110", "1": "00100 01100 00100 00100 00100 00100 01110",
    "2": "01110 10001 00001 00010 00100 01000 11111", "3": "11110 00001 00001 01110 00001 00001 11110",
    "4": "00010 00110 01010 10010 11111 00010 00010", "5": "11111 10000 11110 00001 00001 10001 01110",
    "6": "00110 01000 10000 11110 10001 10001 01110", "7": "11111 00001 00010 00100 01000 01000 01000",
    "8": "01110 10001 10001 01110 10001 10001 01110", "9": "01110 10001 10001 01111 00001 00010 01100",
    "A": "01110 10001 10001 11111 10001 10001 10001", "B": "11110 10001 10001 11110 10001 10001 11110",
    "C": "01110 10001 10000 10000 10000 10001 01110", "D": "11100 10010 10001 10001 10001 10010 11100",
    "E": "11111 10000 10000 11110 10000 10000 11111", "F": "11111 10000 10000 11110 10000 10000 10000",
    "G": "01110 10001 10000 10111 10001 10001 01111", "H": "10001 10001 10001 11111 10001 10001 10001",
    "I": "01110 00100 00100 00100 00100 00100 01110", "J": "00111 00010 00010 00010 00010 10010 01100",
    "K": "10001 10010 10100 11000 10100 10010 10001", "L": "10000 10000 10000 10000 10000 10000 11111",
    "M": "10001 11011 10101 10101 10001 10001 10001", "N": "10001 10001 11001 10101 10011 10001 10001",
    "O": "01110 10001 10001 10001 10001 10001 01110", "P": "11110 10001 10001 11110 10000 10000 10000",
    "Q": "01110 10001 10001 10001 10101 10010 01101", "R": "11110 10001 10001 11110 10100 10010 10001",
    "S": "01111 10000 10000 01110 00001 00001 11110", "T": "11111 00100 00100 00100 00100 00100 00100",
    "U": "10001 10001 10001 10001 10001 10001 01110", "V": "10001 10001 10001 10001 10001 01010 00100",
    "W": "10001 10001 10001 10101 10101 10101 01010", "X": "10001 10001 01010 00100 01010 10001 10001",
    "Y": "10001 10001 01010 00100 00100 00100 00100", "Z": "11111 00001 00010 00100 01000 10000 11111",
    ".": "00000 00000 00000 00000 00000 01100 01100", "-": "00000 00000 00000 11111 00000 00000 00000",
    ":": "00000 01100 01100 00000 01100 01100 00000", "(": "00010 00100 01000 01000 01000 00100 00010",
    ")": "01000 00100 00010 00010 00010 00100 01000", "/": "00001 00010 00010 00100 01000 01000 10000",
    ",": "00000 00000 00000 00000 01100 00100 01000", "=": "00000 00000 11111 00000 11111 00000 00000",
    "+": "00000 00100 00100 11111 00100 00100 00000", "_": "00000 00000 00000 00000 00000 00000 11111",
    " ": "00000 00000 00000 00000 00000 00000 00000",
}


class _Canvas:
    def __init__(self, w: int, h: int):
        self.w, self.h = w, h
        self.px = bytearray(b"\xff" * (w * h * 3))

    def set(self, x: int, y: int, c) -> None:
        if 0 <= x < self.w and 0 <= y < self.h:
            i = (y * self.w + x) * 3
            self.px[i:i + 3] = bytes(c)

    def line(self, x0, y0, x1, y1, c, width: int = 1) -> None:
        x0, y0, x1, y1 = int(round(x0)), int(round(y0)), int(round(x1)), int(round(y1))
        dx, dy = abs(x1 - x0), -abs(y1 - y0)
        sx, sy = (1 if x0 < x1 else -1), (1 if y0 < y1 else -1)
        err = dx + dy
        while True:
            for ox in range(width):
                for oy in range(width):
                    self.set(x0 + ox, y0 + oy, c)
            if x0 == x1 and y0 == y1:
                break
            e2 = 2 * err
            if e2 >= dy:
                err += dy
                x0 += sx
            if e2 <= dx:
                err += dx
                y0 += sy

    def text(self, x: int, y: int, s: str, c=(0, 0, 0), scale: int = 2) -> None:
        for ch in s.upper():
            rows = _FONT.get(ch, _FONT[" "]).split()
            for r, bits in enumerate(rows):
                for col, b in enumerate(bits):
                    if b == "1":
                        for ox in range(scale):
                            for oy in range(scale):
                                self.set(x + col * scale + ox, y + r * scale + oy, c)
            x += 6 * scale

    def png(self) -> bytes:
        raw = b"".join(b"\x00" + bytes(self.px[y * self.w * 3:(y + 1) * self.w * 3]) for y in range(self.h))

        def chunk(tag, data):
            return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)
        return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", self.w, self.h, 8, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def _fmt(v: float) -> str:
    return f"{v:.2f}" if abs(v) < 100 else f"{v:.0f}"


def _own_png(path: str, panels) -> None:
    pw, ph, margin = 520, 380, 70
    cv = _Canvas(pw * len(panels), ph)
    for p, (title, series) in enumerate(panels):
        ox = p * pw
        pts = [(s, v) for _, data, _ in series for s, v in data if math.isfinite(v)]
        if not pts:
            continue
        xs, ys = [s for s, _ in pts], [v for _, v in pts]
        x0, x1 = min(xs), max(max(xs), min(xs) + 1)
        y0, y1 = min(ys), max(ys)
        if y1 - y0 < 1e-9:
            y1 = y0 + 1
        left, right, top, bottom = ox + margin, ox + pw - 20, 40, ph - 50

        def X(s):
            return left + (s - x0) / (x1 - x0) * (right - left)

        def Y(v):
            return bottom - (v - y0) / (y1 - y0) * (bottom - top)
        cv.line(left, top, left, bottom, (0, 0, 0))
        cv.line(left, bottom, right, bottom, (0, 0, 0))
        for frac in (0.0, 0.5, 1.0):
            v = y0 + frac * (y1 - y0)
            cv.line(left - 5, Y(v), left, Y(v), (0, 0, 0))
            cv.text(ox + 4, int(Y(v)) - 6, _fmt(v), scale=1)
            s = x0 + frac * (x1 - x0)
            cv.line(X(s), bottom, X(s), bottom + 5, (0, 0, 0))
            cv.text(int(X(s)) - 12, bottom + 10, f"{s:.0f}", scale=1)
        cv.text(left, 12, title)
        cv.text(right - 60, bottom + 28, "STEP", scale=1)
        for i, (label, data, color) in enumerate(series):
            data = [(s, v) for s, v in data if math.isfinite(v)]
            for (sa, va), (sb, vb) in zip(data, data[1:]):
                cv.line(X(sa), Y(va), X(sb), Y(vb), color, width=2)
            if len(data) == 1:
                cv.line(X(data[0][0]), Y(data[0][1]), X(data[0][0]) + 2, Y(data[0][1]), color, width=3)
            cv.line(right - 170, top + 10 + 16 * i, right - 150, top + 10 + 16 * i, color, width=3)
            cv.text(right - 145, top + 6 + 16 * i, label, color, scale=1)
    with open(path, "wb") as f:
        f.write(cv.png())


def smooth(data, n: int = 20):
    out, acc = [], []
    for s, v in data:
        acc.append(v)
        if len(acc) > n:
            acc.pop(0)
        out.append((s, sum(acc) / len(acc)))
    return out


def plot_losses(path: str, panels) -> str:
    """Writes the figure; returns which backend drew it."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except Exception:  # noqa: BLE001 (absent or broken: draw it ourselves)
        _own_png(path, panels)
        return "built-in PNG writer"
    fig, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 4.2))
    if len(panels) == 1:
        axes = [axes]
    for ax, (title, series) in zip(axes, panels):
        for label, data, color in series:
            if data:
                ax.plot([s for s, _ in data], [v for _, v in data], label=label,
                        color=tuple(c / 255 for c in color), marker="o" if len(data) < 40 else None)
        ax.set_title(title)
        ax.set_xlabel("step")
        ax.set_ylabel("loss")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return "matplotlib"
