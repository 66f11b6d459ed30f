"""nnx.text: fastai's text pipeline — tokenization rules and special tokens over a word or subword splitter
(core, subword), numericalization (vocab), language-model and classifier loaders (data), and an offline English
corpus from Python's own help pages (corpus). The splitters use Hugging Face `tokenizers` (pip install
tokenizers, or nnx[text]), imported on first use."""
from . import corpus
from .core import (
    BOS,
    EOS,
    FLD,
    PAD,
    TK_MAJ,
    TK_REP,
    TK_UP,
    TK_WREP,
    UNK,
    BaseTokenizer,
    Tokenizer,
    TokenizeWithRules,
    WordTokenizer,
    fix_html,
    lowercase,
    parallel_tokenize,
    replace_all_caps,
    replace_maj,
    replace_rep,
    replace_space,
    replace_wrep,
    rm_useless_spaces,
    spec_add_spaces,
    text_postproc_rules,
    text_proc_rules,
    text_spec_tok,
    tokenize1,
    tokenize_texts,
)
from .data import (
    LMDataLoader,
    SortedDL,
    TextDataLoaders,
    WeightedRandomSampler,
    pad_input,
    pad_input_chunk,
    reverse_text,
)
from .subword import SubwordTokenizer
from .vocab import FAKE, Numericalize, Vocab, make_vocab

__all__ = ["UNK", "PAD", "BOS", "EOS", "FLD", "TK_REP", "TK_WREP", "TK_UP", "TK_MAJ", "text_spec_tok",
           "text_proc_rules", "text_postproc_rules", "spec_add_spaces", "rm_useless_spaces", "replace_rep",
           "replace_wrep", "fix_html", "replace_all_caps", "replace_maj", "lowercase", "replace_space",
           "BaseTokenizer", "WordTokenizer", "SubwordTokenizer", "TokenizeWithRules", "tokenize1",
           "parallel_tokenize", "tokenize_texts", "Tokenizer", "FAKE", "make_vocab", "Vocab", "Numericalize",
           "reverse_text", "pad_input", "pad_input_chunk", "LMDataLoader", "SortedDL", "TextDataLoaders",
           "WeightedRandomSampler", "corpus"]
