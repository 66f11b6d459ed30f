"""python -m nnx text (nnx/text/demo.py): its options, and one short run end to end."""
import pytest

from nnx.text import demo


@pytest.mark.parametrize("argv", [["--lm-epochs", "0"], ["--clas-epochs", "0"]])
def test_bad_options_are_refused(argv, capsys):
    with pytest.raises(SystemExit):
        demo.parse_args(argv)
    assert "must be a positive integer" in capsys.readouterr().err


def test_the_demo_runs_end_to_end_and_reports_both_classifiers(capsys):
    assert demo.main(["--lm-epochs", "1", "--clas-epochs", "1", "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "validation perplexity" in printed and "generated: The while statement" in printed
    assert "with the language model's encoder" in printed and "from scratch" in printed
