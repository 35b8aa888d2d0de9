"""Offline data: tokenizers, corpora, nested training subsets and a disjoint test split.

Tokenizers (all serialise to JSON-able dicts, stored in checkpoints):
- `CharTokenizer`   built from the corpus (default); id 0 is the pad token.
- `ByteTokenizer`   UTF-8 bytes 0..255, pad = 256.
- `BPETokenizer`    a local Hugging Face `tokenizer.json` (GPT-2, BERT, ...); needs the
                    optional `tokenizers` package, imported lazily.
- `SymbolTokenizer` K abstract symbols (the synthetic Markov source); no pad.

Corpora (a `corpus` spec string, see `load_corpus`):
- "markov[:K[:successors[:seed]]]"  synthetic order-1 sparse Markov chain (bundled code,
                                    entropy rate log(successors) exactly, exact Bayes denoiser)
- "pydoc"                           English prose from the Python documentation topics
                                    bundled with CPython (`pydoc_data.topics`): works offline
                                    on a fresh machine, nothing to install
- "text:PATH"                       a plain-text file, or every *.txt file under a folder
- "hf:PATH[:split[:column]]"        a Hugging Face `datasets` dataset saved with
                                    `save_to_disk` (optional `datasets` package)
- "lm1b:PATH"                       LM1B saved with `save_to_disk` (splits train, test;
                                    column text), packed as the paper's code packs it
                                    (`lm1b_blocks`); its own test split is the test set

Text becomes sequences by "sentences" (one sentence per sequence, padded; longer ones
dropped) or "blocks" (the whole text packed and cut into blocks of the model length).

Subsets are nested: the sequences are shuffled once with `split_seed`; the first
`n_test` form the test split, and a training set of size n is the first n of the rest,
so a smaller training set is always contained in a larger one, and never meets the test
split.
"""
from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch

__all__ = ["CharTokenizer", "ByteTokenizer", "BPETokenizer", "SymbolTokenizer",
           "tokenizer_from_dict", "MarkovSource", "load_corpus", "DataSpec", "Dataset",
           "build_dataset", "pydoc_text", "lm1b_detokenize", "wrap_blocks", "lm1b_blocks",
           "PAPER_FRACTIONS"]


# --------------------------------------------------------------------------- tokenizers
class CharTokenizer:
    """Characters of the corpus, sorted; id 0 = pad."""

    kind = "char"
    PAD = "\x00"

    def __init__(self, chars: str):
        chars = "".join(sorted(set(chars) - {self.PAD}))
        if not chars:
            raise ValueError("cannot build a character tokenizer from an empty corpus")
        self.chars = chars
        self.itos = [self.PAD] + list(chars)
        self.stoi = {c: i for i, c in enumerate(self.itos)}
        self.pad_id = 0

    @classmethod
    def from_texts(cls, texts) -> "CharTokenizer":
        s = set()
        for t in texts:
            s.update(t)
        return cls("".join(s))

    @property
    def vocab_size(self) -> int:
        return len(self.itos)

    def encode(self, text: str) -> list[int]:
        try:
            return [self.stoi[c] for c in text]
        except KeyError as exc:
            raise ValueError(f"character {exc.args[0]!r} is not in the tokenizer's "
                             f"vocabulary of {self.vocab_size} (checkpoint from another "
                             f"vocabulary?)") from None

    def decode(self, ids) -> str:
        return "".join(self.itos[i] for i in ids if i != self.pad_id)

    def to_dict(self) -> dict:
        return {"kind": self.kind, "chars": self.chars}


class ByteTokenizer:
    """UTF-8 bytes; 256 = pad."""

    kind = "byte"
    vocab_size = 257
    pad_id = 256

    def encode(self, text: str) -> list[int]:
        return list(text.encode("utf-8"))

    def decode(self, ids) -> str:
        return bytes(i for i in ids if i < 256).decode("utf-8", errors="replace")

    def to_dict(self) -> dict:
        return {"kind": self.kind}


