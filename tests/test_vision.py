"""helpers.vision keeps torchvision's contract: ImageFolder on trees built here, the transforms by hand."""

import pytest
import torch
from PIL import Image

from helpers import vision as V


def _png(path, value=0, size=(4, 3), mode="L"):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, value).save(path)
    return path


@pytest.fixture
def tree(tmp_path):
    """root/{cat,dog,emu}: nested files, a non-image, upper-case extension, a hidden-order trap."""
    root = tmp_path / "root"
    _png(root / "dog" / "b.png", 10)
    _png(root / "dog" / "a.jpg", 20)
    _png(root / "dog" / "sub" / "0.png", 30)  # nested files belong to their class
    _png(root / "cat" / "z.PNG", 40)  # extensions match in any case
    (root / "cat" / "notes.txt").write_text("not an image")
    (root / "cat" / "y.png.bak").write_text("not an image either")
    _png(root / "emu" / "x.bmp", 50)
    (root / "readme.md").write_text("a file at the top is not a class")
    return root


def test_classes_are_sorted_folder_names_and_samples_sorted_by_class_then_path(tree):
    data = V.ImageFolder(tree)
    assert data.classes == ["cat", "dog", "emu"]
    assert data.class_to_idx == {"cat": 0, "dog": 1, "emu": 2}
    rel = [(str(p).removeprefix(str(tree) + "/"), t) for p, t in data.samples]
    assert rel == [("cat/z.PNG", 0), ("dog/a.jpg", 1), ("dog/b.png", 1), ("dog/sub/0.png", 1), ("emu/x.bmp", 2)]
    assert data.targets == [0, 1, 1, 1, 2] and len(data) == 5 and data.imgs == data.samples


def test_getitem_loads_rgb_like_torchvision_and_returns_the_target(tree):
    image, target = V.ImageFolder(tree)[3]
    assert image.mode == "RGB" and image.size == (4, 3) and target == 1
    assert image.getpixel((0, 0)) == (30, 30, 30)


def test_transform_and_target_transform_are_applied(tree):
    data = V.ImageFolder(tree, transform=V.Compose([V.Grayscale(), V.ToTensor()]),
                         target_transform=lambda t: t * 10)
    image, target = data[4]
    assert image.shape == (1, 3, 4) and torch.allclose(image, torch.full((1, 3, 4), 50 / 255)) and target == 20


def test_loader_and_is_valid_file_replace_the_defaults(tree):
    data = V.ImageFolder(tree, loader=lambda p: p, is_valid_file=lambda p: p.endswith(".txt"), allow_empty=True)
    assert [t for _, t in data.samples] == [0] and data[0][0].endswith("notes.txt")


def _nothing(root):
    return root


def _no_class_folder(root):
    root.mkdir()
    (root / "top.png").write_bytes(b"")  # a file at the top is not a class
    return root


def _one_empty_class(root):
    (root / "a").mkdir(parents=True)
    _png(root / "b" / "1.png")
    return root


def _no_images_at_all(root):
    (root / "a").mkdir(parents=True)
    (root / "a" / "x.txt").write_text("")
    return root


@pytest.mark.parametrize("make, match", [
    (_nothing, "no folder at"),
    (_no_class_folder, "couldn't find any class folder"),
    (_one_empty_class, r"class\(es\) a\b"),
    (_no_images_at_all, "no valid image file"),
])
def test_missing_or_empty_trees_raise_file_not_found_naming_the_folder(tmp_path, make, match):
    root = make(tmp_path / "data")
    with pytest.raises(FileNotFoundError, match=match) as info:
        V.ImageFolder(root)
    assert str(tmp_path / "data") in str(info.value)


def test_allow_empty_keeps_empty_classes_but_not_an_empty_tree(tmp_path):
    (tmp_path / "a").mkdir()
    _png(tmp_path / "b" / "1.png")
    assert V.ImageFolder(tmp_path, allow_empty=True).classes == ["a", "b"]
    (tmp_path / "a" / "c").mkdir()
    with pytest.raises(FileNotFoundError, match="found no image file"):
        V.ImageFolder(tmp_path / "a", allow_empty=True)


