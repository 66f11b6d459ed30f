"""An offline English corpus: the help pages that ship with Python (pydoc_data.topics, what help('while') shows:
about 0.5 MB of the language reference), as documents for a language model and as a labelled task — which part
of the reference (statements, expressions, types and the data model) a paragraph comes from — for a classifier.
Nothing is downloaded; the texts are those of the running Python, so their number varies a little between
Python versions but never between runs."""
from __future__ import annotations

import re

__all__ = ["TOPIC_GROUPS", "help_topics", "paragraphs", "lm_texts", "topic_classification"]

# The class of each help page in topic_classification (pages not listed, as a newer Python may add, are left out).
TOPIC_GROUPS: dict[str, str] = {
    **dict.fromkeys(["assert", "assignment", "async", "augassign", "break", "class", "compound", "continue", "del",
                     "else", "for", "function", "global", "if", "import", "nonlocal", "pass", "raise", "return",
                     "try", "while", "with", "yield"], "statements"),
    **dict.fromkeys(["atom-identifiers", "atom-literals", "attribute-references", "await", "binary", "bitwise",
                     "booleans", "calls", "comparisons", "conversions", "exprlists", "floating", "formatstrings",
                     "id-classes", "identifiers", "imaginary", "in", "integers", "lambda", "numbers",
                     "operator-summary", "power", "shifting", "slicings", "strings", "subscriptions", "unary"],
                    "expressions"),
    **dict.fromkeys(["attribute-access", "bltin-code-objects", "bltin-ellipsis-object", "bltin-null-object",
                     "bltin-type-objects", "callable-types", "context-managers", "customization", "dict",
                     "dynamic-features", "exceptions", "execmodel", "lists", "naming", "numeric-types", "objects",
                     "sequence-types", "specialattrs", "specialnames", "string-methods", "truth", "types",
                     "typesfunctions", "typesmapping", "typesmethods", "typesmodules", "typesseq",
                     "typesseq-mutable"], "types"),
}


def help_topics() -> dict[str, str]:
    """{page name: text} of Python's help pages, by name."""
    from pydoc_data.topics import topics
    return {name: topics[name] for name in sorted(topics)}


def paragraphs(prose_only: bool = False, min_words: int = 1) -> list[tuple[str, str]]:
    """(page name, paragraph) for every blank-line-separated paragraph of every page with at least min_words
    words, its whitespace collapsed to single spaces; prose_only leaves out the indented blocks (grammar rules,
    code examples) and the tables."""
    out = []
    for name, text in help_topics().items():
        for block in re.split(r"\n[ \t]*\n", text):
            if not block.strip() or (prose_only and block.lstrip("\n")[:1] in (" ", "\t", "+", "|")):
                continue
            words = block.split()
            if len(words) >= min_words:
                out.append((name, " ".join(words)))
    return out


def lm_texts(min_words: int = 5) -> list[str]:
    """Documents for a language model: every paragraph of every help page (code included) of min_words words
    or more, in page and reading order."""
    return [text for _, text in paragraphs(min_words=min_words)]


def topic_classification(min_words: int = 20) -> tuple[list[str], list[str]]:
    """(texts, labels): the prose paragraphs of min_words words or more of the pages in TOPIC_GROUPS, labelled
    'statements', 'expressions' or 'types' by their page."""
    pairs = [(text, TOPIC_GROUPS[name]) for name, text in paragraphs(prose_only=True, min_words=min_words)
             if name in TOPIC_GROUPS]
    return [text for text, _ in pairs], [label for _, label in pairs]
