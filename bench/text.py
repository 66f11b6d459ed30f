"""Recurrent networks and tokenization as users run them: nnx against PyTorch (CPU), each library alone in its own
fresh process, best of N after warm-up, the median of several rounds with the sides alternated.

    python bench/text.py [--quick] [--rounds R] [--json out.json]

Rows (target in brackets, issue 15):
- nn.LSTM(400, 1152) forward + backward on (seq 72, batch 64, 400), 1 and 3 layers [nnx's time <= 0.75x
  PyTorch's]; GFLOP/s count the forward's GEMMs (input and recurrent projections) x 3, against the fp32 roof.
- the per-step overhead: nn.LSTM(32, 32) forward + backward on (500, 8, 32), where the GEMMs are tiny and the time
  is the per-step work around them (the fused cell, the calls), in microseconds per step [nnx's < PyTorch's].
- a language-model training step of AWD-LSTM's shape (fastai's default sizes: embedding 400, 3 LSTM layers of
  1152 hidden units, the last one back to 400, tied decoder, vocabulary 10000) at batch 64 and bptt 72: forward,
  flattened cross-entropy, backward, Adam [nnx's time <= 0.75x PyTorch's]. Both libraries run the same model code
  (`lm(nn)` below; AWD-LSTM's dropouts as plain nn.Dropout, its weight drop left out: PyTorch has none built in).
- tokenization of Python's help pages (nnx.text.corpus.lm_texts()) with nnx.text.Tokenizer (fastai's rules over the
  tokenizers-based word splitter, one worker) against a plain-Python baseline (a regular expression per document),
  documents per second (information: the rules do more work than the baseline).
"""
import argparse
import json
import os
import statistics

from common import alternated_seconds, best_seconds, machine_description, print_table, roofs, worker_result, write_json

SEQ, BATCH, INPUT, HIDDEN, VOCAB = 72, 64, 400, 1152, 10000
TIME_TARGET = 0.75  # nnx's time / PyTorch's


def library_modules(library):
    if library == "torch":
        import torch
        return torch, torch.nn
    import nnx
    return nnx, nnx.nn


def lstm_flops(layers):
    """The forward's multiply-adds x 2 of nn.LSTM(INPUT, HIDDEN, layers) on (SEQ, BATCH, INPUT), times 3 (the
    backward's GEMMs are twice the forward's)."""
    per_step = sum((INPUT if layer == 0 else HIDDEN) + HIDDEN for layer in range(layers)) * 4 * HIDDEN
    return 3 * 2 * SEQ * BATCH * per_step


SMALL_SHAPE = (500, 8, 32)  # (seq, batch, input = hidden) of the per-step overhead row


def lstm_case(library, layers, shape=(SEQ, BATCH, INPUT), hidden=HIDDEN):
    import numpy as np
    lib, nn = library_modules(library)
    rng = np.random.default_rng(0)
    x = lib.tensor(rng.standard_normal(shape, dtype=np.float32), requires_grad=True)
    lstm = nn.LSTM(shape[2], hidden, num_layers=layers)

    def step():
        x.grad = None
        lstm.zero_grad()
        out, _ = lstm(x)
        out.sum().backward()
    return step


def lm(nn, vocab=VOCAB, emb=INPUT, hidden=HIDDEN):
    """AWD-LSTM's language model at fastai's default sizes, written once for either library's nn."""

    class LanguageModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = nn.Embedding(vocab, emb)
            self.rnns = nn.ModuleList([nn.LSTM(emb, hidden, batch_first=True),
                                       nn.LSTM(hidden, hidden, batch_first=True),
                                       nn.LSTM(hidden, emb, batch_first=True)])
            self.input_dp, self.hidden_dp, self.output_dp = nn.Dropout(0.6), nn.Dropout(0.2), nn.Dropout(0.1)
            self.decoder = nn.Linear(emb, vocab)
            self.decoder.weight = self.encoder.weight  # tied, as fastai's

        def forward(self, tokens):
            out = self.input_dp(self.encoder(tokens))
            for index, rnn in enumerate(self.rnns):
                out, _ = rnn(out)
                out = self.hidden_dp(out) if index < len(self.rnns) - 1 else self.output_dp(out)
            return self.decoder(out)

    return LanguageModel()


def lm_case(library):
    import numpy as np
    lib, nn = library_modules(library)
    rng = np.random.default_rng(0)
    tokens = lib.tensor(rng.integers(0, VOCAB, (BATCH, SEQ)))
    targets = lib.tensor(rng.integers(0, VOCAB, (BATCH * SEQ,)))
    model = lm(nn)
    opt = lib.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        loss_fn(model(tokens).reshape(BATCH * SEQ, VOCAB), targets).backward()
        opt.step()
    return step