def test_bad_arguments_name_themselves(tree):
    with pytest.raises(TypeError, match="transform must be callable"):
        V.ImageFolder(tree, transform="ToTensor")
    with pytest.raises(TypeError, match="root must be"):
        V.ImageFolder(42)


def test_to_tensor_scales_bytes_to_zero_one_channels_first():
    image = Image.frombytes("L", (3, 2), bytes([0, 51, 102, 153, 204, 255]))
    t = V.ToTensor()(image)
    assert t.dtype == torch.float32 and t.shape == (1, 2, 3)
    assert torch.allclose(t, torch.tensor([[[0, 0.2, 0.4], [0.6, 0.8, 1.0]]]))
    rgb = V.ToTensor()(Image.new("RGB", (2, 2), (255, 0, 51)))
    assert rgb.shape == (3, 2, 2) and rgb[:, 0, 0].tolist() == pytest.approx([1.0, 0.0, 0.2])
    with pytest.raises(TypeError, match="PIL image"):
        V.ToTensor()(torch.zeros(1, 2, 2))


def test_normalize_by_hand():
    x = torch.tensor([[[0.0, 0.5]], [[1.0, 0.25]]])  # 2 channels, 1 x 2
    out = V.Normalize(mean=[0.5, 0.25], std=[0.5, 0.25])(x)
    assert torch.allclose(out, torch.tensor([[[-1.0, 0.0]], [[3.0, 0.0]]]))
    assert torch.equal(x, torch.tensor([[[0.0, 0.5]], [[1.0, 0.25]]]))  # not in place by default
    with pytest.raises(ValueError, match="std must not contain 0"):
        V.Normalize([0.5], [0.0])
    with pytest.raises(ValueError, match="1 or 2 values"):
        V.Normalize([0.1, 0.2, 0.3], [1, 1, 1])(x)
    with pytest.raises(TypeError, match="after ToTensor"):
        V.Normalize([0.5], [0.5])(Image.new("L", (2, 2)))


def test_compose_chains_in_order():
    assert V.Compose([lambda v: v + 1, lambda v: v * 10])(1) == 20
    assert "Grayscale" in repr(V.Compose([V.Grayscale(), V.ToTensor()]))
    with pytest.raises(TypeError, match=r"transforms\[0\] must be callable, got int"):
        V.Compose([1])


def test_grayscale_keeps_grey_exactly_and_can_give_three_channels():
    grey = V.Grayscale()(Image.new("RGB", (2, 2), (77, 77, 77)))
    assert grey.mode == "L" and grey.getpixel((0, 0)) == 77
    assert V.Grayscale(3)(Image.new("RGB", (2, 2), (255, 0, 0))).getpixel((0, 0)) == (76, 76, 76)  # 0.299 * 255
    with pytest.raises(ValueError, match="num_output_channels"):
        V.Grayscale(2)


def test_random_affine_by_hand_shift_and_quarter_turn():
    x = torch.arange(16.0).reshape(1, 4, 4)
    shifted = V.affine(x, angle=0, translate=(1, 0), scale=1)  # one pixel right, zeros fill in
    assert torch.equal(shifted[0, :, 1:], x[0, :, :-1]) and torch.equal(shifted[0, :, 0], torch.zeros(4))
    turned = V.affine(x, angle=90, translate=(0, 0), scale=1)
    assert torch.equal(turned, torch.rot90(x, -1, dims=(-2, -1)))  # clockwise on screen, as torchvision
    assert torch.equal(V.affine(x, angle=0, translate=(0, 0), scale=1), x)


