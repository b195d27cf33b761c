#!/usr/bin/env python3
"""Generates crates/core/tests/fixtures/password_hashes.json: password hashes of every type
`passwords/migrate` accepts, made by implementations independent of Latchkey's (Python's
hashlib, passlib, the bcrypt and argon2-cffi packages, and OpenSSL's `openssl passwd`).

The output is committed so tests run offline. Re-run it only to add cases:

    python3 -m venv /tmp/fx && /tmp/fx/bin/pip install passlib==1.7.4 bcrypt==4.0.1 argon2-cffi==23.1.0
    /tmp/fx/bin/python scripts/gen-password-fixtures.py > crates/core/tests/fixtures/password_hashes.json

Each case is a migrate request body fragment (hash, hash_type, config) plus the password that
must verify and one that must not.
"""

import base64
import hashlib
import json
import os
import subprocess

import argon2.low_level
import bcrypt
from passlib import hash as ph

PASSWORDS = ["correct horse battery staple", "p@ss wörd ✓", "x"]
cases = []


def add(name, password, fragment):
    cases.append({"name": name, "password": password, "wrong_password": password + "!", **fragment})


def b64(data):
    return base64.b64encode(data).decode()


for i, pw in enumerate(PASSWORDS):
    raw = pw.encode()
    # bcrypt: the bcrypt package writes $2b$; $2a$ and $2y$ differ only in the prefix.
    h = bcrypt.hashpw(raw, bcrypt.gensalt(rounds=4 + i)).decode()
    add(f"bcrypt 2b cost {4 + i}", pw, {"hash_type": "bcrypt", "hash": h})
    add(f"bcrypt 2a cost {4 + i}", pw, {"hash_type": "bcrypt", "hash": "$2a$" + h[4:]})
    add(f"bcrypt 2y (PHP) cost {4 + i}", pw, {"hash_type": "bcrypt", "hash": "$2y$" + h[4:]})

    # Salted digests: hashlib, hex and base64, with and without salts.
    for algo, hash_type, cfg in [("md5", "md_5", "md_5_config"), ("sha1", "sha_1", "sha_1_config"),
                                 ("sha512", "sha_512", "sha_512_config"), ("sha256", "sha_256", "sha_256_config")]:
        pre, app = ("pre-" + str(i), "") if i == 0 else ("", "~app" + str(i)) if i == 1 else ("", "")
        digest = hashlib.new(algo, (pre + pw + app).encode()).digest()
        frag = {"hash_type": hash_type, "hash": digest.hex()}
        if pre or app:
            frag[cfg] = {"prepend_salt": pre, "append_salt": app}
        add(f"{algo} hex {i}", pw, frag)
        add(f"{algo} base64 {i}", pw, {**frag, "hash": b64(digest)})
        add(f"{algo} HEX upper {i}", pw, {**frag, "hash": digest.hex().upper()})

    # argon2 encoded (argon2-cffi) and raw hex with argon_2_config.
    for variant, hash_type, t in [(argon2.low_level.Type.ID, "argon_2id", "argon2id"), (argon2.low_level.Type.I, "argon_2i", "argon2i")]:
        salt = os.urandom(16)
        enc = argon2.low_level.hash_secret(raw, salt, time_cost=2, memory_cost=256, parallelism=2, hash_len=32, type=variant).decode()
        add(f"{t} PHC {i}", pw, {"hash_type": hash_type, "hash": enc})
        text_salt = "saltsalt" + str(i) * 4
        rawhash = argon2.low_level.hash_secret_raw(raw, text_salt.encode(), time_cost=3, memory_cost=128, parallelism=1, hash_len=24, type=variant)
        add(f"{t} hex {i}", pw, {"hash_type": hash_type, "hash": rawhash.hex(),
                                 "argon_2_config": {"salt": text_salt, "iteration_amount": 3, "memory": 128, "threads": 1, "key_length": 24}})
    add(f"argon2id Django {i}", pw, {"hash_type": "argon_2id", "hash": "argon2" + argon2.PasswordHasher(time_cost=1, memory_cost=64, parallelism=1).hash(pw)})

    # scrypt: hashlib with base64 + scrypt_config; passlib's PHC string.
    salt = os.urandom(16)
    n, r, p = 1 << (10 + i), 8, 1
    d = hashlib.scrypt(raw, salt=salt, n=n, r=r, p=p, dklen=32 + i)
    add(f"scrypt config {i}", pw, {"hash_type": "scrypt", "hash": b64(d),
                                   "scrypt_config": {"salt": b64(salt), "n_parameter": n, "r_parameter": r, "p_parameter": p, "key_length": 32 + i}})
    add(f"scrypt passlib PHC {i}", pw, {"hash_type": "scrypt", "hash": ph.scrypt.using(rounds=10, block_size=8, parallelism=1).hash(pw)})

    # PBKDF2: hashlib with config (sha256 default, sha512, sha1); Django and passlib strings.
    for algo in ["sha256", "sha512", None]:
        salt = os.urandom(12)
        d = hashlib.pbkdf2_hmac(algo or "sha256", raw, salt, 1000 + i, 32)
        cfg = {"salt": b64(salt), "iteration_amount": 1000 + i, "key_length": 32}
        if algo:
            cfg["algorithm"] = algo
        add(f"pbkdf2 {algo or 'default'} {i}", pw, {"hash_type": "pbkdf_2", "hash": b64(d), "pbkdf_2_config": cfg})
    add(f"pbkdf2 passlib sha256 {i}", pw, {"hash_type": "pbkdf_2", "hash": ph.pbkdf2_sha256.using(rounds=1000).hash(pw)})
    add(f"pbkdf2 passlib sha512 {i}", pw, {"hash_type": "pbkdf_2", "hash": ph.pbkdf2_sha512.using(rounds=1000).hash(pw)})
    add(f"pbkdf2 passlib sha1 {i}", pw, {"hash_type": "pbkdf_2", "hash": ph.pbkdf2_sha1.using(rounds=1000).hash(pw)})
    add(f"pbkdf2 Django sha256 {i}", pw, {"hash_type": "pbkdf_2", "hash": ph.django_pbkdf2_sha256.using(rounds=1000).hash(pw)})
    add(f"pbkdf2 Django sha1 {i}", pw, {"hash_type": "pbkdf_2", "hash": ph.django_pbkdf2_sha1.using(rounds=1000).hash(pw)})

    # phpass (WordPress $P$, phpBB $H$) by passlib.
    add(f"phpass P {i}", pw, {"hash_type": "phpass", "hash": ph.phpass.using(rounds=8 + i).hash(pw)})
    add(f"phpass H {i}", pw, {"hash_type": "phpass", "hash": ph.phpass.using(rounds=8, ident="H").hash(pw)})

    # Unix crypt by OpenSSL (md5-crypt, sha256-crypt, sha512-crypt) and passlib (custom rounds).
    for flag, hash_type in [("-1", "md_5"), ("-5", "sha_256"), ("-6", "sha_512")]:
        out = subprocess.run(["openssl", "passwd", flag, "-stdin"], input=pw.encode(), capture_output=True, check=True)
        add(f"openssl passwd {flag} {i}", pw, {"hash_type": hash_type, "hash": out.stdout.decode().strip()})
    add(f"sha512_crypt rounds {i}", pw, {"hash_type": "sha_512", "hash": ph.sha512_crypt.using(rounds=5000 + i).hash(pw)})
    add(f"sha256_crypt rounds {i}", pw, {"hash_type": "sha_256", "hash": ph.sha256_crypt.using(rounds=5000 + i).hash(pw)})

    # Django bcrypt and bcrypt_sha256 (hex SHA-256 of the password, then bcrypt).
    add(f"Django bcrypt {i}", pw, {"hash_type": "bcrypt", "hash": ph.django_bcrypt.using(rounds=4).hash(pw)})
    add(f"Django bcrypt_sha256 {i}", pw, {"hash_type": "bcrypt", "hash": ph.django_bcrypt_sha256.using(rounds=4).hash(pw)})

# Firebase's published reference vector (github.com/firebase/scrypt README).
add("firebase scrypt reference", "user1password", {
    "hash_type": "firebase_scrypt",
    "hash": "lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ==",
    "firebase_scrypt_config": {
        "signer_key": "jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA==",
        "salt_separator": "Bw==", "salt": "42xEC+ixf3L2lw==", "rounds": 8, "mem_cost": 14,
    },
})

print(json.dumps({"generator": "scripts/gen-password-fixtures.py", "cases": cases}, indent=1, ensure_ascii=False))
