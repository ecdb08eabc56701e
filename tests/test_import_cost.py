"""`import helpers` stays light: matplotlib, ipywidgets and tqdm load only where they are used."""

import os
import subprocess
import sys


def _modules_after(code: str, top_level: bool = True) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys; print(' '.join(sys.modules))"],
        capture_output=True, text=True, check=True, env={**os.environ, "MPLBACKEND": "Agg"},
    ).stdout
    return {name.split(".")[0] if top_level else name for name in out.split()}


def test_import_helpers_loads_no_plotting_widgets_or_progress_bars():
    loaded = _modules_after("import helpers")
    assert not loaded & {"matplotlib", "ipywidgets", "IPython"}


def test_import_helpers_adds_only_its_own_modules_to_what_torch_loads():
    extra = _modules_after("import torch, helpers", False) - _modules_after("import torch", False)
    others = sorted(m for m in extra if m.split(".")[0] != "helpers")
    assert not others, f"import helpers also loads {others}"


def test_plotting_loads_matplotlib_only_when_drawing():
    loaded = _modules_after(
        "import sys, helpers\nassert 'matplotlib' not in sys.modules\n"
        "helpers.plot_predictions(*helpers.train_test_split(*helpers.make_line_data()))"
    )
    assert "matplotlib" in loaded
