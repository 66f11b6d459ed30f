"""Runs README.md's Python blocks as a new user would, and checks (or rewrites) the outputs the README shows.

    python tools/readme_outputs.py              # run every block; report those whose shown output disagrees
    python tools/readme_outputs.py --write      # rewrite the shown outputs with what the code prints now
    python tools/readme_outputs.py --slow       # also run the blocks marked slow

Conventions in README.md (tests/readme/test_readme_blocks.py runs the same checks):
- Every ```python block runs on its own, in a fresh interpreter, in an empty temporary folder, with
  matplotlib's Agg backend: a block must not rely on an earlier one.
- A plain ``` block right after a python block (blank lines between at most) is what that block prints.
  A line "..." in it stands for any number of lines; times (mm:ss) are not compared; numbers agree within
  RTOL relative (or ATOL absolute), and the words between them exactly (runs of spaces count as one).
- An HTML comment in the lines just above a block steers it: `<!-- readme: skip REASON -->` (not run, e.g.
  it needs a GPU), `<!-- readme: slow -->` (run with --slow only).
- A block that uses an optional package (scikit-learn, matplotlib, pandas, torch) is skipped, with the
  reason, where that package is not installed.
"""
import argparse
import dataclasses
import importlib.util
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README = os.path.join(ROOT, "README.md")

# Printed figures may move this much before the README counts as stale. The runs are deterministic on one
# machine (the same figures whatever the thread count), so this is room for other CPUs' BLAS kernels and
# libm, not for noise; the stale tabular table of issue 22 was off by 0.4-3 %.
RTOL, ATOL = 5e-3, 1e-5
BLOCK_TIMEOUT_SECONDS = 120

# Optional packages a block may need: (how the block shows it, module to import, pip name).
OPTIONAL = (
    (re.compile(r"\bnnx\.sklearn\b|^\s*(from|import) sklearn\b", re.M), "sklearn", "scikit-learn"),
    (re.compile(r"\.plot_\w+\(|^\s*(from|import) matplotlib\b", re.M), "matplotlib", "matplotlib"),
    (re.compile(r"^\s*(from|import) pandas\b|\bpd\.", re.M), "pandas", "pandas"),
    (re.compile(r"^\s*(from|import) torch\b", re.M), "torch", "torch"),
)

_FENCE = re.compile(r"^```(\w*)\s*$")
_DIRECTIVE = re.compile(r"<!--\s*readme:\s*(skip|slow)\b\s*(.*?)\s*-->")
_NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")
_TIME = re.compile(r"\b\d+:\d\d(?::\d\d)?\b")


@dataclasses.dataclass
class Block:
    """A ```python block of the README: its code, where it is, and the output block shown after it."""

    code: str
    line: int  # 1-based line of the opening fence
    skip: str = ""  # the reason it is not run ("" = run it)
    slow: bool = False
    output: list = None  # the lines of the output block shown after it (None: none shown)
    output_span: tuple = None  # (first, end) line indices (0-based) of the output block's content

    @property
    def name(self) -> str:
        return f"README.md:{self.line}"


def parse(text: str) -> list:
    """The python blocks of a Markdown text, with their directives and shown outputs."""
    lines = text.splitlines()
    blocks, index = [], 0
    while index < len(lines):
        fence = _FENCE.match(lines[index])
        if not fence:
            index += 1
            continue
        end = _closing_fence(lines, index)
        if fence.group(1) == "python":
            block = Block(code="\n".join(lines[index + 1:end]) + "\n", line=index + 1)
            _read_directives(block, lines, index)
            after = end + 1
            while after < len(lines) and not lines[after].strip():
                after += 1
            if after < len(lines) and _FENCE.match(lines[after]) and _FENCE.match(lines[after]).group(1) == "":
                output_end = _closing_fence(lines, after)
                block.output, block.output_span = lines[after + 1:output_end], (after + 1, output_end)
                end = output_end
            blocks.append(block)
        index = end + 1
    return blocks


def _closing_fence(lines, opening):
    for index in range(opening + 1, len(lines)):
        if lines[index].startswith("```"):
            return index
    raise ValueError(f"README.md:{opening + 1}: a code block that is never closed")


def _read_directives(block, lines, fence_index):
    """Directives in the comment lines just above the block (blank lines between allowed)."""
    index = fence_index - 1
    while index >= 0 and (not lines[index].strip() or lines[index].lstrip().startswith("<!--")):
        for kind, reason in _DIRECTIVE.findall(lines[index]):
            if kind == "skip":
                block.skip = reason or "marked skip in the README"
            else:
                block.slow = True
        index -= 1


def missing_packages(code: str) -> list:
    """The pip names of optional packages this code uses that are not installed here."""
    return [pip_name for pattern, module, pip_name in OPTIONAL
            if pattern.search(code) and importlib.util.find_spec(module) is None]


