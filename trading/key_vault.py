"""API-key secrets at rest: encrypted with Fernet (AES-128-CBC + HMAC-SHA256) under the
keys in settings.API_KEY_ENCRYPTION_KEYS. The first key encrypts; every listed key
decrypts, so a key is rotated by putting the new one first and re-encrypting."""

from __future__ import annotations

from functools import cache, lru_cache

from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings


@cache
def _vault(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in keys])


def vault() -> MultiFernet:
    return _vault(tuple(settings.API_KEY_ENCRYPTION_KEYS))


def secret_encrypt(secret: str) -> str:
    return vault().encrypt(secret.encode()).decode()


def secret_decrypt(token: str) -> str:
    return vault().decrypt(token.encode()).decode()


@lru_cache(maxsize=4096)
def key_secret(*, key_id: int, secret_encrypted: str) -> str:
    """An API key's secret, decrypted once per process for every signed request after the
    first. Keyed by the ciphertext too: a key given a new secret is decrypted anew. The
    caller has read the key as active in this request, so a revoked key is never signed
    with."""
    return secret_decrypt(secret_encrypted)
