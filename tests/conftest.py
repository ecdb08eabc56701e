"""Shared fixtures: the course's straight-line data and its ordered 40/10 split."""

import matplotlib

matplotlib.use("Agg")  # no display here; must come before pyplot is imported anywhere

import pytest  # noqa: E402
import torch  # noqa: E402

import helpers  # noqa: E402


@pytest.fixture
def line():
    """The canonical 50-point line y = 0.7 X + 0.3."""
    return helpers.make_line_data()


@pytest.fixture
def split(line):
    """The ordered 40/10 split of the canonical line."""
    return helpers.train_test_split(*line)


@pytest.fixture(autouse=True)
def _close_figures():
    """Close every figure a test opened, so memory does not grow across the suite."""
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


@pytest.fixture(autouse=True)
def _progress_file(tmp_path, monkeypatch):
    """Every test keeps the exercises' progress in a file of its own, never in the user's cache folder."""
    monkeypatch.setenv("PYTORCH_COURSE_PROGRESS", str(tmp_path / "progress.json"))


@pytest.fixture
def seeded():
    """Seed torch with 42 (the course's reference seed)."""
    torch.manual_seed(42)


def pytest_generate_tests(metafunc):
    """Exercise test classes (tests/_exercises.py): one test per problem `q`, or per wrong answer."""
    module = getattr(metafunc.cls, "module", None) if metafunc.cls else None
    if not module or "q" not in metafunc.fixturenames:
        return
    from _exercises import problems_of

    if "edit" in metafunc.fixturenames:
        wrong = metafunc.cls.wrong
        metafunc.parametrize("q, edit, fragment", wrong, ids=[f"{w[0]}-{w[2][:24]}" for w in wrong])
    else:
        metafunc.parametrize("q", problems_of(module))


# The longest files first: `make unit` hands whole files to two workers in collection order, so a long file
# collected last would leave one worker idle while the other finishes it (longest-first keeps both busy).
LONGEST_FIRST = ["test_benchmarks.py", "test_site.py", "test_browser.py", "test_notebooks_rerun.py",
                 "test_colab.py", "test_distributed.py"]


def pytest_collection_modifyitems(items):
    """Put the longest test files first, each file's tests in their own order."""
    def rank(item) -> int:
        name = item.path.name
        return LONGEST_FIRST.index(name) if name in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)  # a stable sort: the rest keep pytest's order
