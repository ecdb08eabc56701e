"""Images from folders: torchvision's ImageFolder and a few transforms, with the same names and contract.

torchvision is the package practitioners use for this (`from torchvision import datasets, transforms`);
these stand-ins behave the same way, so what a learner writes here transfers line for line:
`ImageFolder(root, transform, target_transform, loader, is_valid_file)`, `Compose`, `ToTensor`,
`Normalize`, `Grayscale`, `RandomAffine`. One addition: `RandomAffine(..., generator=...)` takes a
seeded torch.Generator (torchvision draws from the global seed). PIL is imported only when an image
is opened, so `import helpers` stays light.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch.nn import functional as F
from torch.utils.data import Dataset

from ._checks import check_callable, check_number, check_path

__all__ = [
    "IMG_EXTENSIONS", "pil_loader", "default_loader", "find_classes", "ImageFolder", "Compose", "ToTensor",
    "Normalize", "Grayscale", "RandomAffine", "affine", "dataset_to_tensors", "digits_folder", "load_digits",
]

IMG_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")  # torchvision's


def pil_loader(path: str | os.PathLike) -> Any:
    """Open an image file with PIL and convert it to RGB, as torchvision's default loader does."""
    from PIL import Image

    with open(check_path("path", path), "rb") as f:  # a missing file: FileNotFoundError, naming it
        try:
            return Image.open(f).convert("RGB")
        except (OSError, SyntaxError, ValueError) as err:  # PIL's errors for damaged files name no file
            reason = str(err).split(" <_io.")[0]  # without the file object's repr
            raise ValueError(
                f"could not read the image {os.fspath(path)}: {type(err).__name__}: {reason}. "
                "The file is damaged or not an image: replace it or remove it from the folder"
            ) from None


default_loader = pil_loader


def find_classes(directory: str | os.PathLike) -> tuple[list[str], dict[str, int]]:
    """Return the sorted sub-folder names of `directory` and {name: index}; raise if there are none."""
    directory = Path(check_path("directory", directory))
    if not directory.is_dir():
        raise FileNotFoundError(f"no folder at {directory}: ImageFolder expects root/<class>/<image files>")
    classes = sorted(entry.name for entry in os.scandir(directory) if entry.is_dir())
    if not classes:
        raise FileNotFoundError(f"couldn't find any class folder in {directory}: expected root/<class>/<image files>")
    return classes, {name: i for i, name in enumerate(classes)}


def _make_dataset(
    directory: Path, class_to_idx: dict[str, int], is_valid_file: Callable[[str], bool], allow_empty: bool
) -> list[tuple[str, int]]:
    """List (path, class index) for every valid file under each class folder, nested ones included."""
    samples, empty = [], []
    for name in sorted(class_to_idx):
        found = [
            (os.path.join(folder, fname), class_to_idx[name])
            for folder, _, fnames in sorted(os.walk(directory / name, followlinks=True))
            for fname in sorted(fnames)
            if is_valid_file(os.path.join(folder, fname))
        ]
        empty += [] if found else [name]
        samples += found
    if empty and not allow_empty:
        raise FileNotFoundError(
            f"found no valid image file in {directory} for the class(es) {', '.join(empty)}. "
            f"Supported extensions are: {', '.join(IMG_EXTENSIONS)}"
        )
    return samples


class ImageFolder(Dataset):
    """A dataset of images laid out as root/<class>/<file>: the folder a file is in is its label."""

    def __init__(
        self,
        root: str | os.PathLike,
        transform: Callable | None = None,
        target_transform: Callable | None = None,
        loader: Callable[[str], Any] = default_loader,
        is_valid_file: Callable[[str], bool] | None = None,
        allow_empty: bool = False,
    ) -> None:
        for name, value, example in (("transform", transform, "ToTensor()"),
                                     ("target_transform", target_transform, "lambda label: label"),
                                     ("loader", loader, "pil_loader"),
                                     ("is_valid_file", is_valid_file, "lambda path: path.endswith('.png')")):
            if value is not None:
                check_callable(name, value, example)
        if not isinstance(allow_empty, bool):
            raise TypeError(f"allow_empty must be True or False, got {allow_empty!r}")
        self.root = os.fspath(check_path("root", root))
        self.transform, self.target_transform, self.loader = transform, target_transform, loader
        self.extensions = None if is_valid_file else IMG_EXTENSIONS
        valid = is_valid_file or (lambda path: path.lower().endswith(IMG_EXTENSIONS))
        self.classes, self.class_to_idx = find_classes(self.root)
        self.samples = _make_dataset(Path(self.root), self.class_to_idx, valid, allow_empty)
        if not self.samples:
            raise FileNotFoundError(f"found no image file in {self.root}")
        self.imgs = self.samples  # torchvision keeps this older name too
        self.targets = [target for _, target in self.samples]

    def __len__(self) -> int:
        """Return the number of images."""
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        """Return (image, target) for one sample, each passed through its transform when there is one."""
        path, target = self.samples[index]
        image = self.loader(path)
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return image, target

    def __repr__(self) -> str:
        """Describe the dataset the way torchvision does."""
        lines = [f"Dataset {type(self).__name__}", f"    Number of datapoints: {len(self)}",
                 f"    Root location: {self.root}"]
        lines += [f"    {label}: {t!r}".replace("\n", "\n    ") for label, t in
                  (("Transform", self.transform), ("Target transform", self.target_transform)) if t is not None]
        return "\n".join(lines)