def test_random_affine_draws_like_torchvision_from_its_generator():
    aug = V.RandomAffine(degrees=10, translate=(0.25, 0.25), generator=torch.Generator().manual_seed(0))
    angles, shifts = zip(*[aug.sample_params(8, 8)[:2] for _ in range(200)])
    assert all(-10 <= a <= 10 for a in angles) and max(angles) - min(angles) > 15
    assert {s for pair in shifts for s in pair} == {-2, -1, 0, 1, 2}  # whole pixels, up to 0.25 * 8
    x = torch.rand(1, 8, 8)
    first = V.RandomAffine(15, (0.1, 0.1), generator=torch.Generator().manual_seed(3))(x)
    again = V.RandomAffine(15, (0.1, 0.1), generator=torch.Generator().manual_seed(3))(x)
    other = V.RandomAffine(15, (0.1, 0.1), generator=torch.Generator().manual_seed(4))(x)
    assert torch.equal(first, again) and not torch.equal(first, other)


def test_random_affine_on_a_pil_image_gives_a_pil_image_and_checks_its_arguments():
    out = V.RandomAffine(0, generator=torch.Generator().manual_seed(0))(Image.new("L", (5, 5), 200))
    assert out.mode == "L" and out.getpixel((2, 2)) == 200
    with pytest.raises(TypeError, match="pair of numbers"):
        V.RandomAffine(10, translate=0.1)
    with pytest.raises(ValueError, match="between 0 and 1"):
        V.RandomAffine(10, translate=(2, 0))
    with pytest.raises(TypeError, match="generator"):
        V.RandomAffine(10, generator=0)
    with pytest.raises(ValueError, match="interpolation"):
        V.RandomAffine(10, interpolation="cubic")


def test_dataset_to_tensors_stacks_once_and_refuses_pil_images(tree):
    data = V.ImageFolder(tree, transform=V.Compose([V.Grayscale(), V.ToTensor()]))
    X, y = V.dataset_to_tensors(data)
    assert X.shape == (5, 1, 3, 4) and y.tolist() == data.targets
    assert X[:, 0, 0, 0].mul(255).round().tolist() == [40, 20, 10, 30, 50]
    with pytest.raises(TypeError, match="ToTensor"):
        V.dataset_to_tensors(V.ImageFolder(tree))
    with pytest.raises(ValueError, match="non-empty"):
        V.dataset_to_tensors([])


def test_digits_folder_checks_the_split(tmp_path):
    assert V.digits_folder("test", root=tmp_path) == tmp_path / "test"
    with pytest.raises(ValueError, match="split must be"):
        V.digits_folder("validation")


def test_import_cost_stays_low():
    import subprocess
    import sys

    code = "import sys, helpers.vision, helpers.classify; print('PIL' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False", "helpers.vision imports PIL at import time"


# --- bad input: what learners write by mistake gets a plain error ------------------------------------


def test_a_transform_class_instead_of_an_instance_is_named(tree):
    with pytest.raises(TypeError, match=r"transform must be an instance, got the class ToTensor: .*ToTensor\(\)"):
        V.ImageFolder(tree, transform=V.ToTensor)
    with pytest.raises(TypeError, match=r"transforms\[1\] must be an instance, got the class ToTensor"):
        V.Compose([V.Grayscale(), V.ToTensor])
    with pytest.raises(TypeError, match="loader must be callable"):
        V.ImageFolder(tree, loader="PIL")


def test_compose_given_a_single_transform_says_to_put_it_in_a_list():
    with pytest.raises(TypeError, match=r"transforms must be a list .*got ToTensor.*Compose\(\[ToTensor\(\)\]\)"):
        V.Compose(V.ToTensor())
    assert V.Compose([])(3) == 3  # an empty chain changes nothing, as in torchvision
    assert V.Compose((V.ToTensor(),))(Image.new("L", (2, 2))).shape == (1, 2, 2)


