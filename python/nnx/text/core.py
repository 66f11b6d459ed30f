"""Tokenization, fastai's way: the special tokens, the rules that rewrite a text before it is split (HTML fixes,
character and word repetitions, capitals, lower-casing), a word splitter and a subword one, and the pipeline
that applies them over many documents at once.

The rules are fastai's (fastai/text/core.py), same names, regular expressions and order. The splitting is Hugging
Face `tokenizers`' (a Rust library), imported on first use: WordTokenizer runs its `Split` pre-tokenizer with a
spaCy-like token pattern, SubwordTokenizer trains its Unigram or BPE models (the role SentencePiece plays in
fastai; nnx.text.subword). Both are picklable, so tokenize_texts can hand them to worker processes.
"""
from __future__ import annotations

import html
import os
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Callable

__all__ = ["UNK", "PAD", "BOS", "EOS", "FLD", "TK_REP", "TK_WREP", "TK_UP", "TK_MAJ", "text_spec_tok",
           "text_proc_rules", "text_postproc_rules", "spec_add_spaces", "rm_useless_spaces", "replace_rep",
           "replace_wrep", "fix_html", "replace_all_caps", "replace_maj", "lowercase", "replace_space",
           "BaseTokenizer", "WordTokenizer", "TokenizeWithRules", "tokenize1",
           "parallel_tokenize", "tokenize_texts", "Tokenizer"]

# The special tokens, in fastai's defaults.text_spec_tok order (so xxunk is index 0 and xxpad index 1 of a vocab).
UNK, PAD, BOS, EOS, FLD = "xxunk", "xxpad", "xxbos", "xxeos", "xxfld"
TK_REP, TK_WREP, TK_UP, TK_MAJ = "xxrep", "xxwrep", "xxup", "xxmaj"
text_spec_tok: list[str] = [UNK, PAD, BOS, EOS, FLD, TK_REP, TK_WREP, TK_UP, TK_MAJ]

_re_spec = re.compile(r"([/#\\])")
_re_space = re.compile(" {2,}")
_re_rep = re.compile(r"(\S)(\1{2,})")
_re_wrep = re.compile(r"(?:\s|^)(\w+)\s+((?:\1\s+)+)\1(\s|\W|$)")
_re_all_caps = re.compile(r"(\s|^)([A-Z]+[^a-z\s]*)(?=(\s|$))")
_re_maj = re.compile(r"(\s|^)([A-Z][^A-Z\s]*)(?=(\s|$))")


def spec_add_spaces(t: str) -> str:
    """Add spaces around / and # (and backslashes)."""
    return _re_spec.sub(r" \1 ", t)


def rm_useless_spaces(t: str) -> str:
    """Collapse runs of spaces into one."""
    return _re_space.sub(" ", t)


def replace_rep(t: str) -> str:
    """Character repetitions: 'cccc' -> ' xxrep 4 c ' (three or more of the same non-space character)."""
    def _replace_rep(m):
        c, cc = m.groups()
        return f" {TK_REP} {len(cc) + 1} {c} "
    return _re_rep.sub(_replace_rep, t)


def replace_wrep(t: str) -> str:
    """Word repetitions: 'word word word word' -> ' xxwrep 4 word ' (three or more times)."""
    def _replace_wrep(m):
        c, cc, e = m.groups()
        return f" {TK_WREP} {len(cc.split()) + 2} {c} {e}"
    return _re_wrep.sub(_replace_wrep, t)


def fix_html(x: str) -> str:
    """Messy things seen in web documents: broken entities ('#39;', 'amp;', 'nbsp;', ...), '<br />' as newlines,
    '<unk>' as xxunk, the WikiText '@.@'/'@-@' joins, '...' as ' …'; then html.unescape."""
    x = x.replace("#39;", "'").replace("amp;", "&").replace("#146;", "'").replace("nbsp;", " ").replace(
        "#36;", "$").replace("\\n", "\n").replace("quot;", "'").replace("<br />", "\n").replace(
        '\\"', '"').replace("<unk>", UNK).replace(" @.@ ", ".").replace(" @-@ ", "-").replace("...", " …")
    return html.unescape(x)


