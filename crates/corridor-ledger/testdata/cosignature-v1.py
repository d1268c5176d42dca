#!/usr/bin/env python3
"""Writes cosignature-v1.json: known answers for C2SP signed-note and tlog-cosignature
(cosignature/v1, Ed25519), computed with Python's hashlib and the `cryptography` package's
Ed25519 (OpenSSL), independently of the Rust code they check.

    python3 cosignature-v1.py > cosignature-v1.json
"""
import base64
import hashlib
import json

from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives import serialization


def key(seed: bytes):
    private = ed25519.Ed25519PrivateKey.from_private_bytes(seed)
    public = private.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return private, public


def line(name: str, value: bytes) -> str:
    return "\u2014 " + name + " " + base64.b64encode(value).decode() + "\n"


def case(log_seed, log_name, witness_seed, witness_name, size, root, timestamp):
    log_private, log_public = key(log_seed)
    w_private, w_public = key(witness_seed)
    body = f"{log_name}\n{size}\n{base64.b64encode(root).decode()}\n"
    log_id = hashlib.sha256(log_name.encode() + b"\n\x01" + log_public).digest()[:4]
    w_id = hashlib.sha256(witness_name.encode() + b"\n\x04" + w_public).digest()[:4]
    message = f"cosignature/v1\ntime {timestamp}\n".encode() + body.encode()
    cosig = w_id + timestamp.to_bytes(8, "big") + w_private.sign(message)
    return {
        "log_seed": log_seed.hex(),
        "log_public": log_public.hex(),
        "witness_name": witness_name,
        "witness_seed": witness_seed.hex(),
        "witness_public": w_public.hex(),
        "witness_key_id": w_id.hex(),
        "timestamp": timestamp,
        "body": body,
        "note": body + "\n" + line(log_name, log_id + log_private.sign(body.encode()))
        + line(witness_name, cosig),
        "cosignature_line": line(witness_name, cosig),
    }


cases = [
    case(bytes([1] * 32), "example.com/log", bytes([2] * 32), "witness.example/w1", 5,
         hashlib.sha256(b"root").digest(), 1700000000),
    case(bytes(range(32)), "middle-corridor/customs/KZ", bytes(range(32, 64)),
         "middle-corridor/witness/AZ", 1000000, hashlib.sha256(b"").digest(), 1796342400),
]
print(json.dumps({
    "source": "computed by cosignature-v1.py (Python hashlib + cryptography Ed25519) "
              "from C2SP signed-note and tlog-cosignature",
    "cases": cases,
}, indent=2, ensure_ascii=False))