class Compose:
    """Chain transforms: Compose([a, b])(x) is b(a(x))."""

    def __init__(self, transforms: Sequence[Callable]) -> None:
        if not isinstance(transforms, (list, tuple)):
            raise TypeError(f"transforms must be a list of transforms, got {type(transforms).__name__}: "
                            "put even a single one in a list, e.g. Compose([ToTensor()])")
        for i, t in enumerate(transforms):
            check_callable(f"transforms[{i}]", t, "[Grayscale(), ToTensor()]")
        self.transforms = list(transforms)

    def __call__(self, x: Any) -> Any:
        """Apply each transform in turn."""
        for t in self.transforms:
            x = t(x)
        return x

    def __repr__(self) -> str:
        """List the chained transforms, one a line."""
        return "Compose(\n" + "".join(f"    {t!r}\n" for t in self.transforms) + ")"


class ToTensor:
    """Turn a PIL image (or a H x W x C uint8 array) into a float tensor [C, H, W] scaled to [0, 1]."""

    def __call__(self, pic: Any) -> torch.Tensor:
        """Convert one image; 8-bit pixel values v become v / 255."""
        import numpy as np

        if not (hasattr(pic, "mode") and hasattr(pic, "getbands")) and not isinstance(pic, np.ndarray):
            raise TypeError(f"ToTensor expects a PIL image or a NumPy array, got {type(pic).__name__}")
        array = np.array(pic, copy=True)
        if array.ndim == 2:
            array = array[:, :, None]
        if array.ndim != 3:
            raise ValueError(f"ToTensor expects an image of shape H x W or H x W x C, got {array.shape}")
        tensor = torch.from_numpy(array).permute(2, 0, 1).contiguous()
        return tensor.float().div(255) if tensor.dtype == torch.uint8 else tensor.float()

    def __repr__(self) -> str:
        """Name the transform."""
        return "ToTensor()"


def _values(name: str, value: object) -> list[float]:
    """Return one number or a sequence (or 0-d/1-d tensor) of numbers as a non-empty list of floats."""
    if isinstance(value, torch.Tensor):
        value = value.tolist()
    values = list(value) if isinstance(value, (list, tuple)) else [value]
    if not values:
        raise ValueError(f"{name} must hold at least one number (one per channel)")
    values = [v.item() if isinstance(v, torch.Tensor) and v.numel() == 1 else v for v in values]  # [X.mean()]
    return [check_number(f"{name} values", v) for v in values]


class Normalize:
    """Standardize each channel of a tensor image: (x - mean[c]) / std[c]."""

    def __init__(self, mean: float | Sequence[float], std: float | Sequence[float], inplace: bool = False) -> None:
        self.mean, self.std = _values("mean", mean), _values("std", std)  # a single number: every channel
        if not isinstance(inplace, bool):
            raise TypeError(f"inplace must be True or False, got {inplace!r}")
        self.inplace = inplace
        if any(s == 0 for s in self.std):
            raise ValueError(f"std must not contain 0 (it divides), got {self.std}")
        if any(s < 0 for s in self.std):
            raise ValueError(f"std values are standard deviations and must be positive, got {self.std}")

    def __call__(self, tensor: torch.Tensor) -> torch.Tensor:
        """Normalize a float tensor of shape [..., C, H, W]."""
        if not isinstance(tensor, torch.Tensor) or not tensor.is_floating_point() or tensor.dim() < 3:
            raise TypeError("Normalize expects a float tensor image [..., C, H, W]: put it after ToTensor()")
        channels = tensor.shape[-3]
        if len(self.mean) not in (1, channels) or len(self.std) not in (1, channels):
            raise ValueError(f"mean and std need 1 or {channels} values (one per channel), "
                             f"got {len(self.mean)} and {len(self.std)}")
        mean = torch.tensor(self.mean, dtype=tensor.dtype).view(-1, 1, 1)
        std = torch.tensor(self.std, dtype=tensor.dtype).view(-1, 1, 1)
        return tensor.sub_(mean).div_(std) if self.inplace else (tensor - mean) / std

    def __repr__(self) -> str:
        """Show mean and std."""
        return f"Normalize(mean={self.mean}, std={self.std})"


