"""README.md's promises hold (issue 22, item 4): every ```python block runs on its own as a new user would
(a fresh interpreter, an empty folder, matplotlib's Agg backend) and prints what the README shows after it:
numbers within tools/readme_outputs.py's RTOL (0.5 %) or ATOL, times ignored, "..." for elided lines.
`python tools/readme_outputs.py --write` regenerates the shown outputs. Blocks marked
`<!-- readme: skip REASON -->` are not run; blocks using a missing optional package skip with the reason."""
import importlib.util
import os
import re

import pytest

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
_spec = importlib.util.spec_from_file_location("readme_outputs", os.path.join(ROOT, "tools", "readme_outputs.py"))
readme_outputs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(readme_outputs)

with open(readme_outputs.README) as _file:
    README_TEXT = _file.read()
BLOCKS = readme_outputs.parse(README_TEXT)


@pytest.mark.parametrize("block", BLOCKS, ids=[block.name for block in BLOCKS])
def test_readme_block_runs_and_prints_what_the_readme_shows(block):
    if block.skip:
        pytest.skip(block.skip)
    if block.slow:
        pytest.skip("marked slow in the README: python tools/readme_outputs.py --slow runs it")
    missing = readme_outputs.missing_packages(block.code)
    if missing:
        pytest.skip(f"needs {', '.join(missing)}")
    done = readme_outputs.run(block)
    assert done.returncode == 0, f"{block.name} failed:\n{done.stderr[-3000:]}"
    if block.output is not None:
        difference = readme_outputs.compare(block.output, done.stdout)
        assert not difference, f"{block.name}: {difference}\n(python tools/readme_outputs.py --write updates it)"


def test_the_readme_has_blocks_with_shown_outputs():
    assert len(BLOCKS) >= 5 and sum(block.output is not None for block in BLOCKS) >= 3


# ---- the comparison itself (so that a stale README cannot pass) ----

STALE_TABLE = ["epoch       train_loss  valid_loss  rmse        time",
               "0           1.198514    1.288794    1.135251    00:03", "...",
               "4           0.152591    0.020222    0.142203    00:01"]
PRINTED_TABLE = "\n".join(["epoch       train_loss  valid_loss  rmse        time",
                           "0           1.198514    1.288798    1.135252    00:00",
                           "1           0.729429    0.559408    0.747936    00:00",
                           "2           0.395739    0.117197    0.342340    00:01",
                           "4           0.152006    0.020805    0.144240    00:02"]) + "\n"


def test_compare_rejects_issue_22s_stale_table_and_accepts_the_current_one():
    assert "0.152591" in readme_outputs.compare(STALE_TABLE, PRINTED_TABLE)
    current = STALE_TABLE[:3] + ["4           0.152006    0.020805    0.144240    00:01"]
    assert readme_outputs.compare(current, PRINTED_TABLE) == ""  # (row 0 within 0.5 %, times ignored)


def test_compare_needs_every_line_the_words_and_the_tolerance():
    compare = readme_outputs.compare
    assert compare(["accuracy 0.978"], "accuracy 0.978\n") == ""
    assert compare(["accuracy 0.978"], "accuracy 0.9781\n") == ""
    assert compare(["accuracy 0.978"], "accuracy 0.990\n") != ""
    assert compare(["accuracy 0.978"], "precision 0.978\n") != ""
    assert compare(["accuracy 0.978"], "accuracy 0.978\nmore\n") != ""  # no unshown lines (without "...")
    assert compare(["a 1", "...", "c 3"], "a 1\nb 2\nb 2\nc 3\n") == ""
    assert compare(["a 1", "...", "c 3"], "a 1\nc 3\n") == ""
    assert compare(["a 1", "...", "c 3"], "a 1\nb 2\n") != ""


def test_rewritten_keeps_the_elision_and_replaces_the_figures():
    text = "```python\nprint(1)\n```\n\n```\n" + "\n".join(STALE_TABLE) + "\n```\nafter\n"
    block, = readme_outputs.parse(text)
    new_text = readme_outputs.rewritten(text, block, PRINTED_TABLE)
    new_block, = readme_outputs.parse(new_text)
    assert new_block.output == PRINTED_TABLE.splitlines()[:2] + ["..."] + PRINTED_TABLE.splitlines()[-1:]
    assert new_text.endswith("```\nafter\n")


def test_directives_above_a_block_are_read():
    text = "<!-- readme: skip needs a GPU -->\n```python\nx\n```\n\n<!-- readme: slow -->\n\n```python\ny\n```\n"
    skipped, slow = readme_outputs.parse(text)
    assert skipped.skip == "needs a GPU" and not skipped.slow
    assert slow.slow and not slow.skip


# ---- what the README promises about installing ----

def test_plot_extras_exist_and_the_readme_names_them_before_the_first_plot():
    tomllib = pytest.importorskip("tomllib")
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as file:
        extras = tomllib.load(file)["project"]["optional-dependencies"]
    assert any(requirement.startswith("matplotlib") for requirement in extras["plot"])
    assert set(extras["plot"]) | set(extras["sklearn"]) <= set(extras["all"])
    first_plot = re.search(r"\.plot_\w+\(", README_TEXT).start()
    assert '.[plot]"' in README_TEXT[:first_plot] and "savefig" in README_TEXT
