"""How every Kafka client of the node (producer, consumer, admin) reaches the cluster:
the HOMEWARD_KAFKA_* settings of TLS and SASL, part of `Settings`."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, Self

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings

from services.settings.checks import readable_file


class KafkaClientSettings(BaseSettings):
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_SSL"] = "PLAINTEXT"
    kafka_ca_file: Path | None = None
    kafka_cert_file: Path | None = None
    kafka_key_file: Path | None = None
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    kafka_sasl_username: str | None = None
    kafka_sasl_password: str | None = Field(default=None, repr=False)

    @field_validator("kafka_ca_file", "kafka_cert_file", "kafka_key_file")
    @classmethod
    def _readable_tls_file(cls, value: Path | None) -> Path | None:
        return readable_file(value)

    @model_validator(mode="after")
    def _kafka_security(self) -> Self:
        tls = self.kafka_security_protocol in ("SSL", "SASL_SSL")
        files = (self.kafka_ca_file, self.kafka_cert_file, self.kafka_key_file)
        if not tls and any(files):
            raise ValueError("kafka_security_protocol: CA, certificate and key files need "
                             "SSL or SASL_SSL")
        if (self.kafka_cert_file is None) != (self.kafka_key_file is None):
            raise ValueError("kafka_cert_file: a client certificate needs its key "
                             "(HOMEWARD_KAFKA_KEY_FILE), and a key its certificate")
        sasl = (self.kafka_sasl_mechanism, self.kafka_sasl_username, self.kafka_sasl_password)
        if self.kafka_security_protocol == "SASL_SSL" and not all(sasl):
            raise ValueError("kafka_security_protocol: SASL_SSL needs HOMEWARD_KAFKA_SASL_"
                             "MECHANISM, _USERNAME and _PASSWORD")
        if self.kafka_security_protocol != "SASL_SSL" and any(sasl):
            raise ValueError("kafka_security_protocol: SASL settings need SASL_SSL")
        return self

    def kafka_client(self) -> dict[str, Any]:
        """Keyword arguments for every kafka-python client of the node."""
        options: dict[str, Any] = {"security_protocol": self.kafka_security_protocol}
        for name, path in (("ssl_cafile", self.kafka_ca_file),
                           ("ssl_certfile", self.kafka_cert_file),
                           ("ssl_keyfile", self.kafka_key_file)):
            if path is not None:
                options[name] = str(path)
        if self.kafka_security_protocol == "SASL_SSL":
            options.update(sasl_mechanism=self.kafka_sasl_mechanism,
                           sasl_plain_username=self.kafka_sasl_username,
                           sasl_plain_password=self.kafka_sasl_password)
        return options

