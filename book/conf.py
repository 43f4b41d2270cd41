"""Sphinx configuration of the companion book (`make book`): the committed notebooks with their
saved outputs, the method's code beside its equations, the gallery and the README, rendered by
myst-nb; works without a network."""

project = "TDCA companion"
author = "the tdca-companion authors"

extensions = [
    "myst_nb",  # reads the .ipynb files and the Markdown pages
    "sphinx-mathjax-offline",  # ships MathJax 3 into _static/ instead of loading it from a CDN
]

root_doc = "index"
# `make book` copies book/*.md, README.md, notebooks/, figures/ and tdca_lib/method/ (the
# method page's literalincludes read it) into build/book/src first.
exclude_patterns = ["**/.ipynb_checkpoints"]
# figures/ holds each table also as a .md file the gallery links to: pages of their own.
suppress_warnings = ["toc.not_included"]

# The committed outputs are the book: never run a notebook while building it.
nb_execution_mode = "off"
# The notebooks' stderr is run-time chatter (saved tqdm progress bars, a display-server note),
# not results: leave it out rather than show it as error boxes.
nb_output_stderr = "remove"

myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3

html_theme = "sphinx_book_theme"
html_title = "TDCA companion"
html_theme_options = {
    "show_toc_level": 2,
    "navigation_with_keys": False,
}
html_last_updated_fmt = None
