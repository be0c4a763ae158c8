"""Regenerate the report screenshots in docs/ from a built report folder.

    make report                                   # or make run: builds warehouse/reports
    python3 docs/screenshots.py warehouse/reports # needs chromium and Pillow (python3-pil)
    python3 docs/screenshots.py warehouse/reports /tmp/bench/reports  # + a synthetic index

Chromium runs headless and offline (the same flags as the tests). A tall window
captures the whole page; Pillow trims the empty background below the content. The
tie-out picture is the same TROO page with the sections above "Tie-outs" hidden by
one added CSS rule (a copy in a temp folder; the report itself is not touched).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image

DOCS = Path(__file__).resolve().parent
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
         "--disable-background-networking", "--disable-component-update",
         "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=http://127.0.0.1:9")
BACKGROUND = (243, 244, 246)  # body background of the report stylesheet
ONLY_TIEOUTS = ("<style>main > :not(#tieouts, #tieouts ~ *) { display: none; }"
                " main { padding-top: 8px; }</style></head>")


def shoot(page: Path, png: Path, *, width: int = 1280, height: int = 6000,
          max_height: int | None = None) -> None:
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(["chromium", *FLAGS, f"--user-data-dir={profile}",
                        f"--window-size={width},{height}", f"--screenshot={png}",
                        page.resolve().as_uri()], check=True, capture_output=True)
    image = Image.open(png).convert("RGB")
    bottom = image.height
    pixels = image.load()
    while bottom > 1 and all(pixels[x, bottom - 1] == BACKGROUND for x in range(0, width, 4)):
        bottom -= 1
    bottom = min(image.height, bottom + 24)
    if max_height:
        bottom = min(bottom, max_height)
    image.crop((0, 0, width, bottom)).save(png, optimize=True)


def main(site: Path, synthetic: Path | None = None) -> int:
    [troo] = sorted((site / "companies").glob("vendor-TROO-*.html"))
    shoot(site / "index.html", DOCS / "reports-index.png")
    shoot(troo, DOCS / "reports-troo.png", max_height=1900)
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / troo.name
        copy.write_text(troo.read_text(encoding="utf-8").replace("</head>", ONLY_TIEOUTS, 1),
                        encoding="utf-8")
        shoot(copy, DOCS / "reports-troo-tieouts.png")
    names = ["reports-index.png", "reports-troo.png", "reports-troo-tieouts.png"]
    if synthetic is not None:  # many companies (bench/reports_bench.py): sparklines, scores
        shoot(synthetic / "index.html", DOCS / "reports-index-synthetic.png", max_height=1000)
        names.append("reports-index-synthetic.png")
    for name in names:
        print(DOCS / name, Image.open(DOCS / name).size)
    return 0


if __name__ == "__main__":
    args = [Path(a) for a in sys.argv[1:]] or [Path("warehouse/reports")]
    sys.exit(main(*args[:2]))
