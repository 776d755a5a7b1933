"""Believable names from Faker, made once per seed and then drawn from with a task's own random generator.

Faker is slow per call (hundreds of microseconds for a host name), so a :class:`FakePools` holds small
pools of hosts, words and people made up front; logs and demo clusters pick from them deterministically.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from faker import Faker


@dataclass(frozen=True, slots=True)
class FakePools:
    """Names for one seed: MiddleManager hosts, domain words, user names, IPs and file paths."""

    domain: str
    middle_managers: tuple[str, ...]
    words: tuple[str, ...]
    users: tuple[str, ...]
    ips: tuple[str, ...]
    paths: tuple[str, ...]
    buckets: tuple[str, ...]


@lru_cache(maxsize=8)
def fake_pools(seed: int, middle_managers: int = 3) -> FakePools:
    """The pools for ``seed``; the same seed always gives the same names."""
    fake = Faker("en_US")
    fake.seed_instance(seed)
    domain = f"{fake.domain_word()}.internal"
    return FakePools(
        domain=domain,
        middle_managers=tuple(f"druid-middlemanager-{i}.{domain}" for i in range(1, middle_managers + 1)),
        words=tuple(dict.fromkeys(fake.word() for _ in range(60))),
        users=tuple(fake.user_name() for _ in range(12)),
        ips=tuple(fake.ipv4_private() for _ in range(12)),
        paths=tuple(fake.file_path(depth=3, extension="json.gz") for _ in range(12)),
        buckets=tuple(f"{fake.domain_word()}-{fake.word()}-ingest" for _ in range(6)),
    )
