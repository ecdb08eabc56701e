"""Sphinx configuration of the course website (built by tools/build_site.py: `make site`).

Sources are staged by tools/build_site.py (the notebooks with their stored outputs, never executed;
the landing page; the cheat sheet); this file only says how to turn them into HTML. Everything the
pages load is served from the site itself: the theme's fonts and icons come with the pinned
pydata-sphinx-theme package, and no page has math, widgets or remote images.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "tools"))
from course import repository_url, site_url  # noqa: E402

REPO = repository_url()
project = "The PyTorch workflow"
author = "The PyTorch workflow course"
copyright = "the course's authors, MIT licence"  # noqa: A001 - Sphinx's name for it

extensions = ["myst_nb", "sphinx_copybutton", "course_site"]
exclude_patterns = ["_build", "**.ipynb_checkpoints", "models"]
root_doc = "index"

# the notebooks' stored outputs, never re-executed (make test checks them with nbval)
nb_execution_mode = "off"
nb_merge_streams = True
nb_ipywidgets_js = {}  # widget state is never stored; load no widget script from elsewhere
myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence"]
suppress_warnings = ["mystnb.unknown_mime_type"]

html_theme = "pydata_sphinx_theme"
html_title = "The PyTorch workflow, one straight line at a time"
html_baseurl = site_url()
html_static_path = ["_static"]
html_css_files = ["course.css"]
html_js_files = ["explorer.js"]
html_extra_path = [os.environ.get("COURSE_SITE_EXTRA", str(ROOT / "build" / "site-extra"))]
html_show_sourcelink = False
html_copy_source = False
html_last_updated_fmt = None
html_theme_options = {
    "icon_links": [{"name": "Source on GitHub", "url": REPO, "icon": "fa-brands fa-github", "type": "fontawesome"}],
    "navbar_align": "left",
    "navbar_center": [],
    "logo": {"text": "The PyTorch workflow"},  # short enough for a phone's navbar
    "show_prev_next": True,
    "show_toc_level": 2,
    "navigation_depth": 2,
    "use_edit_page_button": False,
    "footer_start": ["copyright"],
    "footer_end": [],
    "pygments_light_style": "a11y-high-contrast-light",
    "pygments_dark_style": "a11y-high-contrast-dark",
}
html_context = {"default_mode": "auto"}  # follow the reader's system setting until they choose
templates_path = ["_templates"]
# every page of the course in the left sidebar (a drawer on a phone), none in the header
html_sidebars = {"**": ["course-nav"]}
copybutton_exclude = ".linenos, .gp, .go"
html_use_index = False  # the course has no index entries: no empty "Index" page
html_favicon = "_static/favicon.svg"
