"""The benchmark's tools (python -m tests.benchmark); see __main__.py."""

# Every request of the benchmark carries what a browser sends: the server compresses for it.
BROWSER = {"Accept-Encoding": "gzip, deflate, br"}


def production_env(secret: str) -> dict[str, str]:
    """The settings the app is measured under: production (DEBUG off), served on 127.0.0.1."""
    return {
        "DEBUG": "false",
        "SECRET_KEY": secret,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "EMAIL_URL": "console://",
        "SITE_URL": "http://127.0.0.1",
    }
