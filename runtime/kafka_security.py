"""How every Kafka client of the project logs in: nothing (PLAINTEXT, the default) or a SCRAM
user over SASL_PLAINTEXT (docs/security.md, Kafka authentication).

:func:`kafka_security` gives the keyword arguments of kafka-python's clients
(``KafkaProducer``, ``KafkaConsumer``, ``KafkaAdminClient``); the Faust worker builds its
``faust.SASLCredentials`` from :func:`sasl_login`. The password is read in
:func:`sasl_password` only.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from runtime.settings import Settings


class SaslLogin(NamedTuple):
    mechanism: str
    username: str
    password: str


def sasl_password(settings: Settings) -> str:
    """The one place that reads the Kafka password out of the settings."""
    return settings.kafka_sasl_password.get_secret_value()


def sasl_login(settings: Settings) -> SaslLogin | None:
    """The SCRAM login of the settings, or None when the clients connect without one."""
    if settings.kafka_security_protocol == "PLAINTEXT":
        return None
    return SaslLogin(
        settings.kafka_sasl_mechanism, settings.kafka_sasl_username, sasl_password(settings)
    )


def kafka_security(settings: Settings) -> dict[str, Any]:
    """Security keyword arguments of a kafka-python client."""
    login = sasl_login(settings)
    if login is None:
        return {"security_protocol": "PLAINTEXT"}
    return {
        "security_protocol": settings.kafka_security_protocol,
        "sasl_mechanism": login.mechanism,
        "sasl_plain_username": login.username,
        "sasl_plain_password": login.password,
    }
