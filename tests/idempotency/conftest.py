"""The income tests' world (the sample statements' accounts), for the upload endpoint."""

from tests.income.conftest import statement_world

__all__ = ["statement_world"]