def run(block: Block, timeout: float = BLOCK_TIMEOUT_SECONDS) -> subprocess.CompletedProcess:
    """Runs the block in a fresh interpreter whose stdout is a pipe, in an empty temporary folder."""
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONHASHSEED="0")
    with tempfile.TemporaryDirectory(prefix="nnx-readme-") as folder:
        return subprocess.run([sys.executable, "-c", block.code], cwd=folder, env=env, capture_output=True,
                              text=True, timeout=timeout)


def compare(shown: list, printed: str, rtol: float = RTOL, atol: float = ATOL) -> str:
    """'' when the printed text matches the shown lines ("..." lines match any lines), else why not."""
    actual = [line.rstrip() for line in printed.rstrip("\n").splitlines()]
    expected = [line.rstrip() for line in shown]
    while expected and not expected[-1]:
        expected.pop()
    if _match(expected, actual, rtol, atol):
        return ""
    # The first disagreeing line, counted from the top above a "..." and from the bottom below it.
    cut = next((index for index, line in enumerate(expected) if line.strip() == "..."), len(expected))
    pairs = list(zip(expected[:cut], actual)) + list(zip(expected[cut + 1:][::-1], actual[::-1]))
    first = next((f"shown  : {e!r}\nprinted: {a!r}" for e, a in pairs if e.strip() != "..." and
                  _line_difference(e, a, rtol, atol)), "")
    return (f"the output shown ({len(expected)} lines) does not match the {len(actual)} lines printed "
            f"(numbers within rtol={rtol}, atol={atol}; times ignored)\n{first}").rstrip()


def _match(expected, actual, rtol, atol):
    if not expected:
        return not actual
    if expected[0].strip() == "...":
        return any(_match(expected[1:], actual[skip:], rtol, atol) for skip in range(len(actual) + 1))
    return bool(actual) and not _line_difference(expected[0], actual[0], rtol, atol) and \
        _match(expected[1:], actual[1:], rtol, atol)


def _line_difference(expected: str, actual: str, rtol: float, atol: float) -> str:
    """'' when two lines agree: the same words, times ignored, numbers within tolerance."""
    expected_words, expected_numbers = _split(expected)
    actual_words, actual_numbers = _split(actual)
    if expected_words != actual_words or len(expected_numbers) != len(actual_numbers):
        return "text differs"
    for shown, printed in zip(expected_numbers, actual_numbers):
        if abs(shown - printed) > atol + rtol * abs(printed):
            return f"{shown} != {printed}"
    return ""


def _split(line: str):
    line = _TIME.sub("<time>", line)
    numbers = [float(text) for text in _NUMBER.findall(line)]
    words = " ".join(_NUMBER.sub("<n>", line).split())
    return words, numbers


def rewritten(text: str, block: Block, printed: str) -> str:
    """text with block's shown output replaced by what it printed, keeping the shown "..." elisions (as
    many lines before and after each as the README shows)."""
    lines = text.splitlines()
    actual = printed.rstrip("\n").splitlines()
    shown = block.output
    if "..." in [line.strip() for line in shown] and len(actual) > len(shown):
        cut = [line.strip() for line in shown].index("...")
        tail = len(shown) - cut - 1
        actual = actual[:cut] + ["..."] + (actual[len(actual) - tail:] if tail else [])
    first, end = block.output_span
    return "\n".join(lines[:first] + actual + lines[end:]) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="rewrite README.md's shown outputs")
    parser.add_argument("--slow", action="store_true", help="also run the blocks marked slow")
    args = parser.parse_args(argv)
    with open(README) as file:
        text = file.read()
    failures = 0
    # From the last block up, so that rewriting one output keeps the line numbers of those above valid.
    for block in reversed(parse(text)):
        missing = missing_packages(block.code)
        reason = block.skip or (f"needs {', '.join(missing)}" if missing else "") or \
            ("slow (--slow runs it)" if block.slow and not args.slow else "")
        if reason:
            print(f"{block.name}: skipped: {reason}")
            continue
        done = run(block)
        if done.returncode != 0:
            failures += 1
            print(f"{block.name}: FAILED (exit {done.returncode})\n{done.stderr[-2000:]}")
            continue
        if block.output is None:
            print(f"{block.name}: ok")
            continue
        difference = compare(block.output, done.stdout)
        if difference and args.write:
            text = rewritten(text, block, done.stdout)
            print(f"{block.name}: output rewritten")
        elif difference:
            failures += 1
            print(f"{block.name}: STALE OUTPUT: {difference}")
        else:
            print(f"{block.name}: ok (output matches)")
    if args.write:
        with open(README, "w") as file:
            file.write(text)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
