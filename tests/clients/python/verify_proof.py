#!/usr/bin/env python3
"""An independent verifier of corridor consignment proofs, written from proto/LEDGER.md alone.

A consignment proof (``corridor.v1.ConsignmentProof``, ``proto/corridor/v1/proof.proto``, in
the proto3 JSON mapping) holds, for each customs node of the route and for the AEO registry,
one checkpoint of that service's ledger and the entries about the consignment, each with its
RFC 9162 inclusion proof. This script checks such a file against a topology's public keys with
no ledger and no network, following steps 1 to 4 of proto/LEDGER.md, "Consignment proofs":

1. ``format`` is ``corridor-consignment-proof/v1`` (otherwise the file is not a proof: exit 2)
   and ``corridor`` is the topology's ``name``.
2. ``nodes[i].origin`` is ``<name>/customs/<CC>`` of the route's i-th country (the
   topology's countries, in order) and ``registry.origin`` is ``<name>/aeo-registry``.
3. Each excerpt's checkpoint is a C2SP signed note (LEDGER.md, "Checkpoints") whose body is
   the origin, the size, the base64 Merkle root and a ``corridor-head <hex>`` line; it must
   carry a valid Ed25519 signature by that service's key under the origin's name, and, when
   the topology's ``[witnessing]`` is enabled (the default), valid C2SP ``cosignature/v1``
   lines (LEDGER.md, "Witnessing") of at least the quorum of that ledger's witnesses.
4. Each entry's hash is recomputed from its fields (LEDGER.md, "Entries") and compared with
   its ``hash``; ``seq`` rises strictly; a node's entries have the consignment id (lowercase
   hex) as subject; each inclusion proof verifies the entry's leaf hash at index ``seq``
   under the checkpoint's size and root (RFC 9162 section 2.1.3.2, LEDGER.md "Proofs").
   Beside step 4, two consequences of the hash chain the spec states ("Entries",
   "Checkpoints") are checked: an entry right after another names its hash as ``prev_hash``
   (32 zero bytes at seq 0), and an entry at ``size - 1`` has the checkpoint's head hash.

Steps 5 and 6 (replaying the registry's rules and tracing the node entries) are not done.

Usage::

    python3 verify_proof.py PROOF.json TOPOLOGY.toml

Output: one line per finding, each naming the excerpt (``KZ: ...`` for KZ's checkpoint,
``KZ #14: ...`` for KZ's entry 14, ``registry #3: ...``, ``proof: ...`` for the file as a
whole), then ``valid: N excerpts, M entries`` (exit 0) or ``findings: K`` (exit 1). A file that
is not a proof (not JSON, another format, fields of the wrong type) or an unusable topology:
one line on stderr, exit 2.

Needs Python 3.11 (``tomllib``) and the ``cryptography`` package (Ed25519), nothing else.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import struct
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

FORMAT = "corridor-consignment-proof/v1"
# LEDGER.md, "Consignment proofs": `proof verify` refuses a file over 64 MiB.
MAX_FILE_BYTES = 64 << 20
# LEDGER.md, "Entries": the domain tag of an entry hash.
ENTRY_DOMAIN = b"corridor/ledger/entry/v1\n"
# C2SP signed-note: a signature line starts with an em dash (U+2014) and a space.
SIG_PREFIX = "\u2014 "
# C2SP signed-note key types: 0x01 is Ed25519 (the log's key), 0x04 cosignature/v1.
KEY_TYPE_ED25519 = b"\x01"
KEY_TYPE_COSIGNATURE_V1 = b"\x04"
ZERO_HASH = bytes(32)


class Malformed(Exception):
    """The input is not a proof (or the topology is unusable): exit 2."""


# ---- Ed25519, strict ------------------------------------------------------------------
#
# proto/SIGNING.md, section 1: verification is strict (ed25519-dalek's verify_strict): S below
# the group order L, R a point and neither R nor the public key of small order, the
# cofactorless equation. OpenSSL (under `cryptography`) checks S < L and compares the R it
# recomputes byte for byte (cofactorless); the small-order checks of R and A are done here,
# with plain edwards25519 arithmetic (RFC 8032 section 5.1).

_P = 2**255 - 19
_L = 2**252 + 27742317777372353535851937790883648493
_D = -121665 * pow(121666, _P - 2, _P) % _P
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)


def _decode_point(b: bytes) -> tuple[int, int] | None:
    """RFC 8032 5.1.3: the point a 32-byte encoding names, or None (including y >= p)."""
    if len(b) != 32:
        return None
    y = int.from_bytes(b, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    if y >= _P:
        return None
    u = (y * y - 1) % _P
    v = (_D * y * y + 1) % _P
    x2 = u * pow(v, _P - 2, _P) % _P
    if x2 == 0:
        if sign:
            return None
        return (0, y)
    x = pow(x2, (_P + 3) // 8, _P)
    if (x * x - x2) % _P:
        x = x * _SQRT_M1 % _P
    if (x * x - x2) % _P:
        return None
    if x & 1 != sign:
        x = _P - x
    return (x, y)


def _point_double(pt: tuple[int, int]) -> tuple[int, int]:
    """Affine doubling on -x^2 + y^2 = 1 + d x^2 y^2 (the complete addition law)."""
    x, y = pt
    t = _D * x * x * y * y % _P
    x3 = 2 * x * y * pow(1 + t, _P - 2, _P) % _P
    y3 = (y * y + x * x) * pow(1 - t, _P - 2, _P) % _P
    return (x3, y3)


def _is_small_order(pt: tuple[int, int]) -> bool:
    """True when [8]pt is the identity (0, 1): pt is one of the 8 torsion points."""
    for _ in range(3):
        pt = _point_double(pt)
    return pt == (0, 1)


def check_public_key(raw: bytes) -> str | None:
    """Why a raw Ed25519 public key is refused (SIGNING.md, section 1), or None."""
    if len(raw) != 32:
        return f"{len(raw)} bytes, not 32"
    pt = _decode_point(raw)
    if pt is None:
        return "not the canonical encoding of an ed25519 public key"
    if _is_small_order(pt):
        return "a weak ed25519 public key (a point of small order)"
    return None


def ed25519_verify_strict(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """Strict Ed25519 verification of `signature` over `message` (public key already checked)."""
    if len(signature) != 64:
        return False
    r = _decode_point(signature[:32])
    if r is None or _is_small_order(r):
        return False
    if int.from_bytes(signature[32:], "little") >= _L:
        return False
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except InvalidSignature:
        return False
    return True


# ---- the topology ---------------------------------------------------------------------


@dataclass
class Country:
    code: str
    node_key: bytes | None  # the customs node's public key (signs the node's checkpoints)
    witness_key: bytes | None  # the key of the witness `<name>/witness/<code>`


@dataclass
class Topology:
    name: str
    countries: list[Country]  # in route order
    registry_key: bytes | None
    witnessing: bool
    quorum: int | None  # None: a majority of each ledger's witnesses


def load_public_key_file(path: Path, what: str) -> bytes:
    """A public key file: SubjectPublicKeyInfo PEM (RFC 8410) or 64 hex digits (SIGNING.md 1)."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise Malformed(f"topology: {what}: cannot read {path}: {e.strerror or e}") from None
    text = data.decode("ascii", errors="replace").strip()
    if text.startswith("-----BEGIN"):
        try:
            key = serialization.load_pem_public_key(data)
        except (ValueError, UnsupportedAlgorithm) as e:
            raise Malformed(f"topology: {what}: {path} is not a public key: {e}") from None
        if not isinstance(key, Ed25519PublicKey):
            raise Malformed(f"topology: {what}: {path} is not an ed25519 public key")
        raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    elif re.fullmatch(r"[0-9a-fA-F]{64}", text):
        raw = bytes.fromhex(text)
    else:
        raise Malformed(f"topology: {what}: {path} is neither a PEM public key nor 64 hex digits")
    why = check_public_key(raw)
    if why:
        raise Malformed(f"topology: {what}: {path}: {why}")
    return raw


