"""nnx.text.core and subword: fastai's rules on hand-written cases (each special token), the word splitter on
punctuation and contractions, the parallel pipeline's order, the subword tokenizer's round trip on the corpus."""
import pickle

import pytest

from nnx.text import (
    BOS,
    EOS,
    PAD,
    TK_MAJ,
    TK_REP,
    TK_UP,
    TK_WREP,
    UNK,
    BaseTokenizer,
    SubwordTokenizer,
    Tokenizer,
    WordTokenizer,
    corpus,
    fix_html,
    lowercase,
    replace_all_caps,
    replace_maj,
    replace_rep,
    replace_space,
    replace_wrep,
    rm_useless_spaces,
    spec_add_spaces,
    text_proc_rules,
    text_spec_tok,
    tokenize1,
    tokenize_texts,
)

pytest.importorskip("tokenizers")


def test_special_tokens_in_fastai_order():
    assert text_spec_tok == ["xxunk", "xxpad", "xxbos", "xxeos", "xxfld", "xxrep", "xxwrep", "xxup", "xxmaj"]
    assert (UNK, PAD, BOS, EOS) == ("xxunk", "xxpad", "xxbos", "xxeos")
    assert [rule.__name__ for rule in text_proc_rules] == [
        "fix_html", "replace_rep", "replace_wrep", "spec_add_spaces", "rm_useless_spaces", "replace_all_caps",
        "replace_maj", "lowercase"]


def test_spaces_rules():
    assert spec_add_spaces("#fastai") == " # fastai"
    assert spec_add_spaces("/fastai") == " / fastai"
    assert spec_add_spaces("\\fastai") == " \\ fastai"
    assert rm_useless_spaces("a  b   c") == "a b c"
    assert rm_useless_spaces("a\n\nb") == "a\n\nb"  # only spaces


def test_replace_rep_counts_characters():
    assert replace_rep("aa") == "aa"
    assert replace_rep("aaaa") == f" {TK_REP} 4 a "
    assert replace_rep("cooool!!!") == f"c {TK_REP} 4 o l {TK_REP} 3 ! "


def test_replace_wrep_counts_words():
    assert replace_wrep("ah ah") == "ah ah"
    assert replace_wrep("ah ah ah") == f" {TK_WREP} 3 ah "
    assert replace_wrep("ah ah ah ah") == f" {TK_WREP} 4 ah "
    assert replace_wrep("ah ah ah ah ") == f" {TK_WREP} 4 ah  "
    assert replace_wrep("ah ah ah ah.") == f" {TK_WREP} 4 ah ."
    assert replace_wrep("ah ah ahi") == "ah ah ahi"


def test_fix_html():
    assert fix_html("#39;bli#146;") == "'bli'"
    assert fix_html("Sarah amp; Duck...") == "Sarah & Duck …"
    assert fix_html("a nbsp; #36;") == "a   $"
    assert fix_html('\\" <unk>') == f'" {UNK}'
    assert fix_html("quot;  @.@  @-@ ") == "' .-"
    assert fix_html("<br />text\\nchars") == "\ntext\nchars"
    assert fix_html("&lt;b&gt;") == "<b>"


def test_replace_all_caps_and_maj():
    assert replace_all_caps("I'M SHOUTING") == f"{TK_UP} i'm {TK_UP} shouting"
    assert replace_all_caps("I'm speaking normally") == "I'm speaking normally"
    assert replace_all_caps("I am speaking normally") == "i am speaking normally"  # one letter: no marker
    assert replace_maj("Jeremy Howard") == f"{TK_MAJ} jeremy {TK_MAJ} howard"
    assert replace_maj("I like you.") == "i like you."  # one letter: lowered, no marker
    assert replace_maj("ALL CAPS stays") == "ALL CAPS stays"


def test_lowercase_adds_bos_and_optionally_eos():
    assert lowercase("  Hello World ") == f"{BOS} hello world"
    assert lowercase("Hi", add_bos=False, add_eos=True) == f"hi {EOS}"
    assert lowercase("Hi", add_bos=False) == "hi"


def test_replace_space():
    assert replace_space("new york") == "new▁york"