class BPETokenizer:
    """A Hugging Face `tokenizers` tokenizer from a local tokenizer.json (no downloads).

    The JSON text itself is stored in checkpoints, so the file is not needed later. The
    pad id is the first of [PAD], <pad>, <|endoftext|> present in the vocabulary.
    """

    kind = "bpe"

    def __init__(self, json_text: str):
        try:
            from tokenizers import Tokenizer
        except ImportError:
            raise ValueError("BPE tokenizers need the optional 'tokenizers' package "
                             "(pip install tokenizers)") from None
        self.json_text = json_text
        try:
            self.tok = Tokenizer.from_str(json_text)
        except Exception as exc:  # the Rust library raises a bare Exception
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ValueError(f"not a valid Hugging Face tokenizer.json ({first})") from None
        self.vocab_size = self.tok.get_vocab_size()
        self.pad_id = next((self.tok.token_to_id(t) for t in ("[PAD]", "<pad>", "<|endoftext|>")
                            if self.tok.token_to_id(t) is not None), 0)

    @classmethod
    def from_file(cls, path) -> "BPETokenizer":
        p = Path(path)
        if not p.is_file():
            raise FileNotFoundError(f"tokenizer file {path} does not exist")
        try:
            text = p.read_text(encoding="utf-8")
            obj = json.loads(text)
        except UnicodeDecodeError:
            raise ValueError(f"tokenizer file {path} is not JSON (not UTF-8 text)") from None
        except json.JSONDecodeError as exc:
            raise ValueError(f"tokenizer file {path} is not JSON ({exc.msg} at line "
                             f"{exc.lineno} column {exc.colno})") from None
        if not isinstance(obj, dict) or "model" not in obj:
            raise ValueError(f"tokenizer file {path} is JSON but not a Hugging Face "
                             f"tokenizer.json (no 'model' entry)")
        return cls(text)

    def encode(self, text: str) -> list[int]:
        return self.tok.encode(text, add_special_tokens=False).ids

    def decode(self, ids) -> str:
        return self.tok.decode([int(i) for i in ids if i != self.pad_id])

    def to_dict(self) -> dict:
        return {"kind": self.kind, "json": self.json_text}


class SymbolTokenizer:
    """K abstract symbols s0..s{K-1} (the Markov source); no pad."""

    kind = "symbol"
    pad_id = None

    def __init__(self, vocab_size: int):
        self.vocab_size = int(vocab_size)

    def encode(self, text: str) -> list[int]:
        try:
            ids = [int(w.lstrip("s")) for w in text.split()]
        except ValueError:
            raise ValueError(f"symbol text must look like 's3 s17 ...', got {text[:40]!r}") from None
        bad = [i for i in ids if not 0 <= i < self.vocab_size]
        if bad:
            raise ValueError(f"symbol s{bad[0]} is outside the vocabulary of {self.vocab_size}")
        return ids

    def decode(self, ids) -> str:
        return " ".join(f"s{int(i)}" for i in ids)

    def to_dict(self) -> dict:
        return {"kind": self.kind, "vocab_size": self.vocab_size}


def tokenizer_from_dict(d: dict):
    """Rebuild a tokenizer from its `to_dict()`."""
    kind = d.get("kind")
    if kind == "char":
        return CharTokenizer(d["chars"])
    if kind == "byte":
        return ByteTokenizer()
    if kind == "bpe":
        return BPETokenizer(d["json"])
    if kind == "symbol":
        return SymbolTokenizer(d["vocab_size"])
    raise ValueError(f"unknown tokenizer kind {kind!r}")


