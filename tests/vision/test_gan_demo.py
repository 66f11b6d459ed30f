"""python -m nnx gan at its smallest settings: it trains, prints its figures and writes the sample grid PNG (of the
size the grid's layout gives) into the folder it is given, nothing elsewhere."""
import os

import pytest

from nnx.__main__ import main


def test_gan_demo_writes_its_grid(tmp_path, capsys):
    image = pytest.importorskip("PIL.Image")
    out = tmp_path / "pictures"
    before = set(os.listdir(os.getcwd()))
    assert main(["gan", "--size", "8", "--epochs", "1", "--n-features", "8", "--noise-size", "8", "--n-images", "128",
                 "--n-samples", "6", "--zoom", "2", "--out", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    path = out / "gan_digits.png"
    assert f"saved 6 generated digits to {path}" in printed and "recognised as digits" in printed
    # 6 samples: 3 columns x 2 rows of (8 + 2)-pixel cells, zoomed 2x
    with image.open(path) as picture:
        assert picture.size == (60, 40) and picture.mode == "L"
    assert set(os.listdir(os.getcwd())) == before