def replace_all_caps(t: str) -> str:
    """Words in ALL CAPS (two letters or more) lowered, with xxup before them: 'THIS' -> 'xxup this'."""
    def _replace_all_caps(m):
        tok = f"{TK_UP} " if len(m.groups()[1]) > 1 else ""
        return f"{m.groups()[0]}{tok}{m.groups()[1].lower()}"
    return _re_all_caps.sub(_replace_all_caps, t)


def replace_maj(t: str) -> str:
    """Capitalised words (two letters or more) lowered, with xxmaj before them: 'This' -> 'xxmaj this'."""
    def _replace_maj(m):
        tok = f"{TK_MAJ} " if len(m.groups()[1]) > 1 else ""
        return f"{m.groups()[0]}{tok}{m.groups()[1].lower()}"
    return _re_maj.sub(_replace_maj, t)


def lowercase(t: str, add_bos: bool = True, add_eos: bool = False) -> str:
    """t lower-cased and stripped, with xxbos before it (add_bos) and xxeos after it (add_eos)."""
    return (f"{BOS} " if add_bos else "") + t.lower().strip() + (f" {EOS}" if add_eos else "")


def replace_space(t: str) -> str:
    """A token's embedded spaces as '▁' (so tokens can be joined by spaces and split again)."""
    return t.replace(" ", "▁")


# fastai's defaults.text_proc_rules (applied in this order to the string, before splitting) and
# defaults.text_postproc_rules (applied to each token after).
text_proc_rules: list[Callable[[str], str]] = [fix_html, replace_rep, replace_wrep, spec_add_spaces,
                                               rm_useless_spaces, replace_all_caps, replace_maj, lowercase]
text_postproc_rules: list[Callable[[str], str]] = [replace_space]


class BaseTokenizer:
    """Split on one character (a space by default): fastai's BaseTokenizer."""

    def __init__(self, split_char: str = " ", **kwargs: Any) -> None:
        self.split_char = split_char

    def __call__(self, items: Iterable[str]) -> Iterator[list[str]]:
        return (t.split(self.split_char) for t in items)


# The token pattern of WordTokenizer, spaCy's English rules in one regular expression (Oniguruma syntax, run by
# `tokenizers`): the stem before "n't" and the clitics "n't", "'s", "'m", "'d", "'ll", "'re", "'ve" apart;
# dotted abbreviations ("U.S.", "e.g.") and numbers ("3.14", "1,000", "10:30") whole; words (letters, digits,
# underscores: "__init__"); runs of dots or dashes ("...", "--"); newline runs; any other non-space character alone.
_WORD_PATTERN = (r"\w+(?=(?i:n't)\b)|(?i:n't)\b|'(?i:s|m|d|ll|re|ve)\b|(?:[A-Za-z]\.){2,}|\d+(?:[.,:]\d+)+|\w+"
                 r"|\.{2,}|-{2,}|\n+|[^\w\s]")