def tokenize_case(side):
    import re

    from nnx.text import Tokenizer, corpus
    texts = corpus.lm_texts()
    if side == "nnx":
        tokenizer = Tokenizer()
        return lambda: tokenizer.tokenize(texts, n_workers=1), len(texts)
    word = re.compile(r"\w+|[^\w\s]")
    return lambda: [word.findall(text.lower()) for text in texts], len(texts)


def run_worker(library, case, quick):
    warmup, repeat = (1, 2) if quick else (2, 5)
    if library == "torch":
        import torch
        torch.set_num_threads(len(os.sched_getaffinity(0)))
    result = {}
    if case == "lstm_small":
        result["seconds"] = best_seconds(lstm_case(library, 1, SMALL_SHAPE, SMALL_SHAPE[2]), warmup, repeat)
    elif case.startswith("lstm"):
        result["seconds"] = best_seconds(lstm_case(library, int(case[4:])), warmup, repeat)
    elif case == "lm":
        result["seconds"] = best_seconds(lm_case(library), warmup, repeat)
    elif case == "tokenize":
        fn, documents = tokenize_case(library)
        result["seconds"], result["documents"] = best_seconds(fn, 1, 1 if quick else 3), documents
    else:
        raise SystemExit(f"unknown case {case!r}")
    print(json.dumps(result))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer samples and one round")
    parser.add_argument("--rounds", type=int, default=None, help="fresh-process rounds per side (default 3)")
    parser.add_argument("--json", help="write the rows here")
    parser.add_argument("--worker", nargs=2, metavar=("LIBRARY", "CASE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return run_worker(*args.worker, args.quick)
    try:
        import torch
    except ImportError:
        torch = None
    import nnx
    for line in machine_description(nnx.get_num_threads(), torch):
        print(line)
    rounds = args.rounds or (1 if args.quick else 3)
    libraries = ["nnx", "torch"] if torch is not None else ["nnx"]
    roof = roofs()["fp32"]
    rows, payload = [], {}
    cases = [(f"lstm{layers}", f"nn.LSTM(400, 1152, num_layers={layers}) fwd+bwd, (72, 64, 400) (ms)",
              lstm_flops(layers)) for layers in (1, 3)]
    cases.append(("lm", "AWD-LSTM-shaped LM step, bs 64, bptt 72, vocab 10k (ms)", None))
    for case, name, flops in cases:
        times = alternated_seconds("text.py", libraries, case, rounds, args.quick)
        ratio = times["nnx"] / times["torch"] if "torch" in times else None
        rows.append([name, times["nnx"] * 1e3, times["torch"] * 1e3 if "torch" in times else None, ratio,
                     f"<= {TIME_TARGET} (time)", "yes" if ratio is not None and ratio <= TIME_TARGET else "NO",
                     flops / times["nnx"] / 1e9 / roof if flops else None])
        payload[case] = dict(nnx_seconds=times["nnx"], torch_seconds=times.get("torch"), ratio=ratio)
        print(f"  {name}: nnx {times['nnx'] * 1e3:.0f} ms, torch {times.get('torch', 0) * 1e3:.0f} ms", flush=True)
    times = alternated_seconds("text.py", libraries, "lstm_small", rounds, args.quick)
    per_step = {library: seconds / SMALL_SHAPE[0] * 1e6 for library, seconds in times.items()}
    ratio = per_step["nnx"] / per_step["torch"] if "torch" in per_step else None
    name = "nn.LSTM(32, 32) fwd+bwd on (500, 8, 32), per step (us)"
    rows.append([name, per_step["nnx"], per_step.get("torch"), ratio, "< 1.0 (time)",
                 "yes" if ratio is not None and ratio < 1.0 else "NO", None])
    payload["lstm_small"] = dict(nnx_us_per_step=per_step["nnx"], torch_us_per_step=per_step.get("torch"), ratio=ratio)
    rates = {}
    for side in ("nnx", "plain"):
        runs = [worker_result("text.py", side, "tokenize", args.quick) for _ in range(rounds)]
        rates[side] = statistics.median(run["documents"] / run["seconds"] for run in runs)
    rows.append(["tokenization, Python help pages (documents/s)", rates["nnx"], None, rates["nnx"] / rates["plain"],
                 f"info (plain Python {rates['plain']:.0f}/s)", "-", None])
    payload["tokenize"] = dict(nnx_documents_per_second=rates["nnx"], plain_documents_per_second=rates["plain"])
    print_table("nnx vs PyTorch CPU, each alone in fresh processes",
                ["case", "nnx", "torch", "ratio", "target", "met", "nnx / fp32 roof"], rows)
    print(f"median over {rounds} fresh processes per side of each process's best call")
    if args.json:
        write_json(args.json, payload)


if __name__ == "__main__":
    main()
