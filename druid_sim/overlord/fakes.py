"""Believable names from Faker, made once per seed and then drawn from with a task's own random generator.

Faker is slow per call (hundreds of microseconds for a host name), so a :class:`FakePools` holds small
pools made up front; logs and demo clusters pick from them deterministically. One Faker company name
is the organisation: its hosts, buckets and ZooKeeper ensemble all carry it, the way a real cluster's
names do (``druid-middlemanager-2.gould-foster.internal``, ``s3://gould-foster-druid``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from faker import Faker

#: What data buckets are called next to a Druid deployment's own (``<company>-raw-events``, ...).
BUCKET_ROLES = ("data-lake", "raw-events", "ingest", "etl-staging", "analytics-exports")


@dataclass(frozen=True, slots=True)
class FakePools:
    """Names for one seed: the organisation, its hosts and buckets, user names and private IPs."""

    company: str  # a DNS-style slug: gould-foster
    domain: str  # gould-foster.internal
    middle_managers: tuple[str, ...]
    zookeepers: tuple[str, ...]
    metadata_host: str
    deep_storage: str  # the bucket for segments and task logs
    buckets: tuple[str, ...]  # buckets raw data is ingested from
    users: tuple[str, ...]
    ips: tuple[str, ...]


@lru_cache(maxsize=8)
def fake_pools(seed: int, middle_managers: int = 3) -> FakePools:
    """The pools for ``seed``; the same seed always gives the same names."""
    fake = Faker("en_US")
    fake.seed_instance(seed)
    company = fake.domain_word()
    domain = f"{company}.internal"
    return FakePools(
        company=company,
        domain=domain,
        middle_managers=tuple(f"druid-middlemanager-{i}.{domain}" for i in range(1, middle_managers + 1)),
        zookeepers=tuple(f"zk-{i}.{domain}" for i in range(1, 4)),
        metadata_host=f"druid-metadata.{domain}",
        deep_storage=f"{company}-druid",
        buckets=tuple(f"{company}-{role}" for role in BUCKET_ROLES),
        users=tuple(fake.user_name() for _ in range(12)),
        ips=tuple(fake.ipv4_private() for _ in range(12)),
    )