class WordTokenizer:
    """Words and punctuation, spaCy-like (fastai's default SpacyTokenizer role), split by `tokenizers`' Split
    pre-tokenizer. Differences from spaCy's English tokenizer: no exception table beyond the contractions (spaCy
    keeps "can't" as "ca", "n't" — so does this — but also knows "o'clock", "Mr." and emoticons); a hyphen, slash
    or apostrophe inside a word always splits it ("well-known" -> "well", "-", "known", as spaCy's infix rule
    does between letters); URLs and e-mail addresses are split at their punctuation (spaCy keeps them whole);
    whitespace other than newlines is dropped, and a run of newlines is one token ("\\n\\n"), where spaCy keeps
    every whitespace run but a single space. special_toks (fastai's argument) are plain words here, never split.
    """

    def __init__(self, lang: str = "en", special_toks: Sequence[str] | None = None, buf_sz: int = 5000) -> None:
        if lang != "en":
            raise ValueError(f"lang: WordTokenizer knows English rules only ('en'), got {lang!r}")
        self.lang, self.buf_sz = lang, buf_sz
        self.special_toks = list(text_spec_tok if special_toks is None else special_toks)
        self._splitter = None

    def _split(self):
        if self._splitter is None:
            pre_tokenizers, regex = _tokenizers_modules("WordTokenizer")
            self._splitter = pre_tokenizers.Split(regex(_WORD_PATTERN), behavior="removed", invert=True)
        return self._splitter

    def __call__(self, items: Iterable[str]) -> Iterator[list[str]]:
        splitter = self._split()
        return ([word for word, _ in splitter.pre_tokenize_str(str(t))] for t in items)

    def __getstate__(self):
        return {"lang": self.lang, "buf_sz": self.buf_sz, "special_toks": self.special_toks}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._splitter = None


def _tokenizers_modules(who):
    try:
        from tokenizers import Regex, pre_tokenizers
    except ImportError as error:
        raise ImportError(f"{who} splits text with Hugging Face tokenizers: pip install tokenizers "
                          "(or nnx[text])") from error
    return pre_tokenizers, Regex


class TokenizeWithRules:
    """tok with the rules before it (on each text) and post_rules after it (on each token): fastai's."""

    def __init__(self, tok: Any, rules: Sequence[Callable[[str], str]] | None = None,
                 post_rules: Sequence[Callable[[str], str]] | None = None) -> None:
        self.rules = list(text_proc_rules if rules is None else rules)
        self.post_rules = list(text_postproc_rules if post_rules is None else post_rules)
        self.tok = tok

    def _apply_rules(self, text):
        for rule in self.rules:
            text = rule(text)
        return text

    def _post(self, token):
        for rule in self.post_rules:
            token = rule(token)
        return token

    def __call__(self, batch: Iterable[str]) -> Iterator[list[str]]:
        texts = [self._apply_rules(str(t)) for t in batch]
        return ([self._post(token) for token in tokens] for tokens in self.tok(texts))


def tokenize1(text: str, tok: Any, rules: Sequence[Callable[[str], str]] | None = None,
              post_rules: Sequence[Callable[[str], str]] | None = None) -> list[str]:
    """The tokens of one text: TokenizeWithRules(tok, rules, post_rules) on [text]."""
    return next(iter(TokenizeWithRules(tok, rules, post_rules)([text])))


def _default_workers():
    return max(1, min(16, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1))


# The worker processes' pipeline, set once per worker (inherited, not pickled, where fork is used).
_WORKER_PIPELINE: TokenizeWithRules | None = None


def _set_worker_pipeline(pipeline):
    global _WORKER_PIPELINE
    _WORKER_PIPELINE = pipeline


def _tokenize_chunk(texts):
    return list(_WORKER_PIPELINE(texts))