def _key_of(table: object, base: Path, what: str) -> bytes | None:
    """The public key a topology key table names (`{ public = "path", private = ... }`).

    Paths are relative to the topology file's directory. A missing table is None: the key
    is then unknown and whatever it should have signed does not verify.
    """
    if table is None:
        return None
    if isinstance(table, str):  # a bare path, tolerated
        rel = table
    elif isinstance(table, dict) and isinstance(table.get("public"), str):
        rel = table["public"]
    else:
        raise Malformed(f"topology: {what}: expected a table with a `public` key file")
    path = Path(rel)
    if not path.is_absolute():
        path = base / path
    return load_public_key_file(path, what)


def load_topology(path: Path) -> Topology:
    try:
        t = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise Malformed(f"topology: cannot read {path}: {e.strerror or e}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise Malformed(f"topology: {path} is not TOML: {e}") from None
    base = path.parent
    name = t.get("name")
    if not isinstance(name, str) or not name:
        raise Malformed("topology: no `name`")
    raw_countries = t.get("countries")
    if not isinstance(raw_countries, list) or not raw_countries:
        raise Malformed("topology: no [[countries]]")
    countries = []
    for i, c in enumerate(raw_countries):
        if not isinstance(c, dict) or not isinstance(c.get("code"), str):
            raise Malformed(f"topology: countries[{i}] has no `code`")
        node = c.get("node")
        node_key = _key_of(node.get("key") if isinstance(node, dict) else None, base,
                           f"countries[{i}].node.key")
        witness_key = _key_of(c.get("witness_key"), base, f"countries[{i}].witness_key")
        countries.append(Country(c["code"], node_key, witness_key))
    registry = t.get("registry")
    registry_key = _key_of(registry.get("key") if isinstance(registry, dict) else None, base,
                           "registry.key")
    w = t.get("witnessing", {})
    if not isinstance(w, dict):
        raise Malformed("topology: [witnessing] is not a table")
    enabled = w.get("enabled", True)
    if not isinstance(enabled, bool):
        raise Malformed("topology: [witnessing].enabled is not a boolean")
    quorum = w.get("quorum")
    if quorum is not None:
        # LEDGER.md: "one figure for every ledger: at most the number of countries less one".
        if not isinstance(quorum, int) or isinstance(quorum, bool) or not (
            1 <= quorum <= len(countries) - 1
        ):
            raise Malformed(
                f"topology: [witnessing].quorum {quorum!r} is not between 1 and "
                f"{len(countries) - 1} (the number of countries less one)"
            )
    return Topology(name, countries, registry_key, enabled, quorum)


# ---- the proof file (proto3 JSON mapping) -----------------------------------------------
#
# proto3 JSON: a parser accepts the lowerCamelCase name and the proto field name; `bytes` is
# base64 (standard or URL-safe, padded or not); 64-bit integers are decimal strings (numbers
# are accepted too); a field at its default value may be left out, and `null` is the default.


@dataclass
class Entry:
    seq: int
    prev_hash: bytes
    time_unix_micros: int
    kind: str
    subject: str
    envelope: bytes
    hash: bytes
    inclusion_proof: list[bytes]


@dataclass
class Excerpt:
    origin: str
    checkpoint: str
    entries: list[Entry] = field(default_factory=list)


@dataclass
class Proof:
    corridor: str
    consignment_id: bytes
    nodes: list[Excerpt]
    registry: Excerpt | None


def _get(obj: dict, camel: str, snake: str, where: str):
    """A field by either of its proto3 JSON names (None when absent or null)."""
    if camel in obj and snake in obj and camel != snake:
        raise Malformed(f"{where}: both `{camel}` and `{snake}`")
    return obj.get(camel, obj.get(snake))


def _string(obj: dict, camel: str, snake: str, where: str) -> str:
    v = _get(obj, camel, snake, where)
    if v is None:
        return ""
    if not isinstance(v, str):
        raise Malformed(f"{where}.{camel}: not a string")
    return v


def _bytes(obj: dict, camel: str, snake: str, where: str) -> bytes:
    v = _get(obj, camel, snake, where)
    if v is None:
        return b""
    return _b64_json(v, f"{where}.{camel}")


def _b64_json(v: object, where: str) -> bytes:
    if not isinstance(v, str):
        raise Malformed(f"{where}: not a base64 string")
    s = v.replace("-", "+").replace("_", "/").rstrip("=")
    try:
        return base64.b64decode(s + "=" * (-len(s) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise Malformed(f"{where}: not base64") from None


def _int(obj: dict, camel: str, snake: str, where: str, lo: int, hi: int) -> int:
    v = _get(obj, camel, snake, where)
    if v is None:
        return 0
    if isinstance(v, bool):
        raise Malformed(f"{where}.{camel}: not an integer")
    if isinstance(v, str):
        if not re.fullmatch(r"-?[0-9]+", v):
            raise Malformed(f"{where}.{camel}: {v!r} is not a decimal integer")
        n = int(v)
    elif isinstance(v, int):
        n = v
    elif isinstance(v, float) and v.is_integer():
        n = int(v)
    else:
        raise Malformed(f"{where}.{camel}: not an integer")
    if not lo <= n <= hi:
        raise Malformed(f"{where}.{camel}: {n} is out of range")
    return n


def _object(v: object, where: str) -> dict:
    if not isinstance(v, dict):
        raise Malformed(f"{where}: not an object")
    return v


def _list(v: object, where: str) -> list:
    if v is None:
        return []
    if not isinstance(v, list):
        raise Malformed(f"{where}: not a list")
    return v


U64 = (0, 2**64 - 1)
I64 = (-(2**63), 2**63 - 1)


def parse_excerpt(obj: object, where: str) -> Excerpt:
    obj = _object(obj, where)
    ex = Excerpt(_string(obj, "origin", "origin", where),
                 _string(obj, "checkpoint", "checkpoint", where))
    for k, pe in enumerate(_list(obj.get("entries"), f"{where}.entries")):
        w = f"{where}.entries[{k}]"
        pe = _object(pe, w)
        e = _get(pe, "entry", "entry", w)
        e = {} if e is None else _object(e, f"{w}.entry")
        we = f"{w}.entry"
        proof = [_b64_json(h, f"{w}.inclusionProof[{j}]") for j, h in enumerate(
            _list(_get(pe, "inclusionProof", "inclusion_proof", w), f"{w}.inclusionProof"))]
        ex.entries.append(Entry(
            seq=_int(e, "seq", "seq", we, *U64),
            prev_hash=_bytes(e, "prevHash", "prev_hash", we),
            time_unix_micros=_int(e, "timeUnixMicros", "time_unix_micros", we, *I64),
            kind=_string(e, "kind", "kind", we),
            subject=_string(e, "subject", "subject", we),
            envelope=_bytes(e, "envelope", "envelope", we),
            hash=_bytes(e, "hash", "hash", we),
            inclusion_proof=proof,
        ))
    return ex


def load_proof(path: Path) -> Proof:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise Malformed(f"{path}: {size} bytes, over the 64 MiB a proof may have")
        data = path.read_bytes()
    except OSError as e:
        raise Malformed(f"{path}: cannot read: {e.strerror or e}") from None
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise Malformed(f"{path}: not a JSON proof: {e}") from None
    doc = _object(doc, "proof")
    fmt = _string(doc, "format", "format", "proof")
    if fmt != FORMAT:
        raise Malformed(f"{path}: format {fmt!r} is not {FORMAT!r}: not a consignment proof")
    nodes = [parse_excerpt(x, f"nodes[{i}]")
             for i, x in enumerate(_list(doc.get("nodes"), "nodes"))]
    reg = doc.get("registry")
    return Proof(
        corridor=_string(doc, "corridor", "corridor", "proof"),
        consignment_id=_bytes(doc, "consignmentId", "consignment_id", "proof"),
        nodes=nodes,
        registry=None if reg is None else parse_excerpt(reg, "registry"),
    )


# ---- checkpoints (C2SP signed note) ---------------------------------------------------


@dataclass
class Checkpoint:
    body: bytes  # the body lines, each with its "\n": what the signatures cover
    origin: str
    size: int
    root: bytes
    head: bytes
    signatures: list[tuple[str, bytes]]  # (key name, decoded base64) per signature line


def parse_checkpoint(note: str) -> Checkpoint:
    """Parses a checkpoint note (LEDGER.md, "Checkpoints"); ValueError says what is wrong.

    The note is the body (origin, size, base64 root, `corridor-head <hex>`, each line ending
    in "\\n"), an empty line, then one or more signature lines `— <name> <base64>`, each
    ending in "\\n".
    """
    if not note:
        raise ValueError("no checkpoint")
    if not note.endswith("\n"):
        raise ValueError("the note does not end with a newline")
    split = note.find("\n\n")
    if split < 0:
        raise ValueError("the note has no blank line before its signatures")
    body_text, sig_text = note[: split + 1], note[split + 2:]
    lines = body_text.split("\n")[:-1]
    if len(lines) != 4:
        raise ValueError(f"the body has {len(lines)} lines, not 4 (origin, size, root, "
                         "corridor-head)")
    origin, size_s, root_s, head_s = lines
    if not origin:
        raise ValueError("empty origin line")
    if not re.fullmatch(r"0|[1-9][0-9]*", size_s) or int(size_s) >= 2**64:
        raise ValueError(f"size line {size_s!r} is not a decimal number")
    try:
        root = base64.b64decode(root_s, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"root line {root_s!r} is not base64") from None
    if len(root) != 32:
        raise ValueError(f"the root is {len(root)} bytes, not 32")
    m = re.fullmatch(r"corridor-head ([0-9a-f]{64})", head_s)
    if not m:
        raise ValueError(f"4th body line {head_s!r} is not `corridor-head <64 hex digits>`")
    sigs = []
    sig_lines = sig_text.split("\n")[:-1]
    if not sig_lines:
        raise ValueError("the note has no signature line")
    for line in sig_lines:
        parts = line[len(SIG_PREFIX):].split(" ") if line.startswith(SIG_PREFIX) else []
        if len(parts) != 2 or not parts[0]:
            raise ValueError(f"{line!r} is not a signature line `— <name> <base64>`")
        try:
            sigs.append((parts[0], base64.b64decode(parts[1], validate=True)))
        except (binascii.Error, ValueError):
            raise ValueError(f"the signature of {parts[0]} is not base64") from None
    return Checkpoint(body_text.encode("utf-8"), origin, int(size_s), root,
                      bytes.fromhex(m.group(1)), sigs)


def note_key_hash(name: str, key_type: bytes, public_key: bytes) -> bytes:
    """C2SP signed-note key hash / cosignature key id: SHA-256(name "\\n" type key)[0:4]."""
    return hashlib.sha256(name.encode("utf-8") + b"\n" + key_type + public_key).digest()[:4]


def check_log_signature(cp: Checkpoint, origin: str, public_key: bytes | None) -> str | None:
    """Why the service's own signature (key name = origin, Ed25519) is missing or bad."""
    if public_key is None:
        return f"the topology lists no key for {origin}"
    want = note_key_hash(origin, KEY_TYPE_ED25519, public_key)
    mine = [sig for name, sig in cp.signatures
            if name == origin and len(sig) == 68 and sig[:4] == want]
    if not mine:
        return f"no signature by the key of {origin}"
    if not any(ed25519_verify_strict(public_key, cp.body, sig[4:]) for sig in mine):
        return f"the signature of {origin} does not verify"
    return None


def count_cosignatures(cp: Checkpoint, witnesses: list[tuple[str, bytes | None]]):
    """The witnesses with a valid cosignature/v1 line, and why each other one has none.

    A line is `— <witness name> base64(key id[4] || timestamp u64be[8] || signature[64])`;
    the signature is over "cosignature/v1\\ntime <timestamp>\\n" || body (LEDGER.md,
    "Witnessing"). Lines of names that are not this ledger's witnesses are ignored, as
    signed-note verifiers ignore unknown keys.
    """
    good, why = [], []
    for name, key in witnesses:
        lines = [sig for n, sig in cp.signatures if n == name]
        if key is None:
            why.append(f"{name}: no key in the topology")
            continue
        if not lines:
            why.append(f"{name}: no cosignature")
            continue
        want = note_key_hash(name, KEY_TYPE_COSIGNATURE_V1, key)
        ok, reason = False, "not by its key"
        for sig in lines:
            if len(sig) != 76:
                reason = f"{len(sig)} bytes, not 76"
                continue
            if sig[:4] != want:
                continue
            (ts,) = struct.unpack(">Q", sig[4:12])
            msg = b"cosignature/v1\ntime %d\n" % ts + cp.body
            if ed25519_verify_strict(key, msg, sig[12:]):
                ok = True
                break
            reason = "does not verify"
        if ok:
            good.append(name)
        else:
            why.append(f"{name}: {reason}")
    return good, why


# ---- entries and inclusion proofs -----------------------------------------------------


def entry_hash(e: Entry) -> bytes:
    """LEDGER.md, "Entries": SHA-256(tag || record); ValueError when a field cannot be encoded.

    record = u64be(seq) || prev_hash[32] || i64be(time_unix_micros)
          || u8(len(kind)) || kind || u16be(len(subject)) || subject
          || u32be(len(envelope)) || envelope
    """
    kind, subject = e.kind.encode("utf-8"), e.subject.encode("utf-8")
    if len(e.prev_hash) != 32:
        raise ValueError(f"prev_hash is {len(e.prev_hash)} bytes, not 32")
    if not 1 <= len(kind) <= 255:
        raise ValueError(f"kind is {len(kind)} bytes, not 1 to 255")
    if len(subject) > 65535:
        raise ValueError(f"subject is {len(subject)} bytes, over 65535")
    if len(e.envelope) > 2**32 - 1:
        raise ValueError("envelope over 2^32 - 1 bytes")
    record = (
        struct.pack(">Q", e.seq) + e.prev_hash + struct.pack(">q", e.time_unix_micros)
        + struct.pack(">B", len(kind)) + kind
        + struct.pack(">H", len(subject)) + subject
        + struct.pack(">I", len(e.envelope)) + e.envelope
    )
    return hashlib.sha256(ENTRY_DOMAIN + record).digest()


def leaf_hash(entry_hash_: bytes) -> bytes:
    """LEDGER.md, "Merkle tree": a leaf is SHA-256(0x00 || entry hash)."""
    return hashlib.sha256(b"\x00" + entry_hash_).digest()


def verify_inclusion(leaf_index: int, tree_size: int, leaf: bytes,
                     path: list[bytes], root: bytes) -> str | None:
    """RFC 9162 section 2.1.3.2 with RFC 6962's hasher; why the proof fails, or None."""
    if leaf_index >= tree_size:
        return f"seq {leaf_index} is not below the checkpoint's size {tree_size}"
    for j, p in enumerate(path):
        if len(p) != 32:
            return f"inclusion proof hash {j} is {len(p)} bytes, not 32"
    fn, sn = leaf_index, tree_size - 1
    r = leaf
    for p in path:
        if sn == 0:
            return f"the inclusion proof has {len(path)} hashes, too many for the tree"
        if fn & 1 or fn == sn:
            r = hashlib.sha256(b"\x01" + p + r).digest()
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = hashlib.sha256(b"\x01" + r + p).digest()
        fn >>= 1
        sn >>= 1
    if sn != 0:
        return f"the inclusion proof has {len(path)} hashes, too few for the tree"
    if r != root:
        return "the inclusion proof does not verify under the checkpoint's root"
    return None


# ---- the checks -----------------------------------------------------------------------


class Verifier:
    def __init__(self, proof: Proof, topo: Topology):
        self.proof, self.topo = proof, topo
        self.findings: list[str] = []
        self.entries = 0

    def finding(self, label: str, what: str) -> None:
        self.findings.append(f"{label}: {what}")
        print(f"{label}: {what}", flush=True)

    def run(self) -> int:
        p, t = self.proof, self.topo
        # Step 1: the corridor.
        if p.corridor != t.name:
            self.finding("proof", f"corridor {p.corridor!r} is not the topology's {t.name!r}")
        if len(p.consignment_id) != 32:
            self.finding("proof", f"the consignment id is {len(p.consignment_id)} bytes, not 32")
        cid_hex = p.consignment_id.hex()
        # Steps 2-4, node by node in route order, then the registry.
        if len(p.nodes) > len(t.countries):
            self.finding("proof", f"{len(p.nodes)} node excerpts for a route of "
                         f"{len(t.countries)} countries")
        for i, ex in enumerate(p.nodes):
            if i < len(t.countries):
                c = t.countries[i]
                witnesses = [(f"{t.name}/witness/{o.code}", o.witness_key)
                             for o in t.countries if o.code != c.code]
                self.excerpt(ex, c.code, f"{t.name}/customs/{c.code}", c.node_key,
                             witnesses, cid_hex)
            else:
                self.excerpt(ex, f"nodes[{i}]", None, None, [], cid_hex)
        if p.registry is None:
            self.finding("registry", "the proof has no registry excerpt")
        else:
            witnesses = [(f"{t.name}/witness/{o.code}", o.witness_key) for o in t.countries]
            self.excerpt(p.registry, "registry", f"{t.name}/aeo-registry", t.registry_key,
                         witnesses, None)
        excerpts = len(p.nodes) + (p.registry is not None)
        if self.findings:
            print(f"findings: {len(self.findings)}")
            return 1
        print(f"valid: {excerpts} excerpts, {self.entries} entries")
        return 0

    def excerpt(self, ex: Excerpt, label: str, origin: str | None, key: bytes | None,
                witnesses: list[tuple[str, bytes | None]], subject: str | None) -> None:
        """Steps 2-4 for one excerpt; `subject` is the consignment id (hex) for a node's."""
        # Step 2: the origin is the ledger of its place.
        if origin is None:
            self.finding(label, f"origin {ex.origin!r}: no country of the route at this place")
        elif ex.origin != origin:
            self.finding(label, f"origin {ex.origin!r} is not {origin!r}")
        # Step 3: the checkpoint, its signature and its witnesses' cosignatures.
        cp = None
        try:
            cp = parse_checkpoint(ex.checkpoint)
        except ValueError as e:
            self.finding(label, f"checkpoint: {e}")
        if cp is not None and origin is not None:
            if cp.origin != origin:
                self.finding(label, f"the checkpoint's origin {cp.origin!r} is not {origin!r}")
            why = check_log_signature(cp, origin, key)
            if why:
                self.finding(label, f"checkpoint: {why}")
                cp = None  # nothing is proven under an unsigned checkpoint
            elif self.topo.witnessing:
                quorum = self.topo.quorum or len(witnesses) // 2 + 1
                good, missing = count_cosignatures(cp, witnesses)
                if len(good) < quorum:
                    self.finding(label, f"checkpoint not witnessed by quorum: {len(good)} valid "
                                 f"cosignatures of {len(witnesses)} witnesses, quorum {quorum} "
                                 f"({'; '.join(missing)})")
        elif cp is not None:
            cp = None  # no key to check it with
        # Step 4: the entries.
        prev: Entry | None = None
        prev_recomputed: bytes | None = None  # the previous entry's hash from its fields
        for e in ex.entries:
            self.entries += 1
            el = f"{label} #{e.seq}"
            h = None
            try:
                h = entry_hash(e)
                if h != e.hash:
                    self.finding(el, f"hash {e.hash.hex() or '(none)'} is not the entry's "
                                 f"recomputed hash {h.hex()}")
            except ValueError as err:
                self.finding(el, f"cannot be hashed: {err}")
            if prev is not None and e.seq <= prev.seq:
                self.finding(el, f"seq does not rise: it follows #{prev.seq}")
            # The hash chain (LEDGER.md, "Entries"): prev_hash is the hash of entry seq - 1.
            if e.seq == 0 and e.prev_hash != ZERO_HASH:
                self.finding(el, "entry 0 has a prev_hash that is not 32 zero bytes")
            elif (prev is not None and prev_recomputed is not None
                  and e.seq == prev.seq + 1 and e.prev_hash != prev_recomputed):
                self.finding(el, f"prev_hash is not the hash of #{prev.seq}")
            if subject is not None and e.subject != subject:
                self.finding(el, f"subject {e.subject!r} is not the consignment id {subject}")
            if cp is not None:
                if len(e.hash) != 32:
                    self.finding(el, f"hash is {len(e.hash)} bytes, not 32: no inclusion")
                else:
                    why = verify_inclusion(e.seq, cp.size, leaf_hash(e.hash),
                                           e.inclusion_proof, cp.root)
                    if why:
                        self.finding(el, why)
                    elif e.seq == cp.size - 1 and e.hash != cp.head:
                        self.finding(el, "the last entry of the checkpoint's tree is not its "
                                     "corridor-head hash")
            prev, prev_recomputed = e, h


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print("usage: verify_proof.py PROOF.json TOPOLOGY.toml", file=sys.stderr)
        return 2
    try:
        proof = load_proof(Path(argv[1]))
        topo = load_topology(Path(argv[2]))
    except Malformed as e:
        print(e, file=sys.stderr)
        return 2
    return Verifier(proof, topo).run()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
