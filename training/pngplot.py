"""A tiny line-plot-to-PNG writer (numpy + zlib), for machines without matplotlib."""
import struct
import zlib

import numpy as np

COLOURS = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75)]

# 3x5 digit glyphs for axis labels
GLYPHS = {
    '0': '111101101101111', '1': '010110010010111', '2': '111001111100111', '3': '111001111001111',
    '4': '101101111001001', '5': '111100111001111', '6': '111100111101111', '7': '111001001001001',
    '8': '111101111101111', '9': '111101111001111', '.': '000000000000010', '-': '000000111000000',
    'e': '000111101110111',
}


def _text(img, x, y, s, colour=(0, 0, 0), scale=2):
    for ch in s:
        g = GLYPHS.get(ch)
        if g:
            for r in range(5):
                for c in range(3):
                    if g[r * 3 + c] == '1':
                        img[y + r * scale:y + (r + 1) * scale, x + c * scale:x + (c + 1) * scale] = colour
        x += 4 * scale


def _line(img, x0, y0, x1, y1, colour):
    n = int(max(abs(x1 - x0), abs(y1 - y0))) + 1
    xs = np.linspace(x0, x1, n).round().astype(int)
    ys = np.linspace(y0, y1, n).round().astype(int)
    ok = (xs >= 0) & (xs < img.shape[1]) & (ys >= 0) & (ys < img.shape[0])
    img[ys[ok], xs[ok]] = colour
    img[np.clip(ys[ok] + 1, 0, img.shape[0] - 1), xs[ok]] = colour


def write_png(path, rgb):
    h, w, _ = rgb.shape
    raw = b''.join(b'\x00' + rgb[r].astype(np.uint8).tobytes() for r in range(h))

    def chunk(tag, data):
        return struct.pack('>I', len(data)) + tag + data + struct.pack('>I', zlib.crc32(tag + data) & 0xffffffff)
    with open(path, 'wb') as f:
        f.write(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 2, 0, 0, 0))
                + chunk(b'IDAT', zlib.compress(raw, 9)) + chunk(b'IEND', b''))


def plot(path, panels, width=520, height=300):
    """panels: list of (title, {name: (xs, ys)}); one panel per row. Legend order = colour order
    (written in the JSON beside the plot; the PNG shows lines, ticks for min/max x and y)."""
    rows = []
    for _, series in panels:
        img = np.full((height, width, 3), 255, np.uint8)
        left, right, top, bottom = 60, width - 10, 10, height - 30
        img[top:bottom, left] = 0
        img[bottom, left:right] = 0
        allx = [x for xs, _ in series.values() for x in xs]
        ally = [y for _, ys in series.values() for y in ys if np.isfinite(y)]
        if allx and ally:
            x0, x1 = min(allx), max(allx) or 1
            y0, y1 = min(ally), max(ally)
            if y1 <= y0:
                y1 = y0 + 1
            for c, (xs, ys) in enumerate(series.values()):
                px = [left + (x - x0) / max(x1 - x0, 1e-9) * (right - left) for x in xs]
                py = [bottom - (y - y0) / (y1 - y0) * (bottom - top) for y in ys]
                for k in range(1, len(px)):
                    _line(img, px[k - 1], py[k - 1], px[k], py[k], COLOURS[c % len(COLOURS)])
                if len(px) == 1:
                    _line(img, px[0] - 2, py[0], px[0] + 2, py[0], COLOURS[c % len(COLOURS)])
            _text(img, 2, top, f'{y1:.3g}')
            _text(img, 2, bottom - 10, f'{y0:.3g}')
            _text(img, left, bottom + 8, f'{x0:.0f}')
            _text(img, right - 60, bottom + 8, f'{x1:.0f}')
        rows.append(img)
    write_png(path, np.concatenate(rows, 0))
