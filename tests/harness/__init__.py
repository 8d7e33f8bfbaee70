"""Test harnesses that start real external services for integration tests."""
