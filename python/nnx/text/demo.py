"""`python -m nnx text`: ULMFiT on text that ships with Python, offline (nnx.text.corpus: the help pages).

1. A small AWD-LSTM language model trained on every paragraph of the help pages (language_model_learner,
   fit_one_cycle): validation perplexity and a generated sentence; its encoder is saved (save_encoder).
2. A classifier of which part of the reference a prose paragraph comes from (statements, expressions, types):
   the fine-tuned encoder loaded (load_encoder) and trained with gradual unfreezing (head, then freeze_to(-2), then
   everything with discriminative rates), against the same classifier trained from scratch for as many epochs.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time

from ..random import manual_seed
from . import corpus
from .data import TextDataLoaders
from .learner import language_model_learner, text_classifier_learner
from .models import awd_lstm_clas_config, awd_lstm_lm_config, awd_lstm_small_config

__all__ = ["train_language_model", "train_classifiers", "main"]

SEQ_LEN = 48


def train_language_model(epochs: int, seed: int, model_dir: str, verbose: bool) -> tuple[TextDataLoaders, dict]:
    """The language model's DataLoaders and {perplexity, accuracy, text, seconds}; its encoder saved as 'lm_enc'
    under model_dir."""
    manual_seed(seed)
    dls = TextDataLoaders.from_texts(corpus.lm_texts(), is_lm=True, bs=32, seq_len=SEQ_LEN, seed=seed,
                                     valid_pct=0.1)
    learn = language_model_learner(dls, config={**awd_lstm_lm_config, **awd_lstm_small_config}, drop_mult=0.5,
                                   path=model_dir, model_dir=".", verbose=verbose)
    start = time.perf_counter()
    learn.fit_one_cycle(epochs, 1e-2)
    seconds = time.perf_counter() - start
    _, _, accuracy, perplexity = learn.recorder.values[-1]
    learn.save_encoder("lm_enc")
    manual_seed(seed)
    text = learn.predict("The while statement", n_words=15, temperature=0.75)
    return dls, dict(perplexity=perplexity, accuracy=accuracy, text=text, seconds=seconds)


def _classifier(texts, labels, lm_dls, seed, model_dir, verbose):
    # Fresh loaders for each run, so that both classifiers see the same batches in the same order.
    dls = TextDataLoaders.from_texts(texts, labels, bs=32, seq_len=SEQ_LEN, seed=seed, text_vocab=lm_dls.text_vocab)
    manual_seed(seed)
    return text_classifier_learner(dls, seq_len=SEQ_LEN, config={**awd_lstm_clas_config, **awd_lstm_small_config},
                                   path=model_dir, model_dir=".", verbose=verbose)


def train_classifiers(lm_dls: TextDataLoaders, epochs: int, seed: int, model_dir: str, verbose: bool) -> dict:
    """{fine_tuned, scratch} validation accuracies of the topic classifier with the language model's encoder
    (gradual unfreezing: the head for 1 epoch, freeze_to(-2) for 1, then everything, with discriminative rates)
    and from scratch (everything trained for as many epochs), the sizes, classes and seconds."""
    texts, labels = corpus.topic_classification()
    start = time.perf_counter()
    learn = _classifier(texts, labels, lm_dls, seed, model_dir, verbose)
    learn.load_encoder("lm_enc")  # frozen to the head
    learn.fit_one_cycle(1, 2e-2)
    if epochs > 1:
        learn.freeze_to(-2)
        learn.fit_one_cycle(1, slice(1e-3, 1e-2))
    if epochs > 2:
        learn.unfreeze()
        learn.fit_one_cycle(epochs - 2, slice(1e-3, 1e-2))
    fine_tuned = learn.recorder.values[-1][-1]
    scratch = _classifier(texts, labels, lm_dls, seed, model_dir, verbose)
    scratch.fit_one_cycle(epochs, 1e-2)
    dls = learn.dls
    return dict(fine_tuned=fine_tuned, scratch=scratch.recorder.values[-1][-1], seconds=time.perf_counter() - start,
                n_train=len(dls.train.docs), n_valid=len(dls.valid.docs), classes=dls.classes)


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The demo's options (--lm-epochs, --clas-epochs, --seed, --quiet)."""
    parser = argparse.ArgumentParser(
        prog="python -m nnx text",
        description="ULMFiT offline: an AWD-LSTM language model on Python's help pages, then a topic classifier "
                    "with its encoder against one trained from scratch.")
    parser.add_argument("--lm-epochs", type=int, default=8, help="language-model epochs (8)")
    parser.add_argument("--clas-epochs", type=int, default=4, help="classifier epochs (4)")
    parser.add_argument("--seed", type=int, default=0, help="seed for splits, initialisation and sampling (0)")
    parser.add_argument("--quiet", action="store_true", help="no progress display, only the results")
    args = parser.parse_args(argv)
    for name in ("lm_epochs", "clas_epochs"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be a positive integer")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the demo (argv: the arguments after `python -m nnx text`) and print its results; returns 0."""
    args = parse_args(sys.argv[1:] if argv is None else list(argv))
    verbose = not args.quiet
    with tempfile.TemporaryDirectory() as model_dir:
        lm_dls, lm = train_language_model(args.lm_epochs, args.seed, model_dir, verbose)
        print(f"language model: {len(lm_dls.text_vocab)} tokens in the vocabulary, validation perplexity "
              f"{lm['perplexity']:.1f}, next-token accuracy {lm['accuracy']:.3f} ({args.lm_epochs} epochs in "
              f"{lm['seconds']:.1f} s)")
        print(f"generated: {lm['text']}")
        clas = train_classifiers(lm_dls, args.clas_epochs, args.seed, model_dir, verbose)
    print(f"topic classifier ({', '.join(clas['classes'])}; {clas['n_train']} training, {clas['n_valid']} "
          f"validation paragraphs): accuracy {clas['fine_tuned']:.3f} with the language model's encoder, "
          f"{clas['scratch']:.3f} from scratch ({clas['seconds']:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
