"""`import nnx` makes every public subpackage reachable (issue 22, item 3): the heavy ones lazily (PEP 562),
so a bare import does not load them. The checks run in one fresh interpreter (this process has imported
everything already)."""
import importlib.util
import json
import subprocess
import sys

import pytest

import nnx

# The subpackages a user reaches as nnx.<name> after `import nnx` (the README writes nnx.decomposition.PCA).
PUBLIC = ("accelerator", "audio", "collab", "data", "datasets", "decomposition", "learner", "metrics", "nn", "optim",
          "sklearn", "tabular", "text", "utils", "vision")
HEAVY = ("collab", "decomposition", "sklearn", "tabular", "text", "vision")  # (scikit-learn, pandas, their models)
PRESENT = tuple(name for name in PUBLIC if importlib.util.find_spec(f"nnx.{name}") is not None)

FRESH_PROCESS = """
import json, sys, types
import numpy as np
import nnx
heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('sklearn', 'pandas', 'matplotlib', 'torch')
               or m in {heavy!r})
reached = {{}}
for name in {present!r}:
    try:
        reached[name] = isinstance(getattr(nnx, name), types.ModuleType)
    except ImportError as error:  # (nnx.sklearn without scikit-learn)
        reached[name] = repr(error)
pca = nnx.decomposition.PCA(n_components=2)  # the README's line
shape = pca.fit_transform(np.random.default_rng(0).normal(size=(20, 5)).astype(np.float32)).shape
print(json.dumps(dict(heavy=heavy, reached=reached, pca_shape=list(shape))))
"""


@pytest.fixture(scope="module")
def after_bare_import():
    code = FRESH_PROCESS.format(heavy=["nnx." + name for name in HEAVY], present=PRESENT)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_every_lazy_entry_is_public_and_listed_by_dir():
    assert set(nnx._LAZY_SUBMODULES) <= set(PUBLIC)
    assert set(PRESENT) <= set(dir(nnx))


@pytest.mark.parametrize("name", PUBLIC)
def test_subpackage_is_reachable_after_a_bare_import(after_bare_import, name):
    if name not in PRESENT:
        pytest.skip(f"nnx.{name} has not landed in this checkout")
    if name == "sklearn" and importlib.util.find_spec("sklearn") is None:
        pytest.skip("scikit-learn is not installed")
    assert after_bare_import["reached"][name] is True


def test_readme_pca_line_works_after_import_nnx(after_bare_import):
    assert after_bare_import["pca_shape"] == [20, 2]


def test_import_nnx_loads_no_heavy_subpackage(after_bare_import):
    assert after_bare_import["heavy"] == []


def test_unknown_attribute_is_an_attribute_error():
    assert not hasattr(nnx, "no_such_subpackage")
    with pytest.raises(AttributeError, match="no_such_subpackage"):
        nnx.no_such_subpackage  # noqa: B018  (the attribute access is the test)
