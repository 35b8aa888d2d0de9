"""Offline data: tokenizers, corpora, nested subsets, the Markov source and its Bayes denoiser."""
import itertools
import math

import numpy as np
import pytest
import torch

from uddm.data import (ByteTokenizer, CharTokenizer, DataSpec, MarkovSource, SymbolTokenizer,
                       build_dataset, pydoc_text, split_sentences, tokenizer_from_dict)


def test_char_and_byte_tokenizers_roundtrip():
    tok = CharTokenizer.from_texts(["hello world", "héllo!"])
    assert tok.pad_id == 0 and tok.vocab_size == len(set("hello worldhéllo!")) + 1
    assert tok.decode(tok.encode("hé world")) == "hé world"
    assert tokenizer_from_dict(tok.to_dict()).encode("hello") == tok.encode("hello")
    with pytest.raises(ValueError, match="'Z' is not in the tokenizer"):
        tok.encode("Zebra")
    b = ByteTokenizer()
    assert b.decode(b.encode("héllo")) == "héllo" and b.vocab_size == 257
    s = SymbolTokenizer(10)
    assert s.encode(s.decode([3, 9, 0])) == [3, 9, 0]
    with pytest.raises(ValueError, match="s12 is outside"):
        s.encode("s1 s12")


def test_bpe_needs_optional_package_or_loads(tmp_path):
    try:
        import tokenizers  # noqa: F401
    except ImportError:
        with pytest.raises(ValueError, match="optional 'tokenizers' package"):
            tokenizer_from_dict({"kind": "bpe", "json": "{}"})
    else:  # with the optional package: a word-level tokenizer.json written here
        from tokenizers import Tokenizer, models, pre_tokenizers
        vocab = {"[PAD]": 0, "[UNK]": 1, "the": 2, "cat": 3, "sat": 4}
        t = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
        t.pre_tokenizer = pre_tokenizers.Whitespace()
        path = tmp_path / "tokenizer.json"
        t.save(str(path))
        tok = tokenizer_from_dict({"kind": "bpe", "json": path.read_text()})
        assert tok.vocab_size == 5 and tok.pad_id == 0
        assert tok.encode("the cat sat") == [2, 3, 4]


def test_markov_source_structure_and_entropy_rate():
    src = MarkovSource(128, 4, seed=0)
    assert np.allclose(src.P.sum(1), 1) and ((src.P > 0).sum(1) == 4).all()
    assert np.allclose(src.pi @ src.P, src.pi) and abs(src.pi.sum() - 1) < 1e-12
    assert abs(src.entropy_rate - math.log(4)) < 1e-12
    x = src.sample(2000, 16, seed=1)
    assert (src.P[x[:, :-1], x[:, 1:]] > 0).all()        # only allowed transitions
    # empirical per-symbol transition entropy close to log 4 (sampling error ~ 1e-2)
    counts = np.zeros((128, 128))
    np.add.at(counts, (x[:, :-1].ravel(), x[:, 1:].ravel()), 1)
    p = counts / counts.sum(1, keepdims=True)
    h = -(np.where(p > 0, p * np.log(np.where(p > 0, p, 1)), 0)).sum(1)
    w = counts.sum(1) / counts.sum()
    assert abs(w @ h - math.log(4)) < 0.05          # plug-in bias ~ 3/(2 * 234) nats
    assert (src.sample(3, 8, seed=5) == src.sample(3, 8, seed=5)).all()


def test_markov_bayes_posterior_equals_enumeration():
    src = MarkovSource(4, 2, seed=3)
    L, alpha = 4, 0.4
    K = 4
    z = np.array([[0, 3, 3, 1]])
    post = src.bayes_posterior(z, alpha)[0]
    brute = np.zeros((L, K))
    for seq in itertools.product(range(K), repeat=L):
        p = src.pi[seq[0]] * np.prod([src.P[seq[i], seq[i + 1]] for i in range(L - 1)])
        lik = np.prod([alpha * (seq[i] == z[0, i]) + (1 - alpha) / K for i in range(L)])
        for i in range(L):
            brute[i, seq[i]] += p * lik
    brute /= brute.sum(1, keepdims=True)
    np.testing.assert_allclose(post, brute, atol=1e-12)


def test_markov_bayes_denoiser_beats_copying():
    src = MarkovSource(128, 4, seed=0)
    x = src.sample(400, 32, seed=2)
    from uddm.diffusion import forward_corrupt
    alpha = 0.9
    z = forward_corrupt(torch.from_numpy(x), alpha, 128, torch.Generator().manual_seed(0)).numpy()
    xb = src.bayes_denoise(z, alpha)
    changed = z != x
    rec = (xb[changed] == x[changed]).mean()
    assert rec > 0.5                       # copying z recovers 0 of the changed tokens
    assert (xb[~changed] == x[~changed]).mean() > 0.9


def test_pydoc_corpus_is_offline_english():
    paras = pydoc_text()
    text = " ".join(paras)
    assert len(text) > 100_000
    sents = split_sentences(paras)
    assert len(sents) > 1000
    assert "the" in text.split()


