"""The key of evaluator pseudonyms, and when it is fit for production.

The worker refuses to start with an unfit key; ``haochaping worker`` says why in one line.
"""

from __future__ import annotations

from runtime.settings import Settings

DEMO_SECRET = "haochaping-demo-secret-not-for-production"

MIN_SECRET_BYTES = 32  # 256 bits: as strong as the HMAC-SHA256 it keys


def secret_problem(secret: bytes) -> str | None:
    """Why ``secret`` cannot key evaluator pseudonyms in production, or None if it can.

    The pseudonym is an HMAC of the evaluator id, and ids come from small, guessable spaces
    (phone numbers, ID card numbers): whoever knows the key can hash every candidate and
    re-identify evaluators. So the key must be random and long, and never the public demo key.
    """
    if not secret:
        return "is not set: evaluator ids cannot be pseudonymized"
    if secret == DEMO_SECRET.encode():
        return "is the built-in demo key, which is public"
    if len(secret) < MIN_SECRET_BYTES:
        return f"is {len(secret)} bytes, shorter than the {MIN_SECRET_BYTES} it needs"
    return None


def evaluator_secret(settings: Settings) -> bytes:
    """The key of evaluator pseudonyms; raises SystemExit (one line) when it is unfit for
    production, unless demo mode is on, where an empty key falls back to the demo key."""
    secret = settings.evaluator_secret.get_secret_value().encode()
    if settings.demo_mode:
        return secret or DEMO_SECRET.encode()
    problem = secret_problem(secret)
    if problem is None:
        return secret
    raise SystemExit(
        f"HAOCHAPING_EVALUATOR_SECRET {problem}. Set it to a random key of "
        f"{MIN_SECRET_BYTES}+ bytes (`openssl rand -hex 32`; `make up` writes one to "
        ".deploy/secrets.env), or HAOCHAPING_DEMO_MODE=true for a demo."
    )