def test_normalize_takes_single_numbers_for_every_channel_as_torchvision_does():
    x = torch.rand(3, 4, 5)
    expected = (x - 0.5) / 0.25
    assert torch.allclose(V.Normalize(0.5, 0.25)(x), expected)
    assert torch.allclose(V.Normalize([0.5], [0.25])(x), expected)
    assert torch.allclose(V.Normalize(torch.tensor([0.5, 0.5, 0.5]), torch.tensor(0.25))(x), expected)
    assert torch.allclose(V.Normalize([torch.tensor(0.5)], [torch.tensor(0.25)])(x), expected)
    with pytest.raises(ValueError, match="std values .* must be positive"):
        V.Normalize(0.5, -0.25)
    with pytest.raises(TypeError, match="mean values must be a number"):
        V.Normalize("0.5", 0.25)
    with pytest.raises(ValueError, match="at least one number"):
        V.Normalize([], [0.25])


@pytest.mark.parametrize("kwargs, match", [
    ({"degrees": (10, -10)}, r"degrees must be a range \(min, max\) with min <= max, got \(10, -10\): use \(-10"),
    ({"degrees": -10}, "degrees as a single number must be 0 or more"),
    ({"degrees": 0, "scale": (1.2, 0.8)}, r"scale must be a range .*use \(0.8, 1.2\)"),
    ({"degrees": 0, "scale": (0, 1)}, "scale values must be positive"),
])
def test_random_affine_refuses_reversed_or_negative_ranges_when_it_is_made(kwargs, match):
    with pytest.raises(ValueError, match=match):
        V.RandomAffine(**kwargs)


def test_random_affine_keeps_a_translate_pair_of_any_order():
    assert V.RandomAffine(0, translate=(0.2, 0.1)).translate == (0.2, 0.1)  # (max dx, max dy), not a range


def test_affine_checks_its_arguments():
    x = torch.rand(1, 4, 4)
    with pytest.raises(TypeError, match="float tensor"):
        V.affine(x.to(torch.uint8), 0, (0, 0), 1)
    with pytest.raises(ValueError, match="scale must be greater than 0"):
        V.affine(x, 0, (0, 0), 0)
    with pytest.raises(TypeError, match="translate must be a pair"):
        V.affine(x, 0, 1, 1)
    with pytest.raises(ValueError, match="interpolation"):
        V.affine(x, 0, (0, 0), 1, interpolation="cubic")


def _truncated_png(path):
    Image.effect_noise((64, 64), 50).save(path)  # noise does not compress: the cut lands inside the pixels
    data = path.read_bytes()
    path.write_bytes(data[: int(0.8 * len(data))])


@pytest.mark.parametrize("damage, reason", [
    (_truncated_png, "image file is truncated"),
    (lambda path: path.write_bytes(b"my notes, saved as .png"), "cannot identify image file"),
    (lambda path: path.write_bytes(b""), "cannot identify image file"),
])
def test_a_damaged_image_names_its_file(tree, damage, reason):
    damage(tree / "dog" / "b.png")
    data = V.ImageFolder(tree)
    index = [p for p, _ in data.samples].index(str(tree / "dog" / "b.png"))
    with pytest.raises(ValueError, match=rf"could not read the image {tree}/dog/b.png: .*{reason}") as err:
        data[index]
    assert "<_io." not in str(err.value)
    with pytest.raises(FileNotFoundError, match="nowhere.png"):
        V.pil_loader(tree / "nowhere.png")


def test_images_of_mixed_sizes_name_two_files_that_differ(tmp_path):
    _png(tmp_path / "train" / "0" / "a.png", size=(8, 8))
    _png(tmp_path / "train" / "1" / "b.png", size=(8, 8))
    _png(tmp_path / "train" / "1" / "c.png", size=(9, 8))
    with pytest.raises(ValueError, match=r"one size .*0/a.png gives \[1, 8, 8\] and .*1/c.png gives \[1, 8, 9\]"):
        V.load_digits("train", root=tmp_path)


def test_paths_that_are_not_paths_are_named():
    with pytest.raises(TypeError, match="root must be a str or pathlib.Path"):
        V.digits_folder("train", root=3)
    with pytest.raises(TypeError, match="directory must be a str or pathlib.Path"):
        V.find_classes(None)