def test_word_splitter_punctuation_and_contractions():
    words = next(WordTokenizer()(["Don't stop! I'm here, it's 3.14 U.S. well-known __init__ ... $5 (a) they've"]))
    assert words == ["Do", "n't", "stop", "!", "I", "'m", "here", ",", "it", "'s", "3.14", "U.S.", "well", "-",
                     "known", "__init__", "...", "$", "5", "(", "a", ")", "they", "'ve"]
    assert next(WordTokenizer()(["a  b\n\nc\td"])) == ["a", "b", "\n\n", "c", "d"]
    assert next(BaseTokenizer()(["a b  c"])) == ["a", "b", "", "c"]


def test_tokenizer_applies_the_rules_then_splits():
    tok = Tokenizer()
    assert tok("This is a TEST!!!! isn't it? yes yes yes") == [
        BOS, TK_MAJ, "this", "is", "a", TK_UP, "test", TK_REP, "4", "!", "is", "n't", "it", "?", TK_WREP, "3", "yes"]
    assert tok.decode(["a", "b"]) == "a b"
    assert tokenize1("Hi there", WordTokenizer()) == [BOS, TK_MAJ, "hi", "there"]
    assert tokenize1("Hi there", BaseTokenizer(), rules=[]) == ["Hi", "there"]
    with pytest.raises(TypeError, match="text must be a str"):
        tok(["a list"])


def test_parallel_tokenization_keeps_the_order(rng):
    words = ["alpha", "Beta", "GAMMA", "delta", "eps", "zeta"]
    texts = [" ".join(rng.choice(words, size=rng.integers(1, 12))) for _ in range(600)]
    inline = tokenize_texts(texts, n_workers=1)
    assert inline == [Tokenizer()(t) for t in texts]
    assert tokenize_texts(texts, n_workers=2) == inline
    tok = Tokenizer()
    assert tok.tokenize(texts, n_workers=2) == inline
    assert sum(tok.counter.values()) == sum(tok.lengths) == sum(len(t) for t in inline)
    with pytest.raises(ValueError, match="n_workers"):
        tokenize_texts(texts, n_workers=-1)
    with pytest.raises(TypeError, match="single str"):
        tokenize_texts("one text")


@pytest.fixture(scope="module")
def subword_texts():
    return [" ".join(t.split()) for t in corpus.lm_texts()[:400]]


@pytest.mark.parametrize("model_type", ["unigram", "bpe"])
def test_subword_round_trip_on_the_corpus(subword_texts, model_type, tmp_path):
    sp = SubwordTokenizer(vocab_sz=800, model_type=model_type)
    sp.setup(subword_texts)
    assert len(sp.vocab) <= 800 and sp.vocab[:len(text_spec_tok)] == text_spec_tok
    pieces = list(sp(subword_texts[:50]))
    for text, p in zip(subword_texts[:50], pieces):
        assert sp.decode(p) == text
        assert len(p) >= len(text.split())
    # with the rules: special tokens are pieces of their own, never split, and come out bare
    tok = Tokenizer(sp)
    ruled = tok("The While statement IS here")
    assert ruled[:2] == [BOS, TK_MAJ] and TK_UP in ruled
    assert not any(a == "▁" and b in text_spec_tok for a, b in zip(ruled, ruled[1:]))
    assert tok.decode(ruled) == f"{BOS} {TK_MAJ} the {TK_MAJ} while statement {TK_UP} is here"
    sp.save(tmp_path / "sp.json")
    loaded = SubwordTokenizer(sp_model=tmp_path / "sp.json")
    assert list(loaded(subword_texts[:5])) == pieces[:5]
    assert list(pickle.loads(pickle.dumps(sp))(subword_texts[:5])) == pieces[:5]


def test_subword_default_size_and_errors(subword_texts):
    sp = SubwordTokenizer()
    size = sp._get_vocab_sz(subword_texts)
    assert size % 8 == 0 and size >= 29
    assert len({w for t in subword_texts for w in t.split()}) // 4 <= size
    with pytest.raises(RuntimeError, match="no model"):
        next(sp(["x"]))
    with pytest.raises(ValueError, match="model_type"):
        SubwordTokenizer(model_type="wordpiece")