def parallel_tokenize(items: Sequence[str], tok: Any = None, rules: Sequence[Callable[[str], str]] | None = None,
                      n_workers: int | None = None, post_rules: Sequence[Callable[[str], str]] | None = None,
                      chunksize: int = 256) -> list[list[str]]:
    """The tokens of every text of items, in the order of items, computed by n_workers processes (default: the
    usable CPUs, at most 16; 1 runs here, as does an input of a single chunk). tok defaults to WordTokenizer();
    a tok with a setup method (SubwordTokenizer) is set up on items first, here, as fastai does."""
    if n_workers is not None and (isinstance(n_workers, bool) or not isinstance(n_workers, int) or n_workers < 0):
        raise ValueError(f"n_workers must be None or a non-negative integer, got {n_workers!r}")
    if isinstance(items, str):
        raise TypeError("items must be a sequence of texts, got a single str (use tokenize1)")
    items = [str(t) for t in items]
    tok = WordTokenizer() if tok is None else tok
    if hasattr(tok, "setup"):
        tok.setup(items, rules)
    pipeline = TokenizeWithRules(tok, rules, post_rules)
    n_workers = _default_workers() if n_workers is None else n_workers
    chunks = [items[i:i + chunksize] for i in range(0, len(items), chunksize)]
    if n_workers <= 1 or len(chunks) <= 1:
        return list(pipeline(items))
    import warnings
    from concurrent.futures import ProcessPoolExecutor
    with ProcessPoolExecutor(min(n_workers, len(chunks)), mp_context=_context(), initializer=_set_worker_pipeline,
                             initargs=(pipeline,)) as pool, warnings.catch_warnings():
        # Python 3.12 warns on fork with threads (OpenMP's, BLAS's) alive; the workers run no OpenMP or BLAS code.
        # (With fork, the pool starts every worker in the first map, here.)
        warnings.filterwarnings("ignore", message=r".*fork\(\) may lead to deadlocks", category=DeprecationWarning)
        # map keeps the order of the chunks whichever worker finishes first.
        return [tokens for chunk in pool.map(_tokenize_chunk, chunks) for tokens in chunk]


def _context():
    """fork on Linux (workers start at once and inherit the pipeline), else the platform's default (spawn)."""
    import multiprocessing
    import sys
    return multiprocessing.get_context("fork" if sys.platform.startswith("linux") else None)


def tokenize_texts(texts: Sequence[str], n_workers: int | None = None,
                   rules: Sequence[Callable[[str], str]] | None = None, tok: Any = None) -> list[list[str]]:
    """Tokenize texts with rules (fastai's default text_proc_rules) and tok (WordTokenizer) in n_workers
    processes; the result is in the order of texts and does not depend on n_workers."""
    return parallel_tokenize(texts, tok=tok, rules=rules, n_workers=n_workers)


class Tokenizer:
    """Rules + a splitter as one callable (fastai's Tokenizer transform): tokenizer(text) -> tokens,
    tokenizer.decode(tokens) -> text joined with sep. tok: a splitter instance or class (default WordTokenizer);
    rules: the string rules (default text_proc_rules). tokenize(texts) does many at once and keeps counter,
    the Counter of every token seen, and lengths, each text's token count."""

    def __init__(self, tok: Any = None, rules: Sequence[Callable[[str], str]] | None = None,
                 counter: Counter | None = None, lengths: Sequence[int] | None = None, sep: str = " ",
                 post_rules: Sequence[Callable[[str], str]] | None = None) -> None:
        if isinstance(tok, type):
            tok = tok()
        self.tok = WordTokenizer() if tok is None else tok
        self.rules = list(text_proc_rules if rules is None else rules)
        self.post_rules = list(text_postproc_rules if post_rules is None else post_rules)
        self.counter, self.lengths, self.sep = counter, lengths, sep

    def __call__(self, text: str) -> list[str]:
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        return tokenize1(text, self.tok, self.rules, self.post_rules)

    def tokenize(self, texts: Sequence[str], n_workers: int | None = None) -> list[list[str]]:
        """The tokens of every text (in order, n_workers processes); sets counter and lengths."""
        tokens = parallel_tokenize(texts, self.tok, self.rules, n_workers=n_workers, post_rules=self.post_rules)
        self.counter = Counter(token for doc in tokens for token in doc)
        self.lengths = [len(doc) for doc in tokens]
        return tokens

    def decode(self, tokens: Sequence[str]) -> str:
        """The tokens joined with sep (a SubwordTokenizer's pieces are joined back into words)."""
        if hasattr(self.tok, "decode"):
            return self.tok.decode(tokens)
        return self.sep.join(tokens)

    def __repr__(self):
        rules = ", ".join(getattr(rule, "__name__", repr(rule)) for rule in self.rules)
        return f"Tokenizer(tok={type(self.tok).__name__}, rules=[{rules}])"

