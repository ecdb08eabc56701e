"""Write the handwritten digits as an image-folder tree: data/digits/{train,test}/<digit>/<index>.png.

Provenance: the UCI Machine Learning Repository's "Optical Recognition of Handwritten Digits"
(E. Alpaydin and C. Kaynak, 1998; https://archive.ics.uci.edu/dataset/80), licence CC BY 4.0, in
the copy bundled with scikit-learn (`sklearn.datasets.load_digits`): 1,797 images of 8x8 pixels,
each pixel a count 0-16 of ink in a 4x4 block of the original 32x32 bitmap, 10 classes.

What this script does: a stratified, seeded 80/20 split (`train_test_split(stratify=y,
random_state=SEED)`), then every image written as an 8x8 greyscale PNG, its 17 grey levels scaled
exactly to 0-255 (`round(v * 255 / 16)`: 0 -> 0, 16 -> 255), named by its index in `load_digits()`
(`0042.png`), so names are unique and stable. Pillow writes no timestamp or other metadata into a
PNG, so a re-run gives byte-identical files; `--check` verifies that without writing anything.

The yardstick: on exactly this split, scikit-learn's support-vector classifier `SVC(gamma=0.001)`
(its documentation's classic digits example) is trained on the 1,437 training images and scored on
the 360 test images, on the pixel levels 0-16, and the result is written to
`data/digits/svc_yardstick.json` with how it was made. Notebook 09 reads that file and quotes the
figure beside its own models; the course itself never imports scikit-learn. SVC is deterministic
(no random draws), so a re-run writes the same file; `--check` compares it too.

scikit-learn is needed by this script only, not by the course. Regenerate with a throw-away venv:

    python3 -m venv /tmp/skl && /tmp/skl/bin/pip install scikit-learn pillow
    /tmp/skl/bin/python tools/make_digits.py            # rewrite data/digits/
    /tmp/skl/bin/python tools/make_digits.py --check    # exit 1 if data/digits/ differs
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "data" / "digits"
SEED = 42
TEST_FRACTION = 0.2
YARDSTICK = "svc_yardstick.json"
SVC_GAMMA = 0.001


def png_bytes(image) -> bytes:
    """Return one 8x8 image of values 0-16 as the bytes of a greyscale ('L') PNG, scaled to 0-255."""
    import numpy as np
    from PIL import Image

    pixels = np.rint(np.asarray(image, dtype=np.float64) * 255 / 16).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG", optimize=False, compress_level=9)
    return buf.getvalue()


def svc_yardstick(digits, train: list[int], test: list[int]) -> bytes:
    """Train SVC(gamma=0.001) on the training images, score it on the test images; return the JSON file's bytes."""
    import sklearn
    from sklearn.svm import SVC

    train, test = sorted(train), sorted(test)  # the order the image folders list them in
    svc = SVC(gamma=SVC_GAMMA).fit(digits.data[train], digits.target[train])
    correct = int((svc.predict(digits.data[test]) == digits.target[test]).sum())
    record = {
        "what": "test accuracy of scikit-learn's support-vector classifier on the course's digits split",
        "model": f"sklearn.svm.SVC(gamma={SVC_GAMMA}), every other setting at its default",
        "features": "the 64 pixel levels of each image, 0-16, as load_digits() gives them "
                    "(the PNGs store round(v * 255 / 16))",
        "trained_on": f"data/digits/train: all {len(train)} training images",
        "tested_on": f"data/digits/test: all {len(test)} test images",
        "correct": correct,
        "total": len(test),
        "accuracy": round(correct / len(test), 6),
        "made_by": "tools/make_digits.py",
        "scikit_learn_version": sklearn.__version__,
    }
    return (json.dumps(record, indent=2) + "\n").encode()


def digit_files() -> dict[str, bytes]:
    """Return {relative path: bytes} for the whole tree, e.g. {'train/3/0042.png': b'...'}, and the yardstick."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    indices = list(range(len(digits.target)))
    train, test = train_test_split(
        indices, test_size=TEST_FRACTION, stratify=digits.target, random_state=SEED
    )
    files = {}
    for split, chosen in (("train", train), ("test", test)):
        for i in sorted(chosen):
            files[f"{split}/{digits.target[i]}/{i:04d}.png"] = png_bytes(digits.images[i])
    files[YARDSTICK] = svc_yardstick(digits, train, test)
    return files


def write(files: dict[str, bytes], out: Path) -> None:
    """Replace `out` with the tree of `files` (built beside it, then swapped in)."""
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    for rel, data in files.items():
        path = tmp / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)


def differences(files: dict[str, bytes], out: Path) -> list[str]:
    """Return the relative paths that are missing, extra or different under `out`."""
    on_disk = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()} if out.is_dir() else set()
    changed = [rel for rel, data in files.items() if rel in on_disk and (out / rel).read_bytes() != data]
    return sorted((set(files) ^ on_disk) | set(changed))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with data/digits/, write nothing")
    args = parser.parse_args(argv)
    files = digit_files()
    if args.check:
        diff = differences(files, OUT)
        print(f"{len(diff)} file(s) differ" + (f", e.g. {diff[:5]}" if diff else ": data/digits/ is up to date"))
        return 1 if diff else 0
    write(files, OUT)
    pngs = [d for rel, d in files.items() if rel.endswith(".png")]
    yardstick = json.loads(files[YARDSTICK])
    print(f"wrote {len(pngs)} PNGs ({sum(map(len, pngs)) / 1024:.0f} KiB of file content) under "
          f"{OUT.relative_to(ROOT)}/, and {YARDSTICK}: SVC {yardstick['correct']} of {yardstick['total']} right")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