class Grayscale:
    """Convert a PIL image to greyscale ('L'), with 1 channel or the grey copied into 3."""

    def __init__(self, num_output_channels: int = 1) -> None:
        if num_output_channels not in (1, 3):
            raise ValueError(f"num_output_channels must be 1 or 3, got {num_output_channels!r}")
        self.num_output_channels = num_output_channels

    def __call__(self, image: Any) -> Any:
        """Return the greyscale image (PIL's ITU-R 601-2 luma: exact for an image that was grey)."""
        if not hasattr(image, "convert"):
            raise TypeError(f"Grayscale expects a PIL image, got {type(image).__name__}")
        grey = image.convert("L")
        return grey if self.num_output_channels == 1 else grey.convert("RGB")

    def __repr__(self) -> str:
        """Show the number of output channels."""
        return f"Grayscale(num_output_channels={self.num_output_channels})"


def _pair(name: str, value: object, low: float, high: float, ordered: bool = True) -> tuple[float, float] | None:
    """Return a (min, max) range from a sequence of two numbers within [low, high], or None."""
    if value is None:
        return None
    if not isinstance(value, Sequence) or len(value) != 2:
        raise TypeError(f"{name} must be a pair of numbers, e.g. (0.1, 0.1), got {value!r}")
    a, b = (check_number(name, v) for v in value)
    if not low <= a <= high or not low <= b <= high:
        bounds = "positive" if high == math.inf else f"between {low} and {high}"
        raise ValueError(f"{name} values must be {bounds}, got {value!r}")
    if ordered and a > b:
        raise ValueError(f"{name} must be a range (min, max) with min <= max, got {value!r}: use {(b, a)!r}")
    return a, b


class RandomAffine:
    """Rotate, shift and scale an image by a random amount (torchvision's RandomAffine, no shear)."""

    def __init__(
        self,
        degrees: float | Sequence[float],
        translate: Sequence[float] | None = None,
        scale: Sequence[float] | None = None,
        interpolation: str = "nearest",
        fill: float = 0.0,
        *,
        generator: torch.Generator | None = None,
    ) -> None:
        if isinstance(degrees, (int, float)) and not isinstance(degrees, bool):
            if check_number("degrees", degrees) < 0:
                raise ValueError(f"degrees as a single number must be 0 or more (the range is -degrees to degrees), "
                                 f"got {degrees}; for a range give a pair, e.g. (-10, 10)")
            degrees = (-degrees, degrees)
        self.degrees = _pair("degrees", degrees, -360, 360)
        self.translate = _pair("translate", translate, 0, 1, ordered=False)  # (max dx, max dy), not a range
        self.scale = _pair("scale", scale, 1e-6, math.inf)
        if interpolation not in ("nearest", "bilinear"):
            raise ValueError(f"interpolation must be 'nearest' or 'bilinear', got {interpolation!r}")
        if generator is not None and not isinstance(generator, torch.Generator):
            raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
        self.interpolation, self.fill, self.generator = interpolation, check_number("fill", fill), generator

    def sample_params(self, height: int, width: int) -> tuple[float, tuple[int, int], float]:
        """Draw (angle in degrees, (dx, dy) in whole pixels, scale) as torchvision's get_params does."""
        def uniform(low: float, high: float) -> float:
            return float(torch.empty(1).uniform_(low, high, generator=self.generator))

        angle = uniform(*self.degrees)
        dx = dy = 0
        if self.translate is not None:
            dx = round(uniform(-self.translate[0] * width, self.translate[0] * width))
            dy = round(uniform(-self.translate[1] * height, self.translate[1] * height))
        return angle, (dx, dy), uniform(*self.scale) if self.scale is not None else 1.0

    def __call__(self, image: Any) -> Any:
        """Transform a tensor [..., C, H, W] (one draw for all of it), or a PIL image."""
        if isinstance(image, torch.Tensor):
            if image.dim() < 3 or not image.is_floating_point():
                raise TypeError("RandomAffine expects a float tensor [..., C, H, W] or a PIL image")
            return affine(image, *self.sample_params(*image.shape[-2:]), self.interpolation, self.fill)
        if not hasattr(image, "convert"):
            raise TypeError(f"RandomAffine expects a PIL image or a tensor, got {type(image).__name__}")
        from PIL import Image

        out = self(ToTensor()(image)).mul(255).round().clamp(0, 255).to(torch.uint8).permute(1, 2, 0)
        return Image.fromarray(out.squeeze(-1).numpy() if out.shape[-1] == 1 else out.numpy())

    def __repr__(self) -> str:
        """Show the ranges."""
        return f"RandomAffine(degrees={self.degrees}, translate={self.translate}, scale={self.scale})"


