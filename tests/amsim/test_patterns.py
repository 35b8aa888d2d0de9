import numpy as np
import pytest

from amsim import ArchetypeModel, RandomFeaturesModel, flip_bits, random_patterns


def test_random_patterns_are_pm1_balanced_and_seeded():
    a = random_patterns(200, 300, seed=5)
    b = random_patterns(200, 300, seed=5)
    assert a.dtype == np.int8 and a.shape == (200, 300)
    assert set(np.unique(a)) == {-1, 1}
    np.testing.assert_array_equal(a, b)
    # mean of 60000 fair +-1 draws: standard error 1/sqrt(60000) ~ 0.004
    assert abs(a.mean()) < 5 / np.sqrt(a.size)
    assert not np.array_equal(a, random_patterns(200, 300, seed=6))


@pytest.mark.parametrize("k", [0, 1, 7, 50])
def test_flip_bits_flips_exactly_k_distinct_bits(k):
    x = random_patterns(40, 50, seed=1)
    y = flip_bits(x, k, seed=2)
    np.testing.assert_array_equal((x != y).sum(axis=1), k)
    assert x is not y and np.array_equal(x, random_patterns(40, 50, seed=1))  # input untouched


def test_flip_bits_positions_are_uniform():
    x = np.ones((20000, 10), dtype=np.int8)
    y = flip_bits(x, 3, seed=0)
    freq = (y == -1).mean(axis=0)
    # each position flipped with probability 3/10; binomial standard error
    se = np.sqrt(0.3 * 0.7 / 20000)
    assert np.all(np.abs(freq - 0.3) < 5 * se)


def test_flip_bits_rejects_bad_k():
    x = random_patterns(2, 10, seed=0)
    with pytest.raises(ValueError, match="k must be an integer in \\[0, 10\\]"):
        flip_bits(x, 11)
    with pytest.raises(ValueError, match="k must be"):
        flip_bits(x, -1)


def test_random_features_examples_are_signs_of_feature_mixtures():
    m = RandomFeaturesModel(100, 12, features_per_example=3, seed=3)
    ex, (idx, signs) = m.sample(50, seed=4, return_components=True)
    assert m.features_.shape == (12, 100)
    for n in range(50):
        assert len(set(idx[n])) == 3  # distinct features
        field = (signs[n][:, None] * m.features_[idx[n]]).sum(axis=0)
        np.testing.assert_array_equal(ex[n], np.sign(field))
    # an L = 3 mixture agrees with each component on 3/4 of the bits on average
    agree = np.mean([(ex[n] * signs[n][j] * m.features_[idx[n][j]]).mean() for n in range(50) for j in range(3)])
    assert abs(agree - 0.5) < 0.05  # overlap 1/2 exactly in expectation; se ~ 0.01


def test_random_features_test_examples_reuse_features():
    m = RandomFeaturesModel(64, 8, seed=0)
    a = m.sample(10, seed=1)
    b = m.sample(10, seed=2)
    assert not np.array_equal(a, b)
    np.testing.assert_array_equal(m.features_, RandomFeaturesModel(64, 8, seed=0).features_)


def test_random_features_even_L_ties_use_a_coin():
    m = RandomFeaturesModel(2000, 2, features_per_example=2, seed=0)
    ex = m.sample(1, seed=1)
    assert set(np.unique(ex)) <= {-1, 1}


def test_archetype_examples_have_expected_overlap():
    m = ArchetypeModel(500, 4, quality=0.6, seed=0)
    ex, lab = m.sample(50, seed=1, return_labels=True)
    assert ex.shape == (200, 500)
    ov = (ex * m.archetypes_[lab]).mean(axis=1)
    # each bit agrees with prob 0.8: overlap mean 0.6, se of the mean sqrt(0.64/ (200*500))
    assert abs(ov.mean() - 0.6) < 5 * np.sqrt(1 - 0.36) / np.sqrt(ex.size)


def test_data_model_bad_values():
    with pytest.raises(ValueError, match="n_neurons"):
        RandomFeaturesModel(-5, 3)
    with pytest.raises(ValueError, match="must not exceed n_features"):
        RandomFeaturesModel(10, 2, features_per_example=3)
    with pytest.raises(ValueError, match="quality"):
        ArchetypeModel(10, 2, quality=1.5)


def test_random_features_enumeration_and_unseen_examples():
    from amsim import unseen
    model = RandomFeaturesModel(80, 6, features_per_example=3, seed=0)
    every = model.all_examples()
    assert every.shape == (model.n_possible, 80) == (80, 80)
    canon = every * np.where(every[:, :1] < 0, -1, 1)
    assert len(np.unique(canon, axis=0)) == len(every)          # all distinct up to sign
    drawn = model.sample(200, seed=1)
    best = np.abs(drawn.astype(float) @ every.T.astype(float)).max(axis=1)
    assert np.all(best == 80)                                   # every draw is one of them
    train = drawn[:30]
    fresh = unseen(drawn[30:], train)
    assert len(fresh) > 0
    assert np.abs(fresh.astype(float) @ train.T.astype(float)).max() < 80
    assert np.abs(fresh.astype(float) @ fresh.T.astype(float) - 80 * np.eye(len(fresh))).max() < 80
    with pytest.raises(ValueError, match="odd"):
        RandomFeaturesModel(40, 6, features_per_example=2, seed=0).all_examples()
    with pytest.raises(ValueError, match="max_examples"):
        model.all_examples(max_examples=10)
    with pytest.raises(ValueError, match="neurons"):
        unseen(drawn[:, :40], train)
    assert len(unseen(np.concatenate([every, -every[:5], every[:3]]))) == len(every)