# --------------------------------------------------------------------------- Markov source
class MarkovSource:
    """Order-1 sparse Markov chain over K symbols, `successors` allowed next symbols each.

    Symbol s may be followed by (s + 1) mod K (which makes the chain irreducible) and by
    `successors - 1` other distinct symbols drawn with `seed`, each with probability
    1/successors. The first symbol is drawn from the stationary distribution, so the
    process is stationary and its entropy rate is exactly log(successors) nats/symbol.
    `bayes_posterior` is the exact Bayes denoiser (forward-backward) for corruption by
    eq. 1.
    """

    def __init__(self, vocab_size: int = 128, successors: int = 4, seed: int = 0):
        K, m = int(vocab_size), int(successors)
        if K < 2 or not 1 <= m <= K:
            raise ValueError(f"Markov source needs K >= 2 and 1 <= successors <= K, "
                             f"got K={K}, successors={m}")
        self.K, self.m, self.seed = K, m, int(seed)
        rng = np.random.default_rng(seed)
        P = np.zeros((K, K))
        for s in range(K):
            nxt = (s + 1) % K
            others = rng.choice(np.delete(np.arange(K), nxt), size=m - 1, replace=False)
            P[s, nxt] = 1.0 / m
            P[s, others] = 1.0 / m
        self.P = P
        w, v = np.linalg.eig(P.T)
        pi = np.real(v[:, np.argmin(np.abs(w - 1))])
        self.pi = pi / pi.sum()

    @property
    def entropy_rate(self) -> float:
        """Nats per symbol: sum_s pi(s) H(P(s, .)) = log(successors)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            h = -np.where(self.P > 0, self.P * np.log(self.P), 0.0).sum(1)
        return float(self.pi @ h)

    def sample(self, n: int, length: int, seed: int) -> np.ndarray:
        """n sequences of `length` symbols, (n, length) int64."""
        rng = np.random.default_rng(seed)
        out = np.empty((n, length), dtype=np.int64)
        cdf = np.cumsum(self.P, axis=1)
        out[:, 0] = rng.choice(self.K, size=n, p=self.pi)
        for l in range(1, length):
            u = rng.random(n)[:, None]
            out[:, l] = np.minimum((u > cdf[out[:, l - 1]]).sum(1), self.K - 1)
        return out

    def bayes_posterior(self, z: np.ndarray, alpha: float) -> np.ndarray:
        """Exact p(x_l | z) for all positions (forward-backward), (n, L, K)."""
        z = np.atleast_2d(z)
        K = self.K
        n, L = z.shape
        lik = np.full((n, L, K), (1 - alpha) / K)
        np.put_along_axis(lik, z[..., None], alpha + (1 - alpha) / K, axis=-1)
        f = np.empty((n, L, K))
        b = np.ones((n, L, K))
        f[:, 0] = self.pi * lik[:, 0]
        f[:, 0] /= f[:, 0].sum(-1, keepdims=True)
        for l in range(1, L):
            f[:, l] = (f[:, l - 1] @ self.P) * lik[:, l]
            f[:, l] /= f[:, l].sum(-1, keepdims=True)
        for l in range(L - 2, -1, -1):
            b[:, l] = (lik[:, l + 1] * b[:, l + 1]) @ self.P.T
            b[:, l] /= b[:, l].sum(-1, keepdims=True)
        post = f * b
        return post / post.sum(-1, keepdims=True)

    def bayes_denoise(self, z: np.ndarray, alpha: float) -> np.ndarray:
        """Per-token MAP of the exact posterior: the Bayes-MAP reference (not an upper bound on eq. 12)."""
        return self.bayes_posterior(z, alpha).argmax(-1)


# --------------------------------------------------------------------------- text sources
def pydoc_text() -> list[str]:
    """English prose paragraphs of the Python documentation topics bundled with CPython.

    Headings, underlines and indented blocks (code, grammar) are dropped; paragraph
    lines are joined. About 300k characters.
    """
    try:
        from pydoc_data.topics import topics
    except ImportError:
        raise ValueError("the 'pydoc' corpus needs pydoc_data (part of the Python standard "
                         "library; on Debian install libpython3-stdlib)") from None
    paras = []
    for key in sorted(topics):
        for block in re.split(r"\n\s*\n", topics[key]):
            lines = block.split("\n")
            if any(l.startswith((" ", "\t")) for l in lines):
                continue
            if len(lines) >= 2 and set(lines[-1].strip()) <= set("*=-~^"):
                continue
            text = " ".join(l.strip() for l in lines).strip()
            if len(text) > 20 and not set(text) <= set("*=-~^ "):
                paras.append(text)
    return paras


_SENT = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'(])")


def split_sentences(paragraphs: list[str]) -> list[str]:
    """Split paragraphs into sentences at ., ! or ? followed by a capital letter."""
    out = []
    for p in paragraphs:
        p = re.sub(r"\s+", " ", p).strip()
        out.extend(s.strip() for s in _SENT.split(p) if s.strip())
    return out


def _read_text_source(path: str) -> list[str]:
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"corpus path {path} does not exist")
    files = sorted(p.rglob("*.txt")) if p.is_dir() else [p]
    if not files:
        raise ValueError(f"corpus folder {path} holds no *.txt files")
    paras = []
    for f in files:
        text = _decode_text_file(f)
        paras.extend(b for b in re.split(r"\n\s*\n", text) if b.strip())
    return paras


def _decode_text_file(path: Path) -> str:
    """UTF-8 text; a binary file is refused; other text is decoded as Latin-1 and the
    user is told (one line on stderr), so no byte is silently replaced."""
    data = path.read_bytes()
    if b"\x00" in data[:65536]:
        raise ValueError(f"corpus file {path} is binary (it holds NUL bytes), not text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        sample = data[:65536]
        ctrl = sum(1 for b in sample if b < 32 and b not in (9, 10, 12, 13))
        if ctrl > 0.05 * max(len(sample), 1):
            raise ValueError(f"corpus file {path} is binary ({ctrl} control bytes in the "
                             f"first {len(sample)}), not text") from None
        import sys
        print(f"note: corpus file {path} is not UTF-8 (byte {data[exc.start]:#x} at offset "
              f"{exc.start}); decoded as Latin-1", file=sys.stderr)
        return data.decode("latin-1")


def _read_hf(spec: str) -> list[str]:
    parts = spec.split(":")
    path = parts[0]
    split = parts[1] if len(parts) > 1 and parts[1] else "train"
    column = parts[2] if len(parts) > 2 else "text"
    try:
        import datasets
    except ImportError:
        raise ValueError("hf: corpora need the optional 'datasets' package "
                         "(pip install datasets)") from None
    if not Path(path).exists():
        raise FileNotFoundError(f"dataset folder {path} does not exist")
    ds = datasets.load_from_disk(path)
    if hasattr(ds, "keys"):
        if split not in ds:
            raise ValueError(f"dataset {path} has no split {split!r}; it has {list(ds)}")
        ds = ds[split]
    if column not in ds.column_names:
        raise ValueError(f"dataset {path} has no column {column!r}; it has {ds.column_names}")
    return list(ds[column])


def load_corpus(spec: str) -> list[str]:
    """Text units (paragraphs or lines) of a text corpus spec: pydoc, text:PATH, hf:PATH."""
    if spec == "pydoc":
        return pydoc_text()
    if spec.startswith("text:"):
        return _read_text_source(spec[5:])
    if spec.startswith("hf:"):
        return _read_hf(spec[3:])
    raise ValueError(f"unknown corpus {spec!r}; use markov[:K[:m[:seed]]], pydoc, "
                     f"text:PATH, hf:PATH[:split[:column]] or lm1b:PATH")


# --------------------------------------------------------------------------- LM1B, as the paper
# The paper trains on nested subsets of LM1B's training split given as fractions of its
# packed 128-token blocks (n = int(N * fraction), the first n of one shuffle). Its
# training scripts use three linear segments: 17 points from 1e-4 to 1e-2 (step
# 6.1875e-4, passed rounded to 6 decimals as below), 0.01 to 0.07 by 0.01, and 0.01 to
# 1 by 0.03: 54 distinct fractions, 3 x 54 = the 162 published checkpoints.
_PAPER_SMALL = (0.0001, 0.000719, 0.001338, 0.001956, 0.002575, 0.003194, 0.003813, 0.004431,
                0.00505, 0.005669, 0.006288, 0.006906, 0.007525, 0.008144, 0.008762, 0.009381)
PAPER_FRACTIONS: tuple = tuple(sorted(
    set(_PAPER_SMALL) | {round(0.01 * k, 2) for k in range(1, 8)}
    | {round(0.01 + 0.03 * k, 2) for k in range(34)}))

# LM1B's text is tokenised with spaces around punctuation; these rules (applied in
# order) restore ordinary spacing before subword tokenisation, as the paper's code does.
_LM1B_SPACING = [(re.compile(p), r) for p, r in (
    (r"(https?) : / / ", r"\1://"),
    (r" '(\w+)", r"'\1"),
    (r" (\w+) \. ", r" \1. "),
    (r" (\w+) \.$", r" \1."),
    (r" \? ", "? "), (r" \?$", "?"),
    (r" ! ", "! "), (r" !$", "!"),
    (r" , ", ", "), (r" : ", ": "), (r" ; ", "; "), (r" / ", "/"),
    (r'" ([^"]+) "', r'"\1"'), (r"' ([^']+) '", r"'\1'"),
    (r"\( ([^()]+) \)", r"(\1)"), (r"\[ ([^\[\]]+) \]", r"[\1]"),
    (r"\$ ", "$"), (r"£ ", "£"),
)]


def lm1b_detokenize(text: str) -> str:
    """One LM1B sentence with ordinary spacing ("Hello , world !" -> "Hello, world!")."""
    for pattern, repl in _LM1B_SPACING:
        text = pattern.sub(repl, text)
    return text


def _boundary_ids(tok) -> tuple[int, int]:
    """(BOS, EOS) of a packed block: BERT's [CLS]/[SEP], else GPT-2's <|endoftext|> twice."""
    ids = getattr(tok, "tok", None)
    if ids is None:
        raise ValueError("LM1B packing needs a bpe:PATH/tokenizer.json tokenizer "
                         "(bert-base-uncased or gpt2)")
    cls, sep = ids.token_to_id("[CLS]"), ids.token_to_id("[SEP]")
    if cls is not None and sep is not None:
        return cls, sep
    eot = ids.token_to_id("<|endoftext|>")
    if eot is not None:
        return eot, eot
    raise ValueError("the tokenizer has neither [CLS]/[SEP] nor <|endoftext|> to mark "
                     "block and sentence boundaries")


def wrap_blocks(sentences: list[list[int]], length: int, bos: int, eos: int) -> np.ndarray:
    """Pack one batch of tokenised sentences: each ends with EOS, all are concatenated and
    cut into (length - 2)-token chunks, each block is [BOS] chunk [EOS]; the remainder
    that does not fill a chunk is dropped (per batch, as the paper's code does)."""
    if length < 3:
        raise ValueError(f"packed blocks need length >= 3, got {length}")
    flat = [t for s in sentences for t in (*s, eos)]
    inner = length - 2
    n = len(flat) // inner
    out = np.empty((n, length), dtype=np.int32)
    out[:, 0], out[:, -1] = bos, eos
    if n:
        out[:, 1:-1] = np.asarray(flat[: n * inner], dtype=np.int32).reshape(n, inner)
    return out


LM1B_BATCH = 1000      # sentences packed together (the batch of `datasets.map`)


def lm1b_blocks(path, tok, length: int, split: str, column: str = "text") -> np.ndarray:
    """(N, length) int32 blocks of one split of LM1B saved with `save_to_disk` at `path`.

    Sentences are detokenised (`lm1b_detokenize`), tokenised without special tokens,
    and packed `LM1B_BATCH` at a time (`wrap_blocks`), in order: the paper's code run
    with one worker (with several, `datasets` cuts the split into contiguous shards and
    each shard's last batch is shorter, so a few block boundaries move). The result is
    cached beside the split as `uddm-blocks-<split>-L<length>-<hash>.npy`, the hash of the
    tokenizer and of the split's fingerprint (a re-saved dataset is packed anew).
    """
    root = Path(path)
    if not root.exists():
        raise FileNotFoundError(f"LM1B folder {path} does not exist")
    bos, eos = _boundary_ids(tok)
    h = hashlib.sha256(tok.json_text.encode("utf-8"))
    state = root / split / "state.json"           # holds the split's datasets fingerprint
    if state.is_file():
        h.update(state.read_bytes())
    cache = root / f"uddm-blocks-{split}-L{length}-{h.hexdigest()[:12]}.npy"
    if cache.is_file():
        return np.load(cache, mmap_mode="r")
    try:
        import datasets
    except ImportError:
        raise ValueError("lm1b: corpora need the optional 'datasets' package "
                         "(pip install datasets)") from None
    ds = datasets.load_from_disk(str(root))
    if not hasattr(ds, "keys") or split not in ds:
        raise ValueError(f"LM1B folder {path} has no split {split!r}"
                         + (f"; it has {list(ds)}" if hasattr(ds, "keys") else ""))
    ds = ds[split]
    if column not in ds.column_names:
        raise ValueError(f"LM1B folder {path} has no column {column!r}; it has {ds.column_names}")
    parts = []
    for batch in ds.iter(batch_size=LM1B_BATCH):
        texts = [lm1b_detokenize(t) for t in batch[column]]
        enc = tok.tok.encode_batch(texts, add_special_tokens=False)
        parts.append(wrap_blocks([e.ids for e in enc], length, bos, eos))
    blocks = np.concatenate(parts) if parts else np.empty((0, length), dtype=np.int32)
    if blocks.shape[0] == 0:
        raise ValueError(f"the {split} split of {path} is shorter than one block of {length}")
    tmp = cache.with_suffix(".tmp.npy")
    np.save(tmp, blocks)
    tmp.replace(cache)
    return blocks


# --------------------------------------------------------------------------- datasets
@dataclass
class DataSpec:
    """Everything that determines the token sequences of a run (its identity)."""

    corpus: str = "markov"
    tokenizer: str = "char"            # char | byte | bpe:PATH (markov: char only, its symbols)
    split: str = "blocks"              # blocks | sentences (text corpora)
    length: int = 32
    n_train: int | None = None         # count, or
    fraction: float | None = None      # fraction of the non-test pool
    n_test: int = 256
    split_seed: int = 0
    markov_pool: int = 65536           # sequences drawn from the Markov source

    def to_dict(self) -> dict:
        return asdict(self)

    def validate(self) -> None:
        """ValueError naming the first bad field (None length = the model's length)."""
        from memkit.validate import check_count, check_memory, check_number
        for f in ("corpus", "tokenizer"):
            if not isinstance(getattr(self, f), str) or not getattr(self, f):
                raise ValueError(f"{f} must be a non-empty string, got {getattr(self, f)!r}")
        if self.length is not None:
            check_count("sequence length", self.length, minimum=2)
        if self.fraction is not None:
            check_number("fraction", self.fraction, 0.0, 1.0, low_open=True)
        if self.n_train is not None:
            check_count("n_train", self.n_train)
        if self.n_train is not None and self.fraction is not None:
            raise ValueError("give n_train or fraction, not both")
        check_count("n_test", self.n_test, minimum=0)
        check_count("split_seed", self.split_seed, minimum=0)
        check_count("markov_pool", self.markov_pool)
        if self.split not in ("blocks", "sentences"):
            raise ValueError(f"split must be 'blocks' or 'sentences', got {self.split!r}")
        if self.corpus == "markov" or self.corpus.startswith("markov:"):
            if self.tokenizer != "char":
                raise ValueError(f"tokenizer {self.tokenizer!r} does not apply to the corpus "
                                 f"{self.corpus!r} (it has its own K symbols); leave the default")
            if self.split != "blocks":
                raise ValueError(f"split {self.split!r} does not apply to the corpus "
                                 f"{self.corpus!r} (it has no sentences); leave the default")
            K = _markov_args(self.corpus)[0] if self.corpus != "markov" else 128
            L = self.length or 2
            check_memory(f"markov_pool {self.markov_pool} x length {L} "
                         f"(corpus {self.corpus!r}: K x K transitions, K = {K})",
                         8.0 * self.markov_pool * L * 3 + 8.0 * K * K * 4)


@dataclass
class Dataset:
    """Token tensors of a run plus what is needed to reproduce them."""

    train: torch.Tensor          # (n_train, L) long
    test: torch.Tensor           # (n_test, L) long
    tokenizer: object
    spec: DataSpec
    source: MarkovSource | None = None

    @property
    def pad_id(self):
        return self.tokenizer.pad_id

    def identity(self) -> dict:
        """JSON-able identity: the spec and a hash of the exact training/test tokens."""
        h = hashlib.sha256()
        h.update(self.train.numpy().tobytes())
        h.update(b"|")
        h.update(self.test.numpy().tobytes())
        return {"spec": self.spec.to_dict(), "n_train": int(self.train.shape[0]),
                "n_test": int(self.test.shape[0]), "sha256": h.hexdigest()}


def _markov_args(spec: str) -> list[int]:
    parts = spec.split(":")[1:]
    try:
        args = [int(p) for p in parts]
    except ValueError:
        raise ValueError(f"markov corpus spec must be markov[:K[:successors[:seed]]], got {spec!r}") from None
    if len(args) > 3:
        raise ValueError(f"markov corpus spec must be markov[:K[:successors[:seed]]], got {spec!r}")
    names = ("K", "successors", "seed")
    for name, v in zip(names, args):
        if v < (0 if name == "seed" else 1):
            raise ValueError(f"markov corpus {name} must be >= {0 if name == 'seed' else 1}, "
                             f"got {v} in {spec!r}")
    return args + [128, 4, 0][len(args):]


def _parse_markov(spec: str) -> MarkovSource:
    return MarkovSource(*_markov_args(spec))


def _sequences_from_text(units: list[str], tok, split: str, length: int) -> np.ndarray:
    if split == "sentences":
        seqs = []
        for s in split_sentences(units):
            ids = tok.encode(s)
            if 0 < len(ids) <= length:
                seqs.append(ids + [tok.pad_id] * (length - len(ids)))
        if not seqs:
            raise ValueError(f"no sentence of the corpus fits in length {length}")
        return np.asarray(seqs, dtype=np.int64)
    ids = tok.encode(" ".join(re.sub(r"\s+", " ", u).strip() for u in units))
    n = len(ids) // length
    if n == 0:
        raise ValueError(f"the corpus ({len(ids)} tokens) is shorter than one block of {length}")
    return np.asarray(ids[: n * length], dtype=np.int64).reshape(n, length)


def _make_tokenizer(spec: DataSpec, units: list[str], tokenizer_dict: dict | None):
    if tokenizer_dict is not None:
        return tokenizer_from_dict(tokenizer_dict)
    if spec.tokenizer == "char":
        return CharTokenizer.from_texts(units)
    if spec.tokenizer == "byte":
        return ByteTokenizer()
    if spec.tokenizer.startswith("bpe:"):
        return BPETokenizer.from_file(spec.tokenizer[4:])
    raise ValueError(f"unknown tokenizer {spec.tokenizer!r}; use char, byte or bpe:PATH")


def build_dataset(spec: DataSpec, tokenizer_dict: dict | None = None) -> Dataset:
    """Build the nested training subset and disjoint test split of `spec`.

    `tokenizer_dict` (from a checkpoint) reuses a saved tokenizer instead of building
    one from the corpus; text it cannot encode raises a ValueError naming the symbol.
    """
    spec.validate()
    source = None
    if spec.corpus.startswith("lm1b:"):
        return _build_lm1b(spec, tokenizer_dict)
    if spec.corpus == "markov" or spec.corpus.startswith("markov:"):
        source = _parse_markov(spec.corpus)
        tok = SymbolTokenizer(source.K)
        if tokenizer_dict is not None and tokenizer_dict != tok.to_dict():
            raise ValueError(f"the checkpoint's tokenizer ({tokenizer_dict.get('kind')}) does "
                             f"not match the corpus {spec.corpus!r} (another vocabulary)")
        seqs = source.sample(spec.markov_pool, spec.length, seed=spec.split_seed + 1)
    else:
        units = load_corpus(spec.corpus)
        if not units or not any(u.strip() for u in units):
            raise ValueError(f"corpus {spec.corpus!r} is empty")
        tok = _make_tokenizer(spec, units, tokenizer_dict)
        seqs = _sequences_from_text(units, tok, spec.split, spec.length)
    N = seqs.shape[0]
    if spec.n_test >= N:
        raise ValueError(f"n_test={spec.n_test} leaves no training data ({N} sequences)")
    perm = np.random.default_rng(spec.split_seed).permutation(N)
    test_idx, pool = perm[: spec.n_test], perm[spec.n_test:]
    if spec.n_train is not None:
        if spec.n_train > len(pool):
            raise ValueError(f"n_train={spec.n_train} exceeds the {len(pool)} available "
                             f"training sequences")
        n = spec.n_train
    elif spec.fraction is not None:
        n = max(1, int(math.floor(spec.fraction * len(pool))))
    else:
        n = len(pool)
    train = torch.from_numpy(seqs[pool[:n]].copy())
    test = torch.from_numpy(seqs[test_idx].copy())
    return Dataset(train, test, tok, spec, source)


def _subset_size(spec: DataSpec, pool: int) -> int:
    """Training-set size of `spec` from a pool of `pool` sequences (n_train or fraction)."""
    if spec.n_train is not None:
        if spec.n_train > pool:
            raise ValueError(f"n_train={spec.n_train} exceeds the {pool} available "
                             f"training sequences")
        return spec.n_train
    if spec.fraction is not None:
        return max(1, int(math.floor(spec.fraction * pool)))
    return pool


def _build_lm1b(spec: DataSpec, tokenizer_dict: dict | None) -> Dataset:
    """LM1B as the paper: training subsets of the packed train split, test from its test split.

    Both splits are shuffled with `split_seed` (the paper's runs use seed 1, whose
    shuffle is numpy's default_rng(seed).permutation, as here); the training set is
    the first n of the train split's shuffle, the test set the first n_test of the
    test split's.
    """
    path = spec.corpus[len("lm1b:"):]
    if spec.split != "blocks":
        raise ValueError(f"lm1b: corpora are packed blocks, as the paper's; split "
                         f"{spec.split!r} is not available for them")
    tok = _make_tokenizer(spec, [" "], tokenizer_dict)
    train_blocks = lm1b_blocks(path, tok, spec.length, "train")
    test_blocks = lm1b_blocks(path, tok, spec.length, "test")
    if spec.n_test > test_blocks.shape[0]:
        raise ValueError(f"n_test={spec.n_test} exceeds the {test_blocks.shape[0]} blocks of "
                         f"the LM1B test split")
    perm = np.random.default_rng(spec.split_seed).permutation(train_blocks.shape[0])
    n = _subset_size(spec, train_blocks.shape[0])
    test_idx = np.random.default_rng(spec.split_seed).permutation(test_blocks.shape[0])[:spec.n_test]
    return Dataset(_take(train_blocks, perm[:n]), _take(test_blocks, test_idx), tok, spec)


def _take(blocks: np.ndarray, idx: np.ndarray) -> torch.Tensor:
    """blocks[idx] as an int64 tensor, read in file order (a memory-mapped cache)."""
    order = np.argsort(idx, kind="stable")
    rows = np.asarray(blocks[idx[order]], dtype=np.int64)
    out = np.empty_like(rows)
    out[order] = rows
    return torch.from_numpy(out)


def dataset_from_texts(train_texts, test_texts=(), tokenizer: str = "char",
                       length: int | None = None) -> Dataset:
    """A Dataset of one sequence per string, for small hand-made experiments.

    train_texts, test_texts : lists of strings (test may be empty); each string is one
        sequence, right-padded with the tokenizer's pad token to `length`.
    tokenizer : "char" (built from the characters of all the texts; id 0 is padding),
        "byte" or "bpe:PATH".
    length : sequence length (default: the longest encoded text); a longer text
        raises ValueError naming it.

    Pass the result to `uddm.train.train(cfg, dataset)`.
    """
    train_texts, test_texts = list(train_texts), list(test_texts)
    if not train_texts:
        raise ValueError("dataset_from_texts needs at least one training text")
    for s in train_texts + test_texts:
        if not isinstance(s, str):
            raise ValueError(f"texts must be strings, got {s!r}")
    spec = DataSpec(corpus=f"texts:{len(train_texts)}+{len(test_texts)}", tokenizer=tokenizer,
                    length=2, n_train=len(train_texts), n_test=len(test_texts))
    tok = _make_tokenizer(spec, train_texts + test_texts, None)
    encoded = [tok.encode(s) for s in train_texts + test_texts]
    longest = max(len(ids) for ids in encoded)
    L = longest if length is None else int(length)
    if L < 2:
        raise ValueError(f"sequence length must be >= 2, got {L}")
    for s, ids in zip(train_texts + test_texts, encoded):
        if len(ids) > L:
            raise ValueError(f"text {s!r} has {len(ids)} tokens, more than length {L}")
    if tok.pad_id is None and any(len(ids) != L for ids in encoded):
        raise ValueError(f"tokenizer {tokenizer!r} has no padding token: give texts of exactly {L} tokens")
    rows = torch.tensor([ids + [tok.pad_id] * (L - len(ids)) for ids in encoded], dtype=torch.long)
    spec = replace(spec, length=L)
    n = len(train_texts)
    return Dataset(rows[:n], rows[n:].reshape(-1, L), tok, spec)


def dataset_summary(ds: Dataset) -> str:
    return json.dumps({"train": list(ds.train.shape), "test": list(ds.test.shape),
                       "vocab_size": ds.tokenizer.vocab_size})


def dataset_from_tokens(train, test=None, vocab_size: int | None = None, name: str = "tokens") -> Dataset:
    """A Dataset of ready token sequences, e.g. ±1 patterns mapped to K = 2 tokens
    (`memkit.binary.spins_to_tokens`) for the bridge experiment.

    train, test : (n, L) integer arrays of ids in [0, vocab_size) (test may be empty)
    vocab_size : K (default: the largest id + 1, at least 2); the tokenizer is K
        abstract symbols (`SymbolTokenizer`), so checkpoints record K and nothing else
    name : the corpus name recorded in the spec (the data identity adds a SHA-256)
    """
    tr = torch.as_tensor(np.asarray(train), dtype=torch.long)
    if tr.ndim != 2 or tr.shape[0] < 1 or tr.shape[1] < 2:
        raise ValueError(f"train must be a non-empty (n, L) array with L >= 2, got shape {tuple(tr.shape)}")
    te = (torch.empty((0, tr.shape[1]), dtype=torch.long) if test is None
          else torch.as_tensor(np.asarray(test), dtype=torch.long).reshape(-1, tr.shape[1]))
    top = int(max(int(tr.max()), int(te.max()) if te.numel() else 0))
    K = max(top + 1, 2) if vocab_size is None else int(vocab_size)
    lo = int(min(int(tr.min()), int(te.min()) if te.numel() else 0))
    if lo < 0 or top >= K:
        raise ValueError(f"token ids must lie in [0, {K}), got values in [{lo}, {top}]")
    spec = DataSpec(corpus=f"{name}:{tr.shape[0]}+{te.shape[0]}", tokenizer="char",
                    length=int(tr.shape[1]), n_train=int(tr.shape[0]), n_test=int(te.shape[0]))
    return Dataset(tr, te, SymbolTokenizer(K), spec)
