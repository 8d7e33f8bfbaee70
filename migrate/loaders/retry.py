"""Moved to :mod:`migrate.http.retry` (the one FHIR HTTP client's pacing); kept for imports."""

from migrate.http.retry import (
    RETRY_STATUS,
    Backoff,
    RateLimiter,
    raise_if_tls,
    retry_after_seconds,
    tls_problem,
)

__all__ = ["RETRY_STATUS", "Backoff", "RateLimiter", "raise_if_tls", "retry_after_seconds",
           "tls_problem"]