def test_nested_subsets_and_disjoint_test():
    base = dict(corpus="markov", length=16, n_test=50, split_seed=4, markov_pool=2000)
    small = build_dataset(DataSpec(n_train=10, **base))
    big = build_dataset(DataSpec(n_train=100, **base))
    frac = build_dataset(DataSpec(fraction=0.5, **base))
    assert torch.equal(small.train, big.train[:10])
    assert torch.equal(big.train, frac.train[:100]) and frac.train.shape[0] == 975
    assert torch.equal(small.test, big.test)
    tr = {tuple(r) for r in frac.train.tolist()}
    assert not any(tuple(r) in tr for r in frac.test.tolist())
    assert small.identity()["sha256"] != big.identity()["sha256"]
    assert small.identity() == build_dataset(DataSpec(n_train=10, **base)).identity()


@pytest.mark.parametrize("bad,msg", [
    (dict(fraction=0.0), "fraction must be in \\(0, 1\\], got 0.0"),
    (dict(fraction=1.5), "fraction must be in \\(0, 1\\], got 1.5"),
    (dict(n_train=10**9), "exceeds"),
    (dict(n_test=10**9), "leaves no training data"),
    (dict(corpus="nope"), "unknown corpus 'nope'"),
    (dict(corpus="text:/no/such/file.txt"), "does not exist"),
    (dict(tokenizer="wordpiece", corpus="pydoc"), "unknown tokenizer 'wordpiece'"),
])
def test_bad_data_specs(bad, msg):
    spec = dict(corpus="markov", length=16, n_test=10, markov_pool=100)
    spec.update(bad)
    with pytest.raises((ValueError, FileNotFoundError), match=msg):
        build_dataset(DataSpec(**spec))


def test_text_file_sentences_and_blocks(tmp_path):
    d = tmp_path / "corpus"
    d.mkdir()
    (d / "a.txt").write_text("The cat sat. The dog ran! Is it so?\n\nA new paragraph here.")
    (d / "b.txt").write_text("Another file with words. " * 20)
    sent = build_dataset(DataSpec(corpus=f"text:{d}", split="sentences", length=24, n_test=2))
    rows = sent.train.tolist() + sent.test.tolist()
    texts = {sent.tokenizer.decode(r) for r in rows}
    assert "The cat sat." in texts and "Is it so?" in texts
    assert all(len(t) <= 24 for t in texts)
    blocks = build_dataset(DataSpec(corpus=f"text:{d}", split="blocks", length=16, n_test=2))
    assert blocks.train.shape[1] == 16 and (blocks.train != blocks.tokenizer.pad_id).all()
    (tmp_path / "empty.txt").write_text("  \n\n ")
    with pytest.raises(ValueError, match="is empty"):
        build_dataset(DataSpec(corpus=f"text:{tmp_path / 'empty.txt'}", length=16, n_test=0))


def test_hf_corpus_needs_optional_package(tmp_path):
    try:
        import datasets  # noqa: F401
        have = True
    except ImportError:
        have = False
    if not have:
        with pytest.raises(ValueError, match="optional 'datasets' package"):
            build_dataset(DataSpec(corpus=f"hf:{tmp_path}", length=16, n_test=0))
    else:
        import datasets
        datasets.Dataset.from_dict({"text": ["a b c. d e f."] * 20}).save_to_disk(tmp_path / "ds")
        ds = build_dataset(DataSpec(corpus=f"hf:{tmp_path / 'ds'}", length=8, n_test=2))
        assert ds.train.shape[1] == 8


def test_checkpoint_tokenizer_from_another_vocabulary(tmp_path):
    f = tmp_path / "t.txt"
    f.write_text("abc abc abc abc abc abc abc abc")
    tok = CharTokenizer("xyz ").to_dict()
    with pytest.raises(ValueError, match="'a' is not in the tokenizer"):
        build_dataset(DataSpec(corpus=f"text:{f}", length=4, n_test=1), tokenizer_dict=tok)


def test_dataset_from_texts_pads_each_text_to_one_sequence():
    from uddm.data import dataset_from_texts
    ds = dataset_from_texts(["abc", "ab"], ["ca"], length=4)
    assert ds.train.shape == (2, 4) and ds.test.shape == (1, 4)
    tok = ds.tokenizer
    assert tok.decode(ds.train[1].tolist()) == "ab" and ds.train[1, 2:].tolist() == [tok.pad_id] * 2
    assert dataset_from_texts(["abcde", "a"]).train.shape == (2, 5)
    with pytest.raises(ValueError, match="'abcde'"):
        dataset_from_texts(["abcde"], length=3)
    with pytest.raises(ValueError, match="at least one"):
        dataset_from_texts([])


def test_train_accepts_a_ready_dataset(tmp_path):
    from uddm.data import dataset_from_texts
    from uddm.train import TrainConfig, train
    ds = dataset_from_texts(["abcabc", "bcabca"], ["cabcab"])
    cfg = TrainConfig(model="cpu-xxs", length=6, steps=3, batch_size=4, warmup=1,
                      progress=False, device="cpu", dropout=0.0)
    res = train(cfg, ds)
    assert res.model.config.vocab_size == ds.tokenizer.vocab_size
    assert res.model.config.prediction == "nelbo"
