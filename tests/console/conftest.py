"""The browser fixtures of the end-to-end test, shared by every console page's test."""

from tests.console.test_console_e2e import chromium, server

__all__ = ["chromium", "server"]
