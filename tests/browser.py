"""A real headless browser for tests: Debian's chromium, run once per page with a fresh
profile, no network services, no GPU.

    browser = find_chromium()            # path or None (installs with scripts/ensure-chromium if asked)
    page = load(browser, "report.html")  # DOM after load, console messages, stderr
    shot = screenshot(browser, "report.html", "shot.png", (1280, 2400))
    info = png_summary("shot.png")       # width, height, distinct colours, non-white share

PNG files are decoded here with zlib and struct (numpy speeds the row filters up when
it is installed), so no imaging library is needed.
"""
from __future__ import annotations

import dataclasses
import os
import re
import shutil
import struct
import subprocess
import tempfile
import zlib
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
ENSURE = Path(__file__).resolve().parents[1] / "scripts" / "ensure-chromium"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic",
         "--disable-extensions", "--disable-default-apps", "--hide-scrollbars", "--mute-audio",
         "--enable-logging=stderr", "--v=0")
TIMEOUT = 120
# Chromium logs what a page writes to its console (console.log/warn/error and uncaught
# exceptions) as `...:INFO:CONSOLE:12] "message", source: URL (12)`.
_CONSOLE = re.compile(r":CONSOLE(?:\(\d+\)|:\d+)?\]\s*(.*)$")


def find_chromium(install: bool = False) -> str | None:
    """The chromium binary, or None. With install=True, scripts/ensure-chromium is run
    first when it is missing (it needs root or sudo, and the network)."""
    for candidate in (os.environ.get("FLOWCTL_CHROMIUM"), CHROMIUM, shutil.which("chromium")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    if install and ENSURE.exists():
        try:
            out = subprocess.run([str(ENSURE)], capture_output=True, text=True, timeout=900, check=True)
        except (OSError, subprocess.SubprocessError):
            return None
        path = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else CHROMIUM
        return path if os.access(path, os.X_OK) else None
    return None


@dataclasses.dataclass
class Page:
    dom: str
    console: list[str]  # messages the page wrote to its console (none expected from a report)
    stderr: str
    returncode: int


def _run(browser: str, url: str, extra: list[str], timeout: int = TIMEOUT) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory(prefix="flowctl-chromium-") as profile:
        env = {**os.environ, "HOME": profile}  # nothing from the user's own profile or cache
        return subprocess.run([browser, *FLAGS, f"--user-data-dir={profile}", *extra, url], capture_output=True,
                              text=True, timeout=timeout, env=env)


def url_of(path: str | os.PathLike) -> str:
    """A file's URL; `page.html#x` keeps its fragment (a page that reads it)."""
    file, hash_, fragment = str(path).partition("#")
    return Path(file).resolve().as_uri() + hash_ + fragment


def console_messages(stderr: str) -> list[str]:
    return [m.group(1).strip() for m in map(_CONSOLE.search, stderr.splitlines()) if m]


def load(browser: str, path: str | os.PathLike, window: tuple[int, int] = (1280, 2400)) -> Page:
    """Open a file, let it load, and return the DOM as the browser built it."""
    done = _run(browser, url_of(path), [f"--window-size={window[0]},{window[1]}", "--dump-dom"])
    return Page(done.stdout, console_messages(done.stderr), done.stderr, done.returncode)


def screenshot(browser: str, path: str | os.PathLike, out: str | os.PathLike,
               window: tuple[int, int] = (1280, 2400)) -> Page:
    """Render a file into a PNG of the window's size (the top of the page)."""
    out = Path(out).resolve()
    if out.exists():
        out.unlink()
    done = _run(browser, url_of(path), [f"--window-size={window[0]},{window[1]}", f"--screenshot={out}"])
    return Page("", console_messages(done.stderr), done.stderr, done.returncode)


# ---------------------------------------------------------------------------------
# PNG, decoded with zlib and struct
# ---------------------------------------------------------------------------------

@dataclasses.dataclass
class Image:
    width: int
    height: int
    channels: int  # 3 (RGB) or 4 (RGBA)
    rows: list[bytes]  # unfiltered scanlines

    def pixel(self, x: int, y: int) -> tuple[int, ...]:
        i = x * self.channels
        return tuple(self.rows[y][i:i + self.channels])


def read_png(path: str | os.PathLike) -> Image:
    """An 8-bit RGB or RGBA, non-interlaced PNG (what chromium writes)."""
    data = Path(path).read_bytes()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path} is not a PNG file")
    pos, idat, header = 8, [], None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
    if header is None:
        raise ValueError(f"{path} has no IHDR chunk")
    width, height, depth, colour, _, _, interlace = header
    channels = {2: 3, 6: 4}.get(colour)
    if depth != 8 or channels is None or interlace:
        raise ValueError(f"{path}: only 8-bit RGB/RGBA non-interlaced PNGs are read here (got depth {depth}, "
                         f"colour type {colour}, interlace {interlace})")
    raw = zlib.decompress(b"".join(idat))
    stride = width * channels
    rows: list[bytes] = []
    prev = bytes(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], raw[start + 1:start + 1 + stride]
        row = _unfilter(kind, line, prev, channels)
        rows.append(row)
        prev = row
    return Image(width, height, channels, rows)


def _unfilter(kind: int, line: bytes, prev: bytes, bpp: int) -> bytes:
    if kind == 0:
        return bytes(line)
    if kind == 2:
        return bytes((a + b) & 0xFF for a, b in zip(line, prev))
    out = bytearray(line)
    n = len(out)
    if kind == 1:
        for i in range(bpp, n):
            out[i] = (out[i] + out[i - bpp]) & 0xFF
    elif kind == 3:
        for i in range(n):
            left = out[i - bpp] if i >= bpp else 0
            out[i] = (out[i] + ((left + prev[i]) >> 1)) & 0xFF
    elif kind == 4:
        for i in range(n):
            a = out[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            out[i] = (out[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
    else:
        raise ValueError(f"unknown PNG filter type {kind}")
    return bytes(out)


def png_summary(path: str | os.PathLike, step: int = 2) -> dict:
    """Width, height, distinct colours and the share of pixels that are not (near) white,
    over every `step`-th pixel of every `step`-th row."""
    image = read_png(path)
    ch = image.channels
    colours: set[bytes] = set()
    inked = seen = 0
    for y in range(0, image.height, step):
        row = image.rows[y]
        for i in range(0, len(row), ch * step):
            px = row[i:i + 3]
            colours.add(px)
            seen += 1
            if min(px) < 235:
                inked += 1
    return {"width": image.width, "height": image.height, "distinct_colours": len(colours),
            "non_white": inked / seen if seen else 0.0}


def write_png(path: str | os.PathLike, image: Image, top: int = 0, height: int | None = None) -> None:
    """A horizontal band of an image as a new PNG (to look at part of a tall screenshot)."""
    height = min(image.height - top, height or image.height)
    raw = b"".join(b"\x00" + image.rows[y] for y in range(top, top + height))
    colour = 2 if image.channels == 3 else 6

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    Path(path).write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", image.width, height, 8, colour, 0, 0, 0))
                           + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))
