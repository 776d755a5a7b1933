"""Credentials a real ingestion client carries, for the recorder's and the replay's tests: a bearer token,
S3 keys, a JDBC password and Kafka SASL settings inside an ``index_parallel`` spec."""

from __future__ import annotations

from typing import Any

SECRETS = {
    "bearer": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiJ9.c2lnbmF0dXJlLXNlY3JldA",
    "s3_key_id": "AKIAIOSFODNN7EXAMPLE",
    "s3_secret": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "jdbc": "jdbc-Pa55word!",
    "jaas": "kafka-s3cret-99",
    "truststore": "truststore-pw-77",
}
SPEC: dict[str, Any] = {
    "type": "index_parallel",
    "spec": {
        "dataSchema": {"dataSource": "wiki"},
        "ioConfig": {
            "type": "index_parallel",
            "inputSource": {
                "type": "s3",
                "uris": ["s3://bucket/wiki.json"],
                "properties": {
                    "accessKeyId": {"type": "default", "password": SECRETS["s3_key_id"]},
                    "secretAccessKey": {"type": "default", "password": SECRETS["s3_secret"]},
                },
            },
            "inputFormat": {"type": "json"},
        },
        "tuningConfig": {"type": "index_parallel"},
    },
    "context": {
        "connectorConfig": {"connectURI": "jdbc:mysql://db:3306/druid", "user": "druid", "password": SECRETS["jdbc"]},
        "consumerProperties": {
            "bootstrap.servers": "kafka:9092",
            "sasl.jaas.config": f'PlainLoginModule required username="u" password="{SECRETS["jaas"]}";',
            "ssl.truststore.password": SECRETS["truststore"],
        },
    },
}
