"""The review app's web layer (Starlette + Jinja2): routes, sign-in, CSRF, headers."""

from review.web.app import AppConfig, create_app

__all__ = ["AppConfig", "create_app"]
