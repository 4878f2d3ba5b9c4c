"""README's screenshots (docs/images/), made from the pages the browser tests keep in
test-artifacts/: each cut to its top part and stored with a 256-colour palette, so each stays
small. `make screenshots` runs the browser tests that keep them first.

    python -m tests.browser.screenshots
"""

import sys
from pathlib import Path

from PIL import Image

from tests.browser.browsing import ARTIFACTS

IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"
# The kept pages shown in README, by name; the longest are cut to their top.
SHOWN = (
    "web-pool",
    "loop-bid-form",
    "loop-tender-evaluated",
    "loop-tender-awarded",
    "loop-school-savings",
    "loop-school-savings-phone",
)
MOST_HEIGHT = 1800
LARGEST = 250_000  # bytes


def shrink(name: str) -> Path:
    """The kept page `name`, at most MOST_HEIGHT px tall, as a palette PNG in docs/images/."""
    with Image.open(ARTIFACTS / f"{name}.png") as page:
        top = page.convert("RGB").crop((0, 0, page.width, min(page.height, MOST_HEIGHT)))
    target = IMAGES / f"{name}.png"
    top.quantize(colors=256, dither=Image.Dither.NONE).save(target, optimize=True)
    return target


def main() -> None:
    missing = [n for n in SHOWN if not (ARTIFACTS / f"{n}.png").exists()]
    if missing:
        sys.exit(f"not in {ARTIFACTS.name}/ (run the browser tests first): {', '.join(missing)}")
    IMAGES.mkdir(parents=True, exist_ok=True)
    for name in SHOWN:
        target = shrink(name)
        size = target.stat().st_size
        print(f"{target.name}: {size:,} bytes")
        if size > LARGEST:
            sys.exit(f"{target.name} is larger than {LARGEST:,} bytes")


if __name__ == "__main__":
    main()