def affine(
    image: torch.Tensor, angle: float, translate: tuple[int, int], scale: float,
    interpolation: str = "nearest", fill: float = 0.0,
) -> torch.Tensor:
    """Rotate `image` [..., C, H, W] by `angle` degrees clockwise about its centre, scale, then shift.

    Clockwise for a positive angle, as torchvision's `functional.affine` (its RandomRotation turns the
    other way); `translate` is (dx, dy) in pixels, right and down.
    """
    if not isinstance(image, torch.Tensor) or image.dim() < 3 or not image.is_floating_point():
        raise TypeError("image must be a float tensor [..., C, H, W], e.g. from ToTensor()")
    if interpolation not in ("nearest", "bilinear"):
        raise ValueError(f"interpolation must be 'nearest' or 'bilinear', got {interpolation!r}")
    angle, scale = check_number("angle", angle), check_number("scale", scale)
    if scale <= 0:
        raise ValueError(f"scale must be greater than 0, got {scale}")
    if not isinstance(translate, (tuple, list)) or len(translate) != 2:
        raise TypeError(f"translate must be a pair (dx, dy) of pixels, got {translate!r}")
    height, width = image.shape[-2:]
    a = math.radians(angle)
    # each output pixel (x, y), measured from the centre with y pointing down, reads the input at
    # R^-1 ((x, y) - t) / scale, where R turns the picture clockwise as seen on screen
    ys, xs = torch.meshgrid(torch.arange(height) - (height - 1) / 2, torch.arange(width) - (width - 1) / 2,
                            indexing="ij")
    xs, ys = xs - translate[0], ys - translate[1]
    src_x = (math.cos(a) * xs + math.sin(a) * ys) / scale
    src_y = (-math.sin(a) * xs + math.cos(a) * ys) / scale
    grid = torch.stack([2 * src_x / width, 2 * src_y / height], dim=-1)  # [-1, 1] spans the pixels' outer edges
    flat = image.reshape(-1, *image.shape[-3:])
    grid = grid.to(image.dtype).expand(len(flat), height, width, 2)
    out = F.grid_sample(flat - fill, grid, mode=interpolation, padding_mode="zeros", align_corners=False) + fill
    return out.reshape(image.shape)


def dataset_to_tensors(dataset: Dataset) -> tuple[torch.Tensor, torch.Tensor]:
    """Read every (image tensor, label) of `dataset` once and stack them into (X [N, ...], y [N])."""
    if not hasattr(dataset, "__len__") or not hasattr(dataset, "__getitem__") or len(dataset) == 0:
        raise ValueError("dataset must be a non-empty Dataset, e.g. an ImageFolder with transform=ToTensor()")
    images, labels = zip(*(dataset[i] for i in range(len(dataset))))
    if not isinstance(images[0], torch.Tensor):
        raise TypeError(f"dataset gives {type(images[0]).__name__} images: give it a transform that ends "
                        "with ToTensor()")
    odd = next((i for i, image in enumerate(images) if image.shape != images[0].shape), None)
    if odd is not None:
        files = getattr(dataset, "samples", None)
        names = [files[i][0] if files else f"sample {i}" for i in (0, odd)]
        raise ValueError(
            f"the images must all have one size to be stacked, but {names[0]} gives {list(images[0].shape)} and "
            f"{names[1]} gives {list(images[odd].shape)}: resize the images to one size first"
        )
    return torch.stack(images), torch.as_tensor(labels)


def digits_folder(split: str = "train", root: str | os.PathLike | None = None) -> Path:
    """Return the folder data/digits/<split>: under `root`, the course checkout, or ../data from here."""
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    if root is not None:
        return Path(check_path("root", root)) / split
    places = [Path(__file__).resolve().parents[1] / "data" / "digits", Path("..") / "data" / "digits"]
    for place in places:
        if (place / split).is_dir():
            return place / split
    raise FileNotFoundError(f"no digits folder at {' or '.join(str(p / split) for p in places)}: run from the "
                            "course's notebooks/ folder, or pass root='path/to/data/digits'")


def load_digits(split: str = "train", root: str | os.PathLike | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Read the course's digits once: X [N, 1, 8, 8] float in [0, 1], y [N] class indices."""
    folder = ImageFolder(digits_folder(split, root), transform=Compose([Grayscale(), ToTensor()]))
    return dataset_to_tensors(folder)

